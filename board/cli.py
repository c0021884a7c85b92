"""`flask board ...` commands, each a few lines around a function that lives elsewhere: the
configuration doctor (board/doctor.py), moderation (board/models.py, board/reads.py), the JSON
Lines transfer format (board/transfer.py) and made-up comments (board/demo.py).

When the app refuses to start at all (production without SECRET_KEY, a database driver that is not
installed), every `flask` command stops with that one refusal before any command runs; then
`python -m board.cli check-config` runs the same checks without building the app, and lists
every problem at once.
"""

import os
import random
import stat
import sys
import time
from contextlib import contextmanager, nullcontext
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError
from werkzeug.security import generate_password_hash

from . import config as settings
from . import demo, doctor, models, reads, transfer
from .moderators import PASSWORD_MIN
from .rules import ID_MAX, display_name

board_cli = AppGroup("board", help="Look after the board.")
COMMENT_ID = click.IntRange(1, ID_MAX)
PREVIEW = 60  # characters of a comment that `list` shows
AUTHOR_WIDTH = 20


@board_cli.command("check-config")
def check_config():
    """Print the effective configuration, secrets masked; exit 1 on a dangerous setting."""
    config = dict(current_app.config)
    # The flask command sets DEBUG from FLASK_DEBUG alone; a server also takes the class's DEBUG.
    config_class = settings.CONFIGS.get(config.get("BOARD_ENVIRONMENT"))
    config["DEBUG"] = bool(config.get("DEBUG") or getattr(config_class, "DEBUG", False))
    doctor.report(config)


# Moderation ------------------------------------------------------------------------------------

def one_line(text, width):
    """Text on one line (runs of spaces, tabs and line breaks become one space), cut to `width`."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def table(rows):
    id_width = max(len("id"), *(len(str(row.id)) for row in rows))
    yield (f"{'id':>{id_width}}  {'state':<7}  {'posted (UTC)':<19}  {'author':<{AUTHOR_WIDTH}}  "
           "content")
    for row in rows:
        author = one_line(display_name(row.author), AUTHOR_WIDTH)
        yield (f"{row.id:>{id_width}}  {row.state:<7}  {row.posted:%Y-%m-%d %H:%M:%S}  "
               f"{author:<{AUTHOR_WIDTH}}  {one_line(row.content, PREVIEW)}")


@board_cli.command("list", short_help="List comments, newest first.")
@click.option("--hidden", is_flag=True, help="List hidden and deleted comments instead.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1),
              help="How many to list.")
def list_comments(hidden, limit):
    """List the newest visible comments (or, with --hidden, hidden and deleted ones): id, state,
    when posted (UTC), author and the start of the text."""
    rows = reads.listing(hidden, limit)
    if not rows:
        click.echo("no hidden or deleted comments" if hidden else "no visible comments")
        return
    for line in table(rows[:limit]):
        click.echo(line)
    if len(rows) > limit:
        click.echo(f"(the newest {limit}; --limit N lists more)")


def moderate(comment_id, verb):
    """Apply `verb` by the rules in rules.VERBS, the same the moderator page follows."""
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
    row = reads.find(comment_id)
    if row is None:
        raise click.ClickException(f"there is no comment {comment_id}")
    if not yes:
        click.confirm(f"Purge comment {comment_id} ({row.state}, by {display_name(row.author)}: "
                      f"{one_line(row.content, 40)!r}) for good?", abort=True)
    try:
        models.purge(comment_id)
    except models.Refused as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"comment {comment_id}: purged")


@board_cli.command("hash-password", short_help="Hash a moderator password.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (for scripts).")
def hash_password(password_stdin):
    """Print a hash of a moderator password, for BOARD_MODERATOR_PASSWORD_HASH. A short password
    (below board/moderators.py's PASSWORD_MIN characters) is refused.

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
    if len(password) < PASSWORD_MIN:
        # Whoever gets a copy of .env or a backup can guess against the hash offline, unlimited.
        raise click.ClickException(
            f"the password is too short: use at least {PASSWORD_MIN} characters "
            "(a few random words make a good one)")
    click.echo(generate_password_hash(password))
    click.echo("Put it in .env, in single quotes: BOARD_MODERATOR_PASSWORD_HASH='<the hash>'",
               err=True)


# Data in and out ---------------------------------------------------------------------------------

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
    total = reads.count_comments() if terminal() else None
    with output(file) as out, progress(total, "exporting") as bar:
        for chunk in transfer.batches(transfer.exported(), transfer.BATCH):
            out.write("".join(map(transfer.to_line, chunk)).encode())
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
            result = transfer.import_comments(transfer.records(file, bar.update))
    except transfer.BadLine as error:
        raise click.ClickException(f"{error}. Nothing was imported.") from None
    except DBAPIError as error:
        reason = str(error.orig).splitlines()[0] if error.orig else str(error)
        raise click.ClickException(f"the database refused the import: {reason}. "
                                   "Nothing was imported.") from None
    click.echo(f"imported {result.added} comments; skipped {result.skipped} the board already had")
    if result.differing:
        click.echo("warning: some skipped ids hold a different comment on this board, which was "
                   f"kept: {', '.join(map(str, result.differing))}", err=True)


@board_cli.command("seed", short_help="Add N made-up comments, quickly.")
@click.argument("count", metavar="N", type=click.IntRange(1))
@click.option("--seed", "seed", type=int, help="The same comments every run (times end now).")
@click.option("--weeks", default=4, show_default=True, type=click.IntRange(1),
              help="Spread them over this many past weeks.")
def seed_board(count, seed, weeks):
    """Add N made-up comments, posted one after another over the past weeks, in bulk (for demos
    and benchmarks); prints how many rows a second it inserted."""
    started = time.perf_counter()
    added = transfer.seed_comments(demo.made_up_comments(
        count, random.Random(seed), models.clock(), timedelta(weeks=weeks)))
    seconds = time.perf_counter() - started
    click.echo(f"seeded {added} comments in {seconds:.2f} s ({added / seconds:,.0f} rows/s)")


@click.group("board")
def standalone():
    """The board's checks without building the app: python -m board.cli check-config."""


@standalone.command("check-config")
def check_config_without_app():
    """Print the configuration the environment gives, secrets masked; exit 1 on problems."""
    config, found = doctor.config_without_app()
    doctor.report(config, found)


if __name__ == "__main__":
    standalone(prog_name="python -m board.cli")
