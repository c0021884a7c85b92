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


def for_moderation(comment_id, limit):
    """Every comment, whatever its state, newest first; from `comment_id` on when given."""
    statement = sa.select(*COLUMNS)
    if comment_id is not None:
        statement = statement.where(before(comment_id))
    return _page(statement, limit)


def poll(after, since, limit):
    """What an open board has not seen, in one statement of two index lookups: comments stored
    after id `after` (the `limit` oldest of them; the rest come next poll), and comments up to
    `after` changed since `since` (milliseconds)."""
    now = clock()
    new = LISTED.where(Comment.id > after).order_by(Comment.id).limit(limit).subquery()
    changed = (sa.select(*COLUMNS).where(Comment.changed > from_millis(since), Comment.id <= after)
               .order_by(Comment.changed).limit(CHANGES_MAX).subquery())
    rows = db.session.execute(sa.union_all(sa.select(new), sa.select(changed))).all()
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
