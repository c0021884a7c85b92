"""The Comment model and the queries the views need, each one indexed."""

from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

CONTENT_MAX = 4096
AUTHOR_MAX = 64
# A comment's life: shown; hidden by a moderator (can come back); deleted by its author or a
# moderator (kept for audit, never shown). Purging removes the row itself.
VISIBLE, HIDDEN, DELETED = "visible", "hidden", "deleted"
STATES = (VISIBLE, HIDDEN, DELETED)


def clock():
    """The current time in UTC. Tests replace it to control `posted`."""
    return datetime.now(timezone.utc)


def utcnow():
    # Looked up at call time so that a replaced clock takes effect.
    return clock()


class UTCDateTime(sa.TypeDecorator):
    """A zone-less DATETIME that always holds UTC: aware datetimes in, aware UTC out.

    The column itself has no zone on any of the three databases, so neither a server's nor a
    session's time zone can shift a stored value. MySQL keeps microseconds only with fsp=6.
    """

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime in UTC")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        # Serves newest-first pages and keyset cursors: ORDER BY posted DESC, id DESC.
        sa.Index("ix_comments_posted_id", "posted", "id"),
        # Serves the poll's question "what changed since I last asked?".
        sa.Index("ix_comments_changed", "changed"),
        {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    content: Mapped[str] = mapped_column(sa.String(CONTENT_MAX))
    author: Mapped[str | None] = mapped_column(sa.String(AUTHOR_MAX))
    posted: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    edited: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(sa.String(16), default=VISIBLE, server_default=VISIBLE)
    # When an edit, hide, unhide or delete last touched it: open boards pick changes up by this.
    changed: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self):
        return f"<Comment {self.id} by {self.author or 'Anonymous'}>"


class Page(NamedTuple):
    comments: list
    older: int | None = None  # cursor for the next older page, None when this is the last

    @property
    def newest_id(self):
        """The poll's cursor: the highest id on this page (0 for none)."""
        return max((comment.id for comment in self.comments), default=0)


class Poll(NamedTuple):
    comments: list  # new since the cursor, newest first
    changes: list  # already shown, since edited, hidden or deleted
    after: int  # the advanced cursors for the next poll
    since: int


# What the comment partial shows: rows from a Core select, not ORM objects (cheaper per row).
COLUMNS = (Comment.id, Comment.author, Comment.content, Comment.posted, Comment.edited,
           Comment.state)
LISTED = sa.select(*COLUMNS).where(Comment.state == VISIBLE)
NEWEST_FIRST = (Comment.posted.desc(), Comment.id.desc())
# A change committed just after a poll read its snapshot may carry an earlier `changed`: each
# poll looks this far back, and repeats of a change are harmless.
CHANGE_OVERLAP = timedelta(seconds=10)
CHANGES_MAX = 500  # per poll; a bigger moderation sweep shows fully on the next page load


def to_millis(moment):
    return int(moment.timestamp() * 1000)


def from_millis(millis):
    return datetime.fromtimestamp(millis / 1000, timezone.utc)


def poll_since():
    """The `since` cursor a freshly rendered board starts polling from."""
    return to_millis(clock() - CHANGE_OVERLAP)


def _page(statement, limit):
    rows = db.session.execute(statement.order_by(*NEWEST_FIRST).limit(limit + 1)).all()
    older = rows[limit - 1].id if len(rows) > limit else None
    return Page(rows[:limit], older)


def newest(limit):
    """The first page of the board."""
    return _page(LISTED, limit)


def before(comment_id):
    """Keyset condition: after `comment_id` in newest-first order, in the same statement.

    `posted <= cursor` bounds the index range on every database; the OR only breaks ties.
    An unknown cursor matches nothing.
    """
    cursor = sa.select(Comment.posted).where(Comment.id == comment_id).scalar_subquery()
    return sa.and_(Comment.posted <= cursor,
                   sa.or_(Comment.posted < cursor, Comment.id < comment_id))


def older_than(comment_id, limit):
    """The page after `comment_id`: one query, keyset on (posted, id)."""
    return _page(LISTED.where(before(comment_id)), limit)


def page_before(comment_id, limit):
    """The page after `comment_id`, or the first page when it is None."""
    return newest(limit) if comment_id is None else older_than(comment_id, limit)


def for_moderation(comment_id, limit):
    """Every comment, whatever its state, newest first; from `comment_id` on when given."""
    statement = sa.select(*COLUMNS)
    if comment_id is not None:
        statement = statement.where(before(comment_id))
    return _page(statement, limit)


def newer_than(comment_id, limit):
    """The `limit` oldest comments stored after `comment_id`, oldest first (for the API)."""
    statement = LISTED.where(Comment.id > comment_id).order_by(Comment.id).limit(limit)
    return db.session.execute(statement).all()


# The poll's statement, built once: Core columns and bound parameters, so a poll only binds
# values and finds the compiled SQL in the cache (no statement building per request).
_TABLE = Comment.__table__
_CORE_COLUMNS = [_TABLE.c[column.key] for column in COLUMNS]
_AFTER = sa.bindparam("after", type_=sa.Integer)
_POLL_NEW = (sa.select(*_CORE_COLUMNS).where(_TABLE.c.state == VISIBLE, _TABLE.c.id > _AFTER)
             .order_by(_TABLE.c.id).limit(sa.bindparam("limit", type_=sa.Integer)).subquery())
_POLL_CHANGED = (sa.select(*_CORE_COLUMNS)
                 .where(_TABLE.c.changed > sa.bindparam("since", type_=UTCDateTime()),
                        _TABLE.c.id <= _AFTER)
                 .order_by(_TABLE.c.changed).limit(CHANGES_MAX).subquery())
POLL = sa.union_all(sa.select(_POLL_NEW), sa.select(_POLL_CHANGED))


def poll(after, since, limit):
    """What an open board has not seen, in one statement of two index lookups: comments stored
    after id `after` (the `limit` oldest of them; the rest come next poll), and comments up to
    `after` changed since `since` (milliseconds)."""
    now = clock()
    values = {"after": after, "since": from_millis(since), "limit": limit}
    rows = db.session.execute(POLL, values).all()
    comments = sorted((row for row in rows if row.id > after),
                      key=lambda row: (row.posted, row.id), reverse=True)
    changes = [row for row in rows if row.id <= after]
    return Poll(comments, changes, max((row.id for row in comments), default=after),
                to_millis(now - CHANGE_OVERLAP))


def add(author, content):
    comment = Comment(author=author or None, content=content)
    db.session.add(comment)
    db.session.commit()
    return comment


def change(comment, **values):
    """Edit, hide, unhide or delete: stamp `changed` so open boards pick it up."""
    for name, value in values.items():
        setattr(comment, name, value)
    comment.changed = clock()
    db.session.commit()
    return comment


# ================================================================================================
# Moderation and data in/out, for the CLI (`flask board ...`, board/cli.py).
# The commands stay short; the SQL they need is here. Nothing above this line depends on it.
# ================================================================================================

# verb: (the states it applies to, the state it leads to). Deleted stays deleted: an author's
# deletion is not the moderator's to undo. The moderator page and the CLI both follow this table.
ACTIONS = {
    "hide": ({VISIBLE}, HIDDEN),
    "unhide": ({HIDDEN}, VISIBLE),
    "delete": ({VISIBLE, HIDDEN}, DELETED),
}
# What `flask board list` shows, and which states `--hidden` means.
LISTINGS = {False: (VISIBLE,), True: (HIDDEN, DELETED)}
# One comment as JSON Lines carries exactly these columns, in this order.
FIELDS = ("id", "author", "content", "posted", "edited", "state")
# The table's columns, not the ORM's attributes: plain Core rows, without per-row ORM bookkeeping.
TABLE = Comment.__table__
EXPORTED = sa.select(*(TABLE.c[name] for name in FIELDS))
BATCH = 1000  # rows per fetch, per existence check and per multi-row INSERT


class Refused(Exception):
    """A moderation step that cannot be taken: unknown id, or a state the verb does not apply to."""


def listing(hidden, limit):
    """The newest `limit` visible comments, or hidden and deleted ones; one more tells of more."""
    statement = sa.select(*COLUMNS).where(Comment.state.in_(LISTINGS[hidden]))
    return db.session.execute(statement.order_by(*NEWEST_FIRST).limit(limit + 1)).all()


def moderate(comment_id, verb):
    """Hide, unhide or delete by the rules in ACTIONS; returns (the state before, the comment)."""
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise Refused(f"there is no comment {comment_id}")
    allowed_from, to = ACTIONS[verb]
    if comment.state == to:
        raise Refused(f"comment {comment_id} is already {to}")
    if comment.state not in allowed_from:
        raise Refused(f"comment {comment_id} is {comment.state}; it cannot become {to}")
    before_state = comment.state
    return before_state, change(comment, state=to)


def find(comment_id):
    """One comment's exported fields, whatever its state."""
    row = db.session.execute(EXPORTED.where(TABLE.c.id == comment_id)).first()
    if row is None:
        raise Refused(f"there is no comment {comment_id}")
    return row


def purge(comment_id):
    """Remove the row itself, whatever its state. Returns the row as it was."""
    row = find(comment_id)
    db.session.execute(sa.delete(TABLE).where(TABLE.c.id == comment_id))
    db.session.commit()
    return row


def count_comments():
    return db.session.scalar(sa.select(sa.func.count()).select_from(TABLE))


def exported(batch=None):
    """Every comment in id order, `batch` rows in memory at a time, as one snapshot.

    PostgreSQL streams through a server-side cursor and SQLite's cursor steps lazily by itself.
    SQLAlchemy gives mysql-connector no server-side cursor: stream_results would quietly buffer
    the whole result (358 MB at 300,000 rows), so MySQL/MariaDB read keyset chunks by id inside
    one transaction (InnoDB's REPEATABLE READ keeps them one snapshot).
    """
    batch = batch or BATCH
    dialect = db.session.get_bind().dialect
    ordered = EXPORTED.order_by(TABLE.c.id)
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


def insert_comments(rows):
    """One multi-row INSERT per batch (Core executemany, no ORM objects); keeps given ids."""
    db.session.execute(sa.insert(TABLE), rows)


def import_comments(records, batch=None, differing_max=10):
    """Add the `records` (dicts of FIELDS) whose id the board lacks, all in ONE transaction:
    any exception, from the database or from the records' iterator (a bad line), rolls back
    everything. Ids are kept, so permalinks survive a move; the id sequence is advanced."""
    added = skipped = 0
    differing = []
    try:
        for chunk in batches(records, batch or BATCH):
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
            if new:
                insert_comments(new)
                added += len(new)
        advance_id_sequence()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return Imported(added, skipped, differing)


def values(row_or_record):
    if isinstance(row_or_record, dict):
        return tuple(row_or_record[name] for name in FIELDS)
    return tuple(row_or_record)


def advance_id_sequence():
    """After explicit ids, move PostgreSQL's id sequence past the highest id (never back), so the
    next post does not collide. MySQL/MariaDB and SQLite advance their counters by themselves."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.execute(sa.text(
        "SELECT setval(pg_get_serial_sequence('comments', 'id'), MAX(id)) FROM comments "
        "HAVING MAX(id) > COALESCE(pg_sequence_last_value("
        "CAST(pg_get_serial_sequence('comments', 'id') AS regclass)), 0)"))


def seed_comments(rows, batch=10 * BATCH):
    """Insert generated rows in batches, committing each; returns how many."""
    total = 0
    for chunk in batches(rows, batch):
        insert_comments(chunk)
        db.session.commit()
        total += len(chunk)
    return total
