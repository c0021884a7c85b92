"""The Comment: its column type, its table, and the writes that change a comment's state."""

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .rules import AUTHOR_MAX, CONTENT_MAX, VERBS, VISIBLE, display_name


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
        return f"<Comment {self.id} by {display_name(self.author)}>"


# The table itself, for Core statements (no per-row ORM bookkeeping) in reads and transfers.
TABLE = Comment.__table__


class Refused(Exception):
    """A step that cannot be taken: an unknown id, or a state the verb does not apply to."""


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


def moderate(comment_id, verb):
    """Hide, unhide or delete by the rules in rules.VERBS; returns (the state before, the
    comment). The moderator page and the CLI both come here."""
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise Refused(f"there is no comment {comment_id}")
    allowed_from, to = VERBS[verb]
    if comment.state == to:
        raise Refused(f"comment {comment_id} is already {to}")
    if comment.state not in allowed_from:
        raise Refused(f"comment {comment_id} is {comment.state}; it cannot become {to}")
    before_state = comment.state
    return before_state, change(comment, state=to)


def purge(comment_id):
    """Remove the row itself, whatever its state."""
    if db.session.execute(sa.delete(TABLE).where(TABLE.c.id == comment_id)).rowcount == 0:
        raise Refused(f"there is no comment {comment_id}")
    db.session.commit()
