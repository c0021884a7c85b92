"""`flask board ...` commands: check the configuration; list and moderate comments; hash the
moderator password; export, import and seed comments. Their SQL is at the end of board/models.py.

`flask board check-config` prints the effective configuration with secrets masked and exits 1 with one
line per dangerous setting. It reads the loaded app's config, so it sees exactly what the app runs with.

When the app refuses to start at all (production without SECRET_KEY, a database driver that is not
installed), every `flask` command stops with that one refusal before any command runs; then
`python -m board.cli check-config` runs the same checks on the config class and the environment
without building the app, and lists every problem at once.
"""

import importlib.util
import json
import os
import random
import re
import stat
import sys
import time
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta, timezone
from json.encoder import encode_basestring as quoted  # a JSON string, non-ASCII kept as is
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import AppGroup
from flask.helpers import get_debug_flag
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from werkzeug.security import generate_password_hash

from . import config as settings
from . import models
from .config import ConfigError, check_driver_installed, normalise_database_url
from .forms import FORBIDDEN

board_cli = AppGroup("board", help="Look after the board.")

# Shown besides the Config classes' own settings: what Flask and create_app derive from them.
DERIVED = ("DEBUG", "TESTING", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS")
# Keys that ship in this repository, so they are no secret from anyone.
PUBLIC_KEYS = {settings.DEV_SECRET_KEY, settings.TestingConfig.SECRET_KEY}
STRICT_ENVIRONMENTS = ("staging", "production")
MIN_SECRET_LENGTH = 32  # a placeholder copied from the docs is shorter than this
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN")
# user:password@ in a URL; the password runs to the first "@", as SQLAlchemy parses it.
URL_CREDENTIALS = re.compile(r"(?<=://)([^:/@]*):([^@]*)@")
URL_SECRET_QUERY = re.compile(r"(?i)\b(password|passwd|pwd|secret|token)=([^&#]*)")
ERROR_PREFIX = "board: configuration error: "


def setting_names():
    names = set(DERIVED)
    for config_class in settings.CONFIGS.values():
        names.update(name for name in dir(config_class) if name.isupper())
    return sorted(names)


def mask_url(url):
    url = URL_CREDENTIALS.sub(lambda match: f"{match.group(1)}:***@", url)
    return URL_SECRET_QUERY.sub(lambda match: f"{match.group(1)}=***", url)


def shown(name, value):
    """The value as check-config prints it: secrets replaced, credentials cut out of URLs."""
    if SECRET_NAME.search(name) and value:
        if value in PUBLIC_KEYS:
            return "<the development key from the source code>"
        return f"<hidden: {len(str(value))} characters>"
    if isinstance(value, str) and "://" in value:
        return repr(mask_url(value))
    return repr(value)


def reason(error):
    """The message of a ConfigError, without its 'board: configuration error:' prefix."""
    return str(error.code).removeprefix(ERROR_PREFIX)


def missing_storage_package(uri):
    """The rate-limit storage's client library, when it is not installed (redis:// needs redis)."""
    from limits.storage import SCHEMES

    scheme = urlsplit(uri).scheme
    if scheme not in SCHEMES:
        return f"BOARD_RATELIMIT_STORAGE_URI has an unknown scheme {scheme!r}"
    dependencies = list(SCHEMES[scheme].DEPENDENCIES or [])
    if dependencies and not any(
        importlib.util.find_spec(module.split(".")[0]) for module in dependencies
    ):
        return (f"BOARD_RATELIMIT_STORAGE_URI {scheme}:// needs a client library that is not "
                f"installed: pip install {dependencies[0].split('.')[0]}")
    return None


def problems(config):
    """One message per dangerous setting in `config` (an app's config, or what it would be)."""
    environment = config.get("BOARD_ENVIRONMENT", "development")
    strict = environment in STRICT_ENVIRONMENTS
    hosts = config.get("BOARD_WORKER_HOSTS", 1)
    found = []
    key = config.get("SECRET_KEY") or ""
    if strict and (key in PUBLIC_KEYS or len(key) < MIN_SECRET_LENGTH):
        what = ("the development key" if key in PUBLIC_KEYS
                else f"only {len(key)} characters long" if key else "empty")
        found.append(
            f"SECRET_KEY is {what} under {environment}: sessions and CSRF tokens can be forged. "
            f"Put at least {MIN_SECRET_LENGTH} random characters in .env: "
            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    if strict and config.get("DEBUG"):
        found.append(
            f"DEBUG is on under {environment}: errors bypass the board's error pages, and under "
            "`flask run` the interactive debugger runs any code it is sent. Remove FLASK_DEBUG "
            "(and --debug) from the environment, .env and .flaskenv"
        )
    if hosts < 1:
        found.append("BOARD_WORKER_HOSTS must be at least 1")

    url = config.get("SQLALCHEMY_DATABASE_URI") or config.get("DATABASE_URL")
    if url:
        try:
            check_driver_installed(url)
            backend = make_url(url).get_backend_name()
        except ConfigError as error:
            found.append(reason(error))
            backend = None
        except ArgumentError:
            found.append(f"DATABASE_URL is not a database URL: {mask_url(url)!r}")
            backend = None
        if backend == "sqlite" and hosts > 1:
            found.append(
                f"DATABASE_URL is an SQLite file but BOARD_WORKER_HOSTS={hosts}: hosts cannot "
                "share a file database. Use PostgreSQL or MySQL/MariaDB, or declare 1 host"
            )

    if config.get("RATELIMIT_ENABLED", True):
        storage = config.get("RATELIMIT_STORAGE_URI") or "memory://"
        if storage.startswith("memory://") and hosts > 1:
            found.append(
                f"BOARD_RATELIMIT_STORAGE_URI is memory:// but BOARD_WORKER_HOSTS={hosts}: each "
                "host would count posts on its own. Use a shared store, e.g. redis://host:6379"
            )
        missing = missing_storage_package(storage)
        if missing:
            found.append(missing)
    return found


def config_without_app(config_name=None):
    """What create_app would configure, and what it would refuse, without building the app."""
    from . import ROOT

    try:
        config_class = settings.config_class(config_name)
    except ConfigError as error:
        return {}, [reason(error)]
    config = {name: getattr(config_class, name) for name in dir(config_class) if name.isupper()}
    # FLASK_DEBUG turns debug on under `flask run` whatever the class says.
    config["DEBUG"] = config.get("DEBUG") or get_debug_flag()
    found = []
    url = config.get("DATABASE_URL") or f"sqlite:///{ROOT / 'instance' / 'board.sqlite'}"
    try:
        config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    except ConfigError:
        pass  # not a URL: problems() says so, with any password masked
    # The class's own rules (time zone, poll interval, ...). The secret key and debug are checked
    # by problems() with clearer messages, so they are taken out of this run to avoid saying so twice.
    try:
        config_class.check(SimpleNamespace(config={**config, "SECRET_KEY": "checked-below",
                                                   "DEBUG": False}))
    except ConfigError as error:
        found.append(reason(error))
    return config, found


def report(config, found=()):
    click.echo(f"environment: {config.get('BOARD_ENVIRONMENT', 'development')}")
    click.echo("effective configuration (secrets masked):")
    for name in setting_names():
        if name in config:
            click.echo(f"  {name} = {shown(name, config[name])}")
    found = list(dict.fromkeys([*found, *problems(config)]))
    if found:
        for problem in found:
            click.echo(f"problem: {problem}", err=True)
        click.echo(f"check-config: {len(found)} problem(s)", err=True)
        raise click.exceptions.Exit(1)
    click.echo("check-config: no problems found")


@board_cli.command("check-config")
def check_config():
    """Print the effective configuration, secrets masked; exit 1 on a dangerous setting."""
    config = dict(current_app.config)
    # The flask command sets DEBUG from FLASK_DEBUG alone; a server also takes the class's DEBUG.
    config_class = settings.CONFIGS.get(config.get("BOARD_ENVIRONMENT"))
    config["DEBUG"] = bool(config.get("DEBUG") or getattr(config_class, "DEBUG", False))
    report(config)


# Moderation ------------------------------------------------------------------------------------

COMMENT_ID = click.IntRange(1, 2**63 - 1)
PREVIEW = 60  # characters of a comment that `list` shows
AUTHOR_WIDTH = 20


def one_line(text, width):
    """Text on one line (runs of spaces, tabs and line breaks become one space), cut to `width`."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def table(rows):
    id_width = max(len("id"), *(len(str(row.id)) for row in rows))
    yield (f"{'id':>{id_width}}  {'state':<7}  {'posted (UTC)':<19}  {'author':<{AUTHOR_WIDTH}}  "
           "content")
    for row in rows:
        author = one_line(row.author, AUTHOR_WIDTH) if row.author else "(anonymous)"
        yield (f"{row.id:>{id_width}}  {row.state:<7}  {row.posted:%Y-%m-%d %H:%M:%S}  "
               f"{author:<{AUTHOR_WIDTH}}  {one_line(row.content, PREVIEW)}")


@board_cli.command("list", short_help="List comments, newest first.")
@click.option("--hidden", is_flag=True, help="List hidden and deleted comments instead.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1),
              help="How many to list.")
def list_comments(hidden, limit):
    """List the newest visible comments (or, with --hidden, hidden and deleted ones): id, state,
    when posted (UTC), author and the start of the text."""
    rows = models.listing(hidden, limit)
    if not rows:
        click.echo("no hidden or deleted comments" if hidden else "no visible comments")
        return
    for line in table(rows[:limit]):
        click.echo(line)
    if len(rows) > limit:
        click.echo(f"(the newest {limit}; --limit N lists more)")


def moderate(comment_id, verb):
    """Apply `verb` by the rules in models.ACTIONS, the same the moderator page follows."""
    try:
        before, comment = models.moderate(comment_id, verb)
    except models.Refused as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"comment {comment_id}: {before} -> {comment.state}")


@board_cli.command("hide", short_help="Hide a comment (unhide undoes it).")
@click.argument("comment_id", metavar="ID", type=COMMENT_ID)
def hide(comment_id):
    """Hide visible comment ID from the board, its polls and feed; `unhide` brings it back."""
    moderate(comment_id, "hide")


@board_cli.command("unhide", short_help="Show a hidden comment again.")
@click.argument("comment_id", metavar="ID", type=COMMENT_ID)
def unhide(comment_id):
    """Show hidden comment ID again (a deleted comment stays deleted)."""
    moderate(comment_id, "unhide")


@board_cli.command("delete", short_help="Delete a comment, keeping its row.")
@click.argument("comment_id", metavar="ID", type=COMMENT_ID)
def delete(comment_id):
    """Delete comment ID: gone from the board for good, but its row is kept for audit."""
    moderate(comment_id, "delete")


@board_cli.command("purge", short_help="Remove a comment's row for good.")
@click.argument("comment_id", metavar="ID", type=COMMENT_ID)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def purge(comment_id, yes):
    """Remove comment ID's row from the database, whatever its state. Cannot be undone: asks
    first, unless --yes."""
    try:
        row = models.find(comment_id)
        if not yes:
            author = row.author or "(anonymous)"
            click.confirm(f"Purge comment {comment_id} ({row.state}, by {author}: "
                          f"{one_line(row.content, 40)!r}) for good?", abort=True)
        models.purge(comment_id)
    except models.Refused as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"comment {comment_id}: purged")


@board_cli.command("hash-password", short_help="Hash a moderator password.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (for scripts).")
def hash_password(password_stdin):
    """Print a hash of a moderator password, for BOARD_MODERATOR_PASSWORD_HASH.

    Asks twice, without echoing. The hash goes to standard output, alone (prompts and hints go
    to stderr); put it in .env in single quotes, which keep its $ signs:
    BOARD_MODERATOR_PASSWORD_HASH='scrypt:...'.
    """
    if password_stdin:
        password = click.open_file("-").readline().rstrip("\r\n")
    else:
        # Prompts on stderr, so that standard output is the hash alone even when typed by hand.
        password = click.prompt("Moderator password", hide_input=True, confirmation_prompt=True,
                                err=True)
    if not password:
        raise click.ClickException("the password is empty")
    click.echo(generate_password_hash(password))
    click.echo("Put it in .env, in single quotes: BOARD_MODERATOR_PASSWORD_HASH='<the hash>'",
               err=True)


# Data in and out ---------------------------------------------------------------------------------

# JSON Lines, one comment a line: {"id": 7, "author": null, "content": "...",
# "posted": "2017-07-07T18:47:05.123456Z", "edited": null, "state": "visible"}, UTF-8.
ID_MAX = 2**31 - 1  # the id column is an INTEGER: 32 bits on PostgreSQL and MySQL
MAX_LINE = 64 * 1024  # bytes; the longest valid comment, \u-escaped, is under 50 KiB
TIME_EXAMPLE = "2017-07-07T18:47:05.123456Z"
EARLIEST = datetime(1000, 1, 1, tzinfo=timezone.utc)  # MySQL's DATETIME starts at year 1000


class BadLine(Exception):
    def __init__(self, number, problem):
        super().__init__(f"line {number}: {problem}")


def terminal():
    """Progress bars are for people: only when stderr is a terminal."""
    return sys.stderr.isatty()


def progress(length, label):
    """A progress bar on stderr when it is a terminal and the length is known; else nothing."""
    if length is None or not terminal():
        return nullcontext(SimpleNamespace(update=lambda steps: None))
    return click.progressbar(length=length, label=label, file=sys.stderr)


@contextmanager
def output(path):
    """Standard output for "-"; otherwise FILE.part, renamed to FILE once complete, so a failed
    export never leaves a half file under the real name."""
    if path == "-":
        yield click.open_file("-", "wb")
        return
    part = Path(f"{path}.part")
    try:
        file = part.open("wb")
    except OSError as error:
        raise click.FileError(path, error.strerror) from None
    try:
        with file:
            yield file
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def utc_text(moment):
    """2017-07-07T18:47:05.123456Z: always UTC, always microseconds."""
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return moment.isoformat("T", "microseconds")[:-6] + "Z"  # drop "+00:00"


def to_line(row):
    """What json.dumps(dict, ensure_ascii=False) writes for the row, built directly: a million
    rows spend most of their export time here."""
    id_, author, content, posted, edited, state = row
    author = "null" if author is None else quoted(author)
    edited = "null" if edited is None else f'"{utc_text(edited)}"'
    return (f'{{"id": {id_}, "author": {author}, "content": {quoted(content)}, '
            f'"posted": "{utc_text(posted)}", "edited": {edited}, "state": {quoted(state)}}}\n')


def unique_keys(pairs):
    record = dict(pairs)
    if len(record) < len(pairs):
        keys = [key for key, _ in pairs]
        repeated = [key for key in record if keys.count(key) > 1]
        raise ValueError(f"repeats the field(s) {', '.join(repeated)}")
    return record


def check_text(name, value, limit, nullable):
    if value is None and nullable:
        return value
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text{' or null' if nullable else ''}")
    if not value and not nullable:
        raise ValueError(f"{name} is empty")
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    if FORBIDDEN.search(value):
        raise ValueError(f"{name} has control characters (only text, tabs and line breaks)")
    return value


def check_time(name, value, nullable=False):
    if value is None and nullable:
        return value
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a time as text, like {TIME_EXAMPLE}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} is not an ISO 8601 time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{name} has no time zone: {value[:40]!r}; write UTC as {TIME_EXAMPLE}")
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:  # year 1 with an offset east of UTC
        moment = None
    if moment is None or moment < EARLIEST:
        raise ValueError(f"{name} is before the year 1000: {value[:40]!r}")
    return moment


DECODER = json.JSONDecoder(object_pairs_hook=unique_keys)
FIELD_SET = set(models.FIELDS)


def to_record(raw):
    """One line's comment, checked by the board's own input rules (board/forms.py)."""
    try:
        record = DECODER.decode(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"is not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict):
        raise ValueError("is not a JSON object")
    if record.keys() != FIELD_SET:
        missing = [name for name in models.FIELDS if name not in record]
        unknown = sorted(set(record) - FIELD_SET)
        raise ValueError("; ".join(filter(None, [
            missing and f"lacks the field(s) {', '.join(missing)}",
            unknown and f"has unknown field(s) {', '.join(unknown)}"])))
    if type(record["id"]) is not int or not 1 <= record["id"] <= ID_MAX:
        raise ValueError(f"id must be a whole number from 1 to {ID_MAX}")
    if record["state"] not in models.STATES:
        raise ValueError(f"state must be one of {', '.join(models.STATES)}")
    return {"id": record["id"],
            "author": check_text("author", record["author"], models.AUTHOR_MAX, nullable=True),
            "content": check_text("content", record["content"], models.CONTENT_MAX, False),
            "posted": check_time("posted", record["posted"]),
            "edited": check_time("edited", record["edited"], nullable=True),
            "state": record["state"]}


def records(file, bar):
    """The file's comments, line by line; blank lines are skipped, a bad one raises BadLine."""
    number = pending = 0
    while raw := file.readline(MAX_LINE + 1):
        number += 1
        pending += len(raw)
        if number % models.BATCH == 0:
            bar.update(pending)
            pending = 0
        if len(raw) > MAX_LINE:
            raise BadLine(number, f"is longer than {MAX_LINE} bytes")
        if raw.strip():
            try:
                yield to_record(raw)
            except ValueError as error:
                raise BadLine(number, str(error)) from None
    bar.update(pending)


def size(file):
    try:
        status = os.fstat(file.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


@board_cli.command("export", short_help="Write every comment to a JSON Lines file.")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def export(file):
    """Write every comment, whatever its state, to FILE (- for standard output) as JSON Lines:
    one comment a line with id, author, content, posted, edited and state, times in UTC like
    2017-07-07T18:47:05.123456Z. Streams: memory stays flat however many comments there are."""
    written = 0
    total = models.count_comments() if terminal() else None
    with output(file) as out, progress(total, "exporting") as bar:
        for chunk in models.batches(models.exported(), models.BATCH):
            out.write("".join(map(to_line, chunk)).encode())
            written += len(chunk)
            bar.update(len(chunk))
    click.echo(f"exported {written} comments to {'standard output' if file == '-' else file}",
               err=True)


@board_cli.command("import", short_help="Add the comments in a JSON Lines file.")
@click.argument("file", type=click.File("rb"))
def import_comments(file):
    """Add the comments in FILE (JSON Lines as `export` writes them; - for standard input) that
    the board lacks, keeping their ids, so links to them still work after a move.

    The whole import is ONE transaction: a malformed line stops it with its line number and
    leaves the database exactly as it was. Ids the board already has are skipped, so importing
    the same file twice adds nothing. Best done while the board is not taking posts.
    """
    try:
        with progress(size(file) if terminal() else None, "importing") as bar:
            result = models.import_comments(records(file, bar))
    except BadLine as error:
        raise click.ClickException(f"{error}. Nothing was imported.") from None
    except DBAPIError as error:
        reason = str(error.orig).splitlines()[0] if error.orig else str(error)
        raise click.ClickException(f"the database refused the import: {reason}. "
                                   "Nothing was imported.") from None
    click.echo(f"imported {result.added} comments; skipped {result.skipped} the board already had")
    if result.differing:
        click.echo("warning: some skipped ids hold a different comment on this board, which was "
                   f"kept: {', '.join(map(str, result.differing))}", err=True)


# Made-up comments for demos and benchmarks: a few names and sentence fragments.
NAMES = ("Ada", "Bram", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiroshi", "Inès", "José",
         "Kwame", "Lena", "Mei", "Noor", "Olu", "Priya", "Quinn", "Rafael", "Sven", "Tamar",
         "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë")
OPENERS = ("Just read this and", "Honestly,", "Quick question:", "Agreed, and", "Not sure, but",
           "Thanks for posting!", "Hmm,", "Fun fact:", "Same here:", "Late to the party, but",
           "Update:", "For what it's worth,")
MIDDLES = ("the new layout is much easier to read", "it works fine on my phone too",
           "the meeting moved to Thursday at 10", "has anyone else seen the bug with long names",
           "the coffee machine on the third floor is fixed", "this reminds me of the old forum",
           "I would love a dark mode", "the link in the second post is broken",
           "we should do this again next month", "the photos from Saturday are up",
           "the train was late again this morning", "I finally finished the book you mentioned",
           "the garden looks great after the rain", "who is bringing the cake on Friday")
ENDINGS = (".", ".", ".", "!", "?", " 🙂", " 👍", ". Anyway.", ". Thoughts?", " 😂", "!!", " 🎉")
SENTENCES = [f"{opener} {middle}{ending}" for opener in OPENERS for middle in MIDDLES
             for ending in ENDINGS]


def made_up_comments(count, rng, now, span):
    """`count` rows posted one after another over `span` up to `now`; one in 30 edited."""
    pick = rng.random  # one call per decision: this loop is most of the seed's time
    step, previous = span / count, now - span
    for i in range(count):
        posted = max(now - span + step * (i + pick()), previous + timedelta(microseconds=1))
        previous = posted
        sentences = 1 + (pick() < 0.4) + (pick() < 0.15)
        content = (" " if pick() < 0.8 else "\n\n").join(
            SENTENCES[int(pick() * len(SENTENCES))] for _ in range(sentences))
        edited = min(posted + timedelta(seconds=5 + 800 * pick()), now) if pick() < 1 / 30 else None
        yield {"author": NAMES[int(pick() * len(NAMES))] if pick() < 0.75 else None,
               "content": content, "posted": posted, "edited": edited, "changed": edited,
               "state": models.VISIBLE}


@board_cli.command("seed", short_help="Add N made-up comments, quickly.")
@click.argument("count", metavar="N", type=click.IntRange(1))
@click.option("--seed", "seed", type=int, help="The same comments every run (times end now).")
@click.option("--weeks", default=4, show_default=True, type=click.IntRange(1),
              help="Spread them over this many past weeks.")
def seed_board(count, seed, weeks):
    """Add N made-up comments, posted one after another over the past weeks, in bulk (for demos
    and benchmarks); prints how many rows a second it inserted."""
    started = time.perf_counter()
    added = models.seed_comments(
        made_up_comments(count, random.Random(seed), models.clock(), timedelta(weeks=weeks)))
    seconds = time.perf_counter() - started
    click.echo(f"seeded {added} comments in {seconds:.2f} s ({added / seconds:,.0f} rows/s)")


@click.group("board")
def standalone():
    """The board's checks without building the app: python -m board.cli check-config."""


@standalone.command("check-config")
def check_config_without_app():
    """Print the configuration the environment gives, secrets masked; exit 1 on problems."""
    config, found = config_without_app()
    report(config, found)


if __name__ == "__main__":
    standalone(prog_name="python -m board.cli")
