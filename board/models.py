"""The Comment model and the queries the views need, each one indexed."""

from datetime import datetime, timezone
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

CONTENT_MAX = 4096
AUTHOR_MAX = 64


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
        {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    content: Mapped[str] = mapped_column(sa.String(CONTENT_MAX))
    author: Mapped[str | None] = mapped_column(sa.String(AUTHOR_MAX))
    posted: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self):
        return f"<Comment {self.id} by {self.author or 'Anonymous'}>"


class Page(NamedTuple):
    comments: list
    older: int | None = None  # cursor for the next older page, None when this is the last

    @property
    def newest_id(self):
        """The poll's cursor: the highest id on this page (0 for none)."""
        return max((comment.id for comment in self.comments), default=0)


# The listing selects only what the comment partial shows: rows, not ORM objects.
LISTED = sa.select(Comment.id, Comment.author, Comment.content, Comment.posted)
NEWEST_FIRST = (Comment.posted.desc(), Comment.id.desc())


def _page(statement, limit):
    rows = db.session.execute(statement.order_by(*NEWEST_FIRST).limit(limit + 1)).all()
    older = rows[limit - 1].id if len(rows) > limit else None
    return Page(rows[:limit], older)


def newest(limit):
    """The first page of the board."""
    return _page(LISTED, limit)


def older_than(comment_id, limit):
    """The page after `comment_id` in newest-first order: one query, keyset on (posted, id).

    `posted <= cursor` bounds the index range on every database; the OR only breaks ties.
    An unknown cursor yields an empty page.
    """
    cursor = sa.select(Comment.posted).where(Comment.id == comment_id).scalar_subquery()
    return _page(
        LISTED.where(
            Comment.posted <= cursor,
            sa.or_(Comment.posted < cursor, Comment.id < comment_id),
        ),
        limit,
    )


def newer_than(comment_id, limit):
    """Comments stored after `comment_id`, for the poll: the `limit` oldest of them, returned
    newest first so they stack on top of the list. Anything beyond `limit` arrives next poll."""
    rows = db.session.execute(
        LISTED.where(Comment.id > comment_id).order_by(Comment.id).limit(limit)
    ).all()
    return Page(sorted(rows, key=lambda row: (row.posted, row.id), reverse=True))


def add(author, content):
    comment = Comment(author=author or None, content=content)
    db.session.add(comment)
    db.session.commit()
    return comment
