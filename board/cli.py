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
from . import boards, demo, doctor, importers, models, notifications, reads, transfer
from .moderators import PASSWORD_MIN
from .rules import ARCHIVED, CLOSED, ID_MAX, LANGUAGES, OPEN, display_name

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


def thread_cells(row):
    """The `replies` and `reply to` cells: a thread's first comment counts its visible replies;
    a reply names the comment it answers, and its thread when that is another comment."""
    if row.thread_id is None:
        return str(row.replies), ""
    if row.parent_id == row.thread_id:
        return "", f"#{row.parent_id}"
    return "", f"#{row.parent_id} in #{row.thread_id}"


def table(rows):
    id_width = max(len("id"), *(len(str(row.id)) for row in rows))
    cells = [thread_cells(row) for row in rows]
    replies_width = max(len("replies"), *(len(count) for count, _ in cells))
    to_width = max(len("reply to"), *(len(to) for _, to in cells))
    yield (f"{'id':>{id_width}}  {'state':<7}  {'posted (UTC)':<19}  {'author':<{AUTHOR_WIDTH}}  "
           f"{'replies':>{replies_width}}  {'reply to':<{to_width}}  content")
    for row, (count, to) in zip(rows, cells):
        author = one_line(display_name(row.author), AUTHOR_WIDTH)
        yield (f"{row.id:>{id_width}}  {row.state:<7}  {row.posted:%Y-%m-%d %H:%M:%S}  "
               f"{author:<{AUTHOR_WIDTH}}  {count:>{replies_width}}  {to:<{to_width}}  "
               f"{one_line(row.content, PREVIEW)}")


@board_cli.command("list", short_help="List comments, newest first.")
@click.option("--hidden", is_flag=True, help="List hidden and deleted comments instead.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1),
              help="How many to list.")
def list_comments(hidden, limit):
    """List the newest visible comments (or, with --hidden, hidden and deleted ones): id, state,
    when posted (UTC), author, threads (how many visible replies a thread's first comment has;
    which comment a reply answers, "#12 in #10" when that is a reply in thread 10) and the start
    of the text."""
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


@board_cli.command("queue", short_help="List the held comments, oldest first.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1),
              help="How many to list.")
def queue(limit):
    """List the comments waiting for a moderator (held by BOARD_MODERATION, a block list or the
    spam checks), oldest first, and how many wait in all; `approve` or `reject` them by id."""
    rows, waiting = reads.queue(limit)
    if not rows:
        click.echo("no held comments")
        return
    for line in table(rows):
        click.echo(line)
    click.echo(f"{waiting} held comment{'' if waiting == 1 else 's'} in all")


def decide_each(verb, comment_ids):
    """Apply `verb` to each id; exit 1 when any was refused (the others are still done)."""
    refused = False
    for comment_id in comment_ids:
        try:
            before, comment = models.moderate(comment_id, verb, by="cli")
            click.echo(f"comment {comment_id}: {before} -> {comment.state}")
        except models.Refused as error:
            click.echo(f"Error: {error}", err=True)
            refused = True
    if refused:
        raise SystemExit(1)


@board_cli.command("approve", short_help="Publish held comments.")
@click.argument("comment_ids", metavar="ID...", nargs=-1, required=True, type=COMMENT_ID)
def approve(comment_ids):
    """Publish held comments: open boards show them at their next poll, and their authors'
    next comments go straight up (BOARD_MODERATION=first)."""
    decide_each("approve", comment_ids)


@board_cli.command("reject", short_help="Delete held comments.")
@click.argument("comment_ids", metavar="ID...", nargs=-1, required=True, type=COMMENT_ID)
def reject(comment_ids):
    """Delete held comments (their rows are kept, deleted, for the record)."""
    decide_each("reject", comment_ids)


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


# Block lists -------------------------------------------------------------------------------------

@board_cli.group("blocks", short_help="List, add and remove block list entries.")
def blocks_cli():
    """The block lists (board/screening.py): words and phrases (any case, whole words), author
    names, and IP networks (CIDR). A comment that matches an entry is held for a moderator, or
    refused with a message (--refuse)."""


@blocks_cli.command("list")
def list_blocks():
    """Every entry: id, kind, action, when added (UTC), value."""
    from . import screening
    rows = screening.every_block()
    if not rows:
        click.echo("the block lists are empty")
        return
    width = max(len("id"), *(len(str(row.id)) for row in rows))
    click.echo(f"{'id':>{width}}  {'kind':<7}  {'action':<6}  {'added (UTC)':<16}  value")
    for row in rows:
        click.echo(f"{row.id:>{width}}  {row.kind:<7}  {row.action:<6}  "
                   f"{row.created:%Y-%m-%d %H:%M}  {row.value}")


@blocks_cli.command("add")
@click.argument("kind", type=click.Choice(["word", "name", "network"]))
@click.argument("value")
@click.option("--refuse", is_flag=True,
              help="Refuse a matching comment with a message (default: hold it for a moderator).")
def add_block(kind, value, refuse):
    """Add VALUE to the KIND list: word (a word or phrase), name (an author name) or network (an
    IP address or CIDR network, IPv4 or IPv6)."""
    from . import screening
    try:
        block_id, stored = screening.add_block(kind, value,
                                               screening.REFUSE if refuse else screening.HOLD)
    except screening.BadEntry as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"block {block_id}: {kind} {stored!r}, {'refused' if refuse else 'held'}")


@blocks_cli.command("remove")
@click.argument("block_id", metavar="ID", type=COMMENT_ID)
def remove_block(block_id):
    """Remove entry ID (see `blocks list`)."""
    from . import screening
    try:
        kind, value = screening.remove_block(block_id)
    except models.Refused as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"block {block_id}: removed ({kind} {value!r})")


# Keeping people informed -----------------------------------------------------------------------

@board_cli.command("send-notifications", short_help="Send the emails and webhooks that are due.")
@click.option("--loop", is_flag=True, help="Keep running, sending every --every seconds (for a "
                                           "server; a scheduled task runs it without).")
@click.option("--every", default=30, show_default=True, type=click.IntRange(1),
              help="With --loop: seconds between runs.")
@click.option("--minutes", type=click.IntRange(1),
              help="With --loop: stop after this many minutes (an hourly scheduled task that "
                   "covers its hour: --loop --minutes 59).")
@click.option("--limit", default=notifications.BATCH, show_default=True,
              type=click.IntRange(1), help="Send at most this many messages per run.")
@click.option("--failed", "list_failed", is_flag=True,
              help="Send nothing; list the messages that failed for good.")
@click.option("--retry-failed", is_flag=True,
              help="Make the messages that failed for good due again, then send.")
def send_notifications(loop, every, minutes, limit, list_failed, retry_failed):
    """Send the emails and webhooks in the outbox that are due, then exit (run it every minute
    from a scheduled task or cron). A failure is tried again later, 2, 4, 8, ... minutes apart
    (at most 4 hours), and after 12 attempts it is marked failed: --failed lists those. Two
    runs at once never send one message twice; a run killed between sending and marking can,
    and receivers drop the repeat by its Message-ID or X-Board-Event-Id."""
    if list_failed:
        rows = notifications.failed()
        if not rows:
            click.echo("no failed messages")
        for row in rows:
            click.echo(f"{row.id}  {row.kind}  {row.recipient}  {row.created:%Y-%m-%d %H:%M:%S}  "
                       f"{row.attempts} attempts  {row.error or ''}")
        return
    if retry_failed:
        click.echo(f"{notifications.retry_failed()} failed messages are due again")
    stop = time.monotonic() + minutes * 60 if minutes else None
    while True:
        done = notifications.deliver(limit)
        line = ", ".join(f"{count} {what}" for what, count in sorted(done.items()))
        click.echo(f"{models.clock():%Y-%m-%d %H:%M:%S} {line or 'nothing due'}")
        if done["failed"]:
            click.echo(f"{done['failed']} failed for good: flask board send-notifications --failed",
                       err=True)
        if not loop or stop is not None and time.monotonic() + every > stop:
            return
        time.sleep(every)


@board_cli.command("forget", short_help="Remove an email address and all that names it.")
@click.option("--email", required=True, help="The address to remove.")
def forget(email):
    """Remove an email address: its row, its board subscriptions, its link to its comments (which
    stay, without it) and their "email me replies", and every queued or sent message to it."""
    removed = notifications.forget(email)
    if not removed["addresses"]:
        click.echo(f"no address {notifications.normal(email)} is stored"
                   + (f"; removed {removed['messages']} messages to it" if removed["messages"]
                      else ""))
        return
    click.echo(f"forgot {notifications.normal(email)}: {removed['subscriptions']} subscriptions, "
               f"{removed['comments']} comments unlinked, {removed['messages']} messages removed")


# Boards ----------------------------------------------------------------------------------------

@board_cli.group("boards", short_help="Create, list, rename, close, open and archive boards.")
def boards_cli():
    """Boards: the default board at / (BOARD_DEFAULT_SLUG) and the others at /b/<slug>."""


def board_step(change, *args):
    try:
        return change(*args)
    except models.Refused as error:
        raise click.ClickException(str(error)) from None


@boards_cli.command("list")
def list_boards():
    """Every board: slug, state, visible comments, last activity (UTC), title."""
    rows = boards.every()
    if not rows:
        click.echo("no boards yet (the default board is made by its first comment)")
        return
    width = max(len("slug"), *(len(row.slug) for row in rows))
    click.echo(f"{'slug':<{width}}  {'state':<8}  {'comments':>8}  {'last active (UTC)':<19}  title")
    for row in rows:
        click.echo(f"{row.slug:<{width}}  {row.state:<8}  {row.comments:>8}  "
                   f"{row.last_activity:%Y-%m-%d %H:%M:%S}  {one_line(row.title, 60)}")


@boards_cli.command("create")
@click.argument("slug")
@click.option("--title", help="Its title (default: the slug).")
def create_board(slug, title):
    """Create an open board at /b/SLUG."""
    board = board_step(boards.create, slug, title or slug)
    click.echo(f"board {board.slug}: created, open")


@boards_cli.command("rename")
@click.argument("slug")
@click.argument("title")
def rename_board(slug, title):
    """Give board SLUG a new TITLE (its address stays)."""
    board_step(boards.rename, slug, title)
    click.echo(f"board {slug}: renamed {title!r}")


@boards_cli.command("moderation")
@click.argument("slug")
@click.argument("mode", type=click.Choice(["off", "first", "all", "default"]))
def board_moderation(slug, mode):
    """Set board SLUG's own moderation: off, first (a person's first comment waits), all, or
    default (BOARD_MODERATION's)."""
    board_step(boards.set_moderation, slug, None if mode == "default" else mode)
    click.echo(f"board {slug}: moderation {mode}")


@boards_cli.command("language")
@click.argument("slug")
@click.argument("language", type=click.Choice([*LANGUAGES, "default"]))
def board_language(slug, language):
    """Set board SLUG's own language (its pages are in it, whatever a reader's browser asks,
    unless the reader chose one in the switcher), or default: each reader's."""
    board_step(boards.set_language, slug, None if language == "default" else language)
    click.echo(f"board {slug}: language {language}")


def set_state(slug, state):
    board_step(boards.set_state, slug, state)
    click.echo(f"board {slug}: {state}")


@boards_cli.command("close")
@click.argument("slug")
def close_board(slug):
    """Close board SLUG: readable, takes no new comments."""
    set_state(slug, CLOSED)


@boards_cli.command("open")
@click.argument("slug")
def open_board(slug):
    """Open board SLUG again for new comments."""
    set_state(slug, OPEN)


@boards_cli.command("archive")
@click.argument("slug")
def archive_board(slug):
    """Archive board SLUG: read-only, and out of /boards and /recent."""
    set_state(slug, ARCHIVED)


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
@click.option("--with-private", is_flag=True,
              help="Also write each comment's email address (\"email\", \"email_confirmed\") "
                   "and \"notify\", for moving an installation. Keep such a file private.")
def export(file, with_private):
    """Write every comment, whatever its state, to FILE (- for standard output) as JSON Lines:
    one comment a line with id, author, content, posted, edited, state, parent and thread (the
    comment a reply answers and its thread's first comment; null for a thread's first comment),
    times in UTC like 2017-07-07T18:47:05.123456Z. Streams: memory stays flat however many
    comments there are."""
    written = 0
    total = reads.count_comments() if terminal() else None
    with output(file) as out, progress(total, "exporting") as bar:
        rows = transfer.exported(private=with_private)
        line = transfer.to_private_line if with_private else transfer.to_line
        for chunk in transfer.batches(rows, transfer.BATCH):
            out.write("".join(map(line, chunk)).encode())
            written += len(chunk)
            bar.update(len(chunk))
    click.echo(f"exported {written} comments to {'standard output' if file == '-' else file}",
               err=True)


@board_cli.command("import", short_help="Add the comments in a JSON Lines file, or another "
                                         "system's (--from).")
@click.argument("file", type=click.File("rb"))
@click.option("--from", "source", type=click.Choice(importers.SOURCES),
              help="FILE is another system's: Isso's SQLite database, a Disqus or WordPress "
                   "(WXR) XML export, or a Remark42 backup.")
def import_comments(file, source):
    """Add the comments in FILE (JSON Lines as `export` writes them; - for standard input) that
    the board lacks, keeping their ids, so links to them still work after a move.

    The whole import is ONE transaction: a malformed line, or a reply whose parent is neither in
    the file nor on the board or whose thread does not match its parent's, stops it with its
    line number and leaves the database exactly as it was. Ids the board already has are
    skipped, so importing the same file twice adds nothing. Each comment's HTML is rendered from
    its text, and threads' reply counts are recounted. Files from before replies (without parent
    and thread) import as they are. Best done while the board is not taking posts.

    With --from, each page of the other system becomes a board (keyed by its path), its comments
    and replies that board's threads, with their authors, times (in UTC) and states (pending is
    hidden, deleted stays deleted), in ONE transaction. What was imported before is skipped, so
    a second run adds nothing; an item that cannot be stored is skipped, and the summary says
    why. A file that cannot be read at all (broken XML, XML entities) imports nothing.
    """
    try:
        if source is None:
            with progress(size(file) if terminal() else None, "importing") as bar:
                result = transfer.import_comments(transfer.records(file, bar.update))
        else:
            with progress(importers.length(source, file) if terminal() else None,
                          f"importing from {source}") as bar:
                summary = importers.run(source, file, bar.update)
    except (transfer.BadLine, importers.BadFile) as error:
        raise click.ClickException(f"{error}. Nothing was imported.") from None
    except DBAPIError as error:
        reason = str(error.orig).splitlines()[0] if error.orig else str(error)
        raise click.ClickException(f"the database refused the import: {reason}. "
                                   "Nothing was imported.") from None
    if source is not None:
        for line in summary.lines():
            click.echo(line)
        return
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


@board_cli.command("rerender", short_help="Render every comment's HTML again.")
def rerender():
    """Render every comment's HTML again from its text (its Markdown): for comments stored before
    Markdown, which show as plain text until then, and after a change to board/markup.py. In
    batches, each its own transaction; safe while the board takes posts."""
    total = reads.count_comments() if terminal() else None
    with progress(total, "rendering") as bar:
        rendered = transfer.rerender(bar.update)
    click.echo(f"rendered {rendered} comments")


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
