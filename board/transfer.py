"""The JSON Lines transfer format and bulk writes: export, import, seeding and re-rendering in
batches.

One comment a line, UTF-8: {"id": 12, "author": null, "content": "...",
"posted": "2017-07-07T18:47:05.123456Z", "edited": null, "state": "visible", "parent": 10,
"thread": 10, "board": "main"}. `parent` is the comment answered and `thread` its thread's first
comment, both null for a thread's first comment (as in the database); files from before replies
lack both, which reads as null. `board` is the slug of the comment's board; files from before
boards lack it, which reads as the default board. A board the file names that this installation
lacks is made (open, titled with its slug). HTML is never read from a file: it is rendered from
`content`.

`flask board export --with-private` adds three fields at the end of each line, for moving an
installation: "email" (the address its author gave, or null), "email_confirmed" (when its owner
confirmed it, or null) and "notify" (whether they want replies by email). `import` accepts lines
with or without them; without --with-private an export never names an address.
"""

import json
from datetime import datetime, timezone
from json.encoder import encode_basestring as quoted  # a JSON string, non-ASCII kept as is
from typing import NamedTuple

import sqlalchemy as sa

from . import markup
from .extensions import db
from flask import current_app

from .models import (ADDRESSES, BOARDS, COMMENT_IDS, TABLE, advance_ids, insert_board, later,
                     recount_boards, recount_replies, revise_boards, take)
from .rules import EMAIL, EMAIL_MAX, ID_MAX, STATES, iso_utc, slug_problem, validate

# One comment as JSON Lines carries exactly these fields, in this order, from these columns.
FIELDS = ("id", "author", "content", "posted", "edited", "state", "parent", "thread", "board")
COLUMNS = ("id", "author", "content", "posted", "edited", "state", "parent_id", "thread_id",
           "board")
# Files written before replies lack parent and thread (null), before boards, board (the default).
OPTIONAL = {"parent", "thread", "board"}
EXPORTED = (sa.select(*(TABLE.c[name] for name in COLUMNS[:-1]), BOARDS.c.slug.label("board"))
            .join_from(TABLE, BOARDS, BOARDS.c.id == TABLE.c.board_id))
# With --with-private only: who gave which address, and whether they want replies.
PRIVATE = ("email", "email_confirmed", "notify")
EXPORTED_PRIVATE = (EXPORTED.add_columns(ADDRESSES.c.email, ADDRESSES.c.confirmed,
                                         TABLE.c.notify_replies)
                    .outerjoin(ADDRESSES, ADDRESSES.c.id == TABLE.c.address_id))
BATCH = 1000  # rows per fetch, per existence check, per multi-row INSERT and per UPDATE batch
MAX_LINE = 64 * 1024  # bytes; the longest valid comment, \u-escaped, is under 50 KiB
TIME_EXAMPLE = "2017-07-07T18:47:05.123456Z"
EARLIEST = datetime(1000, 1, 1, tzinfo=timezone.utc)  # MySQL's DATETIME starts at year 1000


class BadLine(Exception):
    def __init__(self, number, problem):
        super().__init__(f"line {number}: {problem}")


class Reply(NamedTuple):
    """What an import checks of a reply once the rows it names may be stored."""
    line: int | None
    id: int
    parent: int
    thread: int


class Imported(NamedTuple):
    added: int
    skipped: int  # ids the board (or an earlier line) already had
    differing: list  # the first few of those whose fields differ: the board's version was kept


def batches(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# Writing ----------------------------------------------------------------------------------------

def to_line(row):
    """What json.dumps(dict, ensure_ascii=False) writes for the row, built directly: a million
    rows spend most of their export time here."""
    id_, author, content, posted, edited, state, parent, thread, board = row
    author = "null" if author is None else quoted(author)
    edited = "null" if edited is None else f'"{iso_utc(edited, "microseconds")}"'
    parent = "null" if parent is None else parent
    thread = "null" if thread is None else thread
    return (f'{{"id": {id_}, "author": {author}, "content": {quoted(content)}, '
            f'"posted": "{iso_utc(posted, "microseconds")}", "edited": {edited}, '
            f'"state": {quoted(state)}, "parent": {parent}, "thread": {thread}, '
            f'"board": {quoted(board)}}}\n')


def to_private_line(row):
    """A line with the private fields too (export --with-private)."""
    email, confirmed, notify = row[len(FIELDS):]
    confirmed = "null" if confirmed is None else f'"{iso_utc(confirmed, "microseconds")}"'
    return (to_line(row[:len(FIELDS)])[:-2]
            + f', "email": {"null" if email is None else quoted(email)}, '
              f'"email_confirmed": {confirmed}, "notify": {"true" if notify else "false"}}}\n')


def exported(batch=BATCH, private=False):
    """Every comment in id order, `batch` rows in memory at a time, as one snapshot.

    PostgreSQL streams through a server-side cursor and SQLite's cursor steps lazily by itself.
    SQLAlchemy gives mysql-connector no server-side cursor: stream_results would quietly buffer
    the whole result (358 MB at 300,000 rows), so MySQL/MariaDB read keyset chunks by id inside
    one transaction (InnoDB's REPEATABLE READ keeps them one snapshot).
    """
    dialect = db.session.get_bind().dialect
    ordered = (EXPORTED_PRIVATE if private else EXPORTED).order_by(TABLE.c.id)
    if dialect.supports_server_side_cursors or dialect.name == "sqlite":
        yield from db.session.execute(
            ordered.execution_options(stream_results=True, yield_per=batch))
        return
    last = 0
    while True:
        rows = db.session.execute(ordered.where(TABLE.c.id > last).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1].id


# Reading ----------------------------------------------------------------------------------------

def unique_keys(pairs):
    record = dict(pairs)
    if len(record) < len(pairs):
        keys = [key for key, _ in pairs]
        repeated = [key for key in record if keys.count(key) > 1]
        raise ValueError(f"repeats the field(s) {', '.join(repeated)}")
    return record


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
FIELD_SET = set(FIELDS)
PRIVATE_SET = set(PRIVATE)


def is_id(value):
    return type(value) is int and 1 <= value <= ID_MAX


def check_reply(record):
    """A reply names its parent and its thread, a thread's first comment neither: the (parent,
    thread) of one line, as far as the line alone can tell. Whether they match the comments they
    name is checked once those may be stored (check_replies)."""
    parent, thread = record.get("parent"), record.get("thread")
    for name, value in (("parent", parent), ("thread", thread)):
        if value is not None and not is_id(value):
            raise ValueError(f"{name} must be a comment id (a whole number from 1 to {ID_MAX}) "
                             "or null")
    if parent is None and thread is not None:
        raise ValueError(f"thread is {thread} but parent is null: a comment that answers none "
                         "starts its own thread, with thread null")
    if parent is not None and thread is None:
        raise ValueError(f"parent is {parent} but thread is null: a reply names its thread")
    if parent == record["id"]:
        raise ValueError("parent is the comment's own id: a comment cannot answer itself")
    if thread == record["id"]:
        raise ValueError("thread is the comment's own id: a thread's first comment has thread null")
    return parent, thread


def to_record(raw):
    """One line's comment, checked by the board's own rules for what it once stored
    (rules.validate with posting=False); a dict of COLUMNS."""
    try:
        record = DECODER.decode(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"is not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict):
        raise ValueError("is not a JSON object")
    private = {name: record.pop(name) for name in PRIVATE if name in record}
    if private and private.keys() != PRIVATE_SET:
        raise ValueError(f"has {', '.join(private)} but not all of {', '.join(PRIVATE)}")
    if record.keys() != FIELD_SET:
        missing = [name for name in FIELDS if name not in record and name not in OPTIONAL]
        unknown = sorted(set(record) - FIELD_SET)
        if missing or unknown:
            raise ValueError("; ".join(filter(None, [
                missing and f"lacks the field(s) {', '.join(missing)}",
                unknown and f"has unknown field(s) {', '.join(unknown)}"])))
    if not is_id(record["id"]):
        raise ValueError(f"id must be a whole number from 1 to {ID_MAX}")
    if record["state"] not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}")
    if record["author"] is not None and not isinstance(record["author"], str):
        raise ValueError("author must be text or null")
    if not isinstance(record["content"], str):
        raise ValueError("content must be text")
    problems = validate(record["content"], record["author"], posting=False)
    if problems:
        raise ValueError("; ".join(f"{name}: {message.rstrip('.')}"
                                   for name, message in problems.items()))
    parent, thread = check_reply(record)
    board = record.get("board") or current_app.config["BOARD_DEFAULT_SLUG"]
    if not isinstance(board, str) or slug_problem(board):
        raise ValueError("board must be a board's slug (lowercase letters, digits and hyphens) "
                         "or null")
    return {"id": record["id"], "author": record["author"], "content": record["content"],
            "posted": check_time("posted", record["posted"]),
            "edited": check_time("edited", record["edited"], nullable=True),
            "state": record["state"], "parent_id": parent, "thread_id": thread, "board": board,
            **check_private(private)}


def check_private(private):
    """The private fields of a line (export --with-private), checked; {} when it has none."""
    if not private:
        return {}
    email = private["email"]
    if email is not None and (not isinstance(email, str) or len(email) > EMAIL_MAX
                              or not EMAIL.fullmatch(email)):
        raise ValueError("email must be an email address or null")
    if not isinstance(private["notify"], bool):
        raise ValueError("notify must be true or false")
    confirmed = check_time("email_confirmed", private["email_confirmed"], nullable=True)
    return {"email": email and email.strip().lower(), "email_confirmed": confirmed,
            "notify": bool(email) and private["notify"]}


def records(file, on_progress=lambda nbytes: None):
    """The file's comments, line by line, each with its "line" number; blank lines are skipped,
    a bad one raises BadLine. `on_progress` hears how many bytes were read, now and then."""
    number = pending = 0
    while raw := file.readline(MAX_LINE + 1):
        number += 1
        pending += len(raw)
        if number % BATCH == 0:
            on_progress(pending)
            pending = 0
        if len(raw) > MAX_LINE:
            raise BadLine(number, f"is longer than {MAX_LINE} bytes")
        if raw.strip():
            try:
                record = to_record(raw)
            except ValueError as error:
                raise BadLine(number, str(error)) from None
            record["line"] = number
            yield record
    on_progress(pending)


# Bulk writes ------------------------------------------------------------------------------------

def insert_comments(rows):
    """One multi-row INSERT per batch (Core executemany, no ORM objects); keeps given ids."""
    db.session.execute(sa.insert(TABLE), rows)


def values(row_or_record):
    if isinstance(row_or_record, dict):
        return tuple(row_or_record[name] for name in COLUMNS)
    return tuple(row_or_record)


def stored(record, board_ids, addresses=None):
    """The row an imported record becomes: its columns, its board's id, and its HTML rendered
    here (a file's HTML, were it to carry any, would never be trusted)."""
    row = {name: record[name] for name in COLUMNS[:-1]}
    row["board_id"] = board_ids[record["board"]]
    row["html"] = markup.render(record["content"])
    # Every row of one multi-row INSERT names the same columns.
    row["address_id"] = addresses[record["email"]] if record.get("email") else None
    row["notify_replies"] = bool(record.get("notify"))
    return row


def address_ids(records, known):
    """{email: addresses.id} for the private fields of imported records, adding to `known`; an
    address this installation lacks is added, confirmed as the file says; one it has keeps its
    own confirmation, or takes the file's when it has none."""
    given = {}
    for record in records:
        if record.get("email"):
            given[record["email"]] = given.get(record["email"]) or record["email_confirmed"]
    wanted = set(given) - known.keys()
    if wanted:
        found = {row.email: row for row in db.session.execute(
            sa.select(ADDRESSES.c.id, ADDRESSES.c.email, ADDRESSES.c.confirmed)
            .where(ADDRESSES.c.email.in_(wanted)))}
        for email in sorted(wanted):
            if email not in found:
                db.session.execute(sa.insert(ADDRESSES).values(
                    email=email, created=datetime.now(timezone.utc), confirmed=given[email]))
            elif found[email].confirmed is None and given[email] is not None:
                db.session.execute(sa.update(ADDRESSES).where(ADDRESSES.c.email == email)
                                   .values(confirmed=given[email]))
        known.update(db.session.execute(sa.select(ADDRESSES.c.email, ADDRESSES.c.id)
                                        .where(ADDRESSES.c.email.in_(wanted))).all())
    return known


def board_ids(slugs, known):
    """{slug: id} for `slugs`, adding to `known`; a board that does not exist is made (in the
    import's transaction)."""
    wanted = set(slugs) - known.keys()
    if wanted:
        known.update(db.session.execute(sa.select(BOARDS.c.slug, BOARDS.c.id)
                                        .where(BOARDS.c.slug.in_(wanted))).all())
        for slug in sorted(wanted - known.keys()):
            insert_board(slug, slug)
            known[slug] = db.session.scalar(sa.select(BOARDS.c.id).where(BOARDS.c.slug == slug))
    return known


NOT_STORED = object()


def reply_problem(reply, threads):
    """What is wrong with an imported reply, given {id: thread_id} of the stored comments it
    names, or None; and whether that is a comment not stored (yet)."""
    parent_thread = threads.get(reply.parent, NOT_STORED)  # None: the parent starts a thread
    if parent_thread is NOT_STORED:
        return (f"comment {reply.id} answers comment {reply.parent}, which is neither in the file "
                "nor on the board"), True
    if parent_thread is None and reply.thread != reply.parent:
        return (f"comment {reply.id} has thread {reply.thread}, but its parent {reply.parent} "
                f"starts a thread: thread must be {reply.parent}"), False
    if parent_thread is not None and reply.thread != parent_thread:
        return (f"comment {reply.id} has thread {reply.thread}, but its parent {reply.parent} "
                f"is in thread {parent_thread}"), False
    # Only a loop of replies can get here with a thread that is missing or is itself a reply.
    if threads.get(reply.thread, NOT_STORED) is NOT_STORED:
        return (f"comment {reply.id} is in thread {reply.thread}, which is neither in the file "
                "nor on the board"), True
    if threads[reply.thread] is not None:
        return (f"comment {reply.id} is in thread {reply.thread}, which is a reply (in thread "
                f"{threads[reply.thread]}), not a thread's first comment"), False
    return None, False


def check_replies(replies, final=False):
    """Check imported replies against the comments stored so far in this transaction (the
    board's, and the file's up to here), in one query: each reply's parent must be stored, and
    its thread must be the parent's thread, or the parent itself when that starts a thread.
    Raises BadLine at the first reply that contradicts them. Returns the replies that name a
    comment not stored yet (a file may list a reply before its parent); with `final` no more
    comments are coming, and such a reply is refused too."""
    wanted = {reply.parent for reply in replies} | {reply.thread for reply in replies}
    threads = dict(db.session.execute(
        sa.select(TABLE.c.id, TABLE.c.thread_id).where(TABLE.c.id.in_(wanted))).all())
    later = []
    for reply in replies:
        problem, missing = reply_problem(reply, threads)
        if problem is not None and missing and not final:
            later.append(reply)
        elif problem is not None:
            raise BadLine(reply.line, problem)
    return later


def import_comments(records, batch=BATCH, differing_max=10):
    """Add the `records` (dicts of COLUMNS, with a "line" number when they come from records())
    whose id the board lacks, all in ONE transaction: any exception, from the database, from the
    records' iterator (a bad line) or from the checks of replies, rolls back everything. Ids are
    kept, so permalinks survive a move; new posts get ids after them.

    A reply's parent and thread must be stored comments, in the file or on the board, and agree
    (check_replies); each batch's replies are checked against what is stored once the batch is,
    and those that name a comment further on are checked again at the end, so memory stays flat
    for a file in id order (as `export` writes it: a parent's id is always lower). Afterwards
    the reply counts of the threads that gained replies are recounted."""
    added = skipped = highest = 0
    differing, later, threads, boards, addresses = [], [], set(), {}, {}
    default = current_app.config["BOARD_DEFAULT_SLUG"]
    try:
        for chunk in batches(records, batch):
            for record in chunk:
                record.setdefault("board", default)
            ids = {record["id"] for record in chunk}
            present = {row.id: row for row in
                       db.session.execute(EXPORTED.where(TABLE.c.id.in_(ids)))}
            new = []
            for record in chunk:
                old = present.get(record["id"])
                if old is None:
                    new.append(record)
                    present[record["id"]] = record  # a repeat later in the file is skipped
                    continue
                skipped += 1
                if values(old) != values(record) and len(differing) < differing_max:
                    differing.append(record["id"])
            if not new:
                continue
            board_ids((record["board"] for record in new), boards)
            address_ids(new, addresses)
            insert_comments([stored(record, boards, addresses) for record in new])
            added += len(new)
            highest = max(highest, *(record["id"] for record in new))
            replies = [Reply(record.get("line"), record["id"], record["parent_id"],
                             record["thread_id"]) for record in new
                       if record["parent_id"] is not None]
            if replies:
                threads.update(reply.thread for reply in replies)
                later += check_replies(replies)
        for chunk in batches(later, batch):
            check_replies(chunk, final=True)
        for chunk in batches(sorted(threads), batch):
            recount_replies(chunk)
        recount_boards(list(boards.values()))
        revise_boards(list(boards.values()))
        advance_ids(highest)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return Imported(added, skipped, differing)


def seed_comments(rows, batch=10 * BATCH):
    """Insert generated rows in batches, committing each; returns how many. Each batch takes its
    ids from the counter in one step. A row without "html" gets its content rendered."""
    total, boards = 0, {}
    default = current_app.config["BOARD_DEFAULT_SLUG"]
    for chunk in batches(rows, batch):
        board_ids([default], boards)
        last = take(db.session.connection(), COMMENT_IDS, len(chunk))
        for id_, row in enumerate(chunk, start=last - len(chunk) + 1):
            row["id"] = id_
            row.setdefault("board_id", boards[default])
            if "html" not in row:
                row["html"] = markup.render(row["content"])
        insert_comments(chunk)
        count_seeded(chunk)
        db.session.commit()
        total += len(chunk)
    return total


def count_seeded(rows):
    """Add seeded rows to their boards' counts and last activity."""
    for board_id in {row["board_id"] for row in rows}:
        mine = [row for row in rows if row["board_id"] == board_id]
        latest = max(row["posted"] for row in mine)
        db.session.execute(sa.update(BOARDS).where(BOARDS.c.id == board_id).values(
            comments=BOARDS.c.comments + sum(row.get("state", "visible") == "visible"
                                             for row in mine),
            last_activity=later(latest), last_id=max(row["id"] for row in mine)))


_RENDERED = sa.bindparam("rendered_id", type_=sa.Integer)
_REVISION = sa.bindparam("rendered_revision", type_=sa.BigInteger)
RERENDER = (sa.update(TABLE)
            .where(TABLE.c.id == _RENDERED, TABLE.c.revision.is_not_distinct_from(_REVISION))
            .values(html=sa.bindparam("rendered_html")))


def rerender(on_progress=lambda count: None, batch=BATCH):
    """Render every comment's html again from its content (comments stored before Markdown have
    none; a change to board/markup.py changes the rest), in batches by id; returns how many were
    rendered. Each batch is read, rendered outside any transaction, and written in one
    executemany (rows whose HTML is unchanged are left alone) and one commit, so posts wait at
    most one batch. A comment edited meanwhile keeps the HTML its edit rendered: the UPDATE
    matches its revision as read."""
    rendered = last = 0
    while True:
        rows = db.session.execute(
            sa.select(TABLE.c.id, TABLE.c.content, TABLE.c.html, TABLE.c.revision,
                      TABLE.c.board_id)
            .where(TABLE.c.id > last).order_by(TABLE.c.id).limit(batch)).all()
        db.session.commit()  # no snapshot or lock held while rendering
        changed, boards = [], set()
        for row in rows:
            html = markup.render(row.content)
            if html != row.html:
                changed.append({"rendered_id": row.id, "rendered_revision": row.revision,
                                "rendered_html": html})
                boards.add(row.board_id)
        if changed:
            db.session.execute(RERENDER, changed)
            revise_boards(sorted(boards))  # pages kept rendered (board/fragments.py) are old now
            db.session.commit()
        rendered += len(rows)
        on_progress(len(rows))
        if len(rows) < batch:
            return rendered
        last = rows[-1].id
