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


class Counter(db.Model):
    """Numbers handed out in commit order. Taking one locks its row until the transaction ends,
    so a transaction that took a higher number commits after every one that took a lower one:
    a reader that sees number N has seen every number below it. Ids and revisions come from
    here; a number is never handed out twice, so ids are never reused."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger)


COMMENT_IDS, REVISIONS = "comment_ids", "revisions"
COUNTERS = Counter.__table__


def take(connection, name, count=1):
    """The last of `count` new numbers from counter `name`, its row locked until commit."""
    step = sa.update(COUNTERS).where(COUNTERS.c.name == name).values(value=COUNTERS.c.value + count)
    if connection.dialect.update_returning:
        return connection.execute(step.returning(COUNTERS.c.value)).scalar_one()
    connection.execute(step)  # MySQL/MariaDB have no UPDATE ... RETURNING
    return connection.scalar(sa.select(COUNTERS.c.value).where(COUNTERS.c.name == name))


def next_comment_id(context):
    return take(context.connection, COMMENT_IDS)


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        # Serves newest-first pages and keyset cursors: ORDER BY posted DESC, id DESC.
        sa.Index("ix_comments_posted_id", "posted", "id"),
        # Serves the poll's question "what changed since revision N?".
        sa.Index("ix_comments_revision", "revision"),
        {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"},
    )

    # Ids come from the counter, not the database's auto-increment: in commit order, never reused.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=next_comment_id)
    content: Mapped[str] = mapped_column(sa.String(CONTENT_MAX))
    author: Mapped[str | None] = mapped_column(sa.String(AUTHOR_MAX))
    posted: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    edited: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(sa.String(16), default=VISIBLE, server_default=VISIBLE)
    # The revision of its last edit, hide, unhide or delete (counter REVISIONS): open boards ask
    # for the changes after the revision they last saw.
    revision: Mapped[int | None] = mapped_column(sa.BigInteger)
    # SHA-256 of the poster's author key (board/authors.py); never exported, never shown.
    author_key: Mapped[str | None] = mapped_column(sa.String(64))

    def __repr__(self):
        return f"<Comment {self.id} by {display_name(self.author)}>"


class Purged(db.Model):
    """What stays of a purged comment: its id and the revision of the purge, so that open boards
    remove it at their next poll as they would a deleted one."""

    __tablename__ = "purged"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(sa.BigInteger, index=True)


# The table itself, for Core statements (no per-row ORM bookkeeping) in reads and transfers.
TABLE = Comment.__table__


class Refused(Exception):
    """A step that cannot be taken: an unknown id, or a state the verb does not apply to."""


def add(author, content, author_key=None):
    comment = Comment(author=author or None, content=content, author_key=author_key)
    db.session.add(comment)
    db.session.commit()
    return comment


def change(comment, **values):
    """Edit, hide, unhide or delete, with a new revision so that open boards pick it up."""
    for name, value in values.items():
        setattr(comment, name, value)
    comment.revision = take(db.session.connection(), REVISIONS)
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
    """Remove the row itself, whatever its state; open boards remove it at their next poll."""
    if db.session.execute(sa.delete(TABLE).where(TABLE.c.id == comment_id)).rowcount == 0:
        db.session.rollback()
        raise Refused(f"there is no comment {comment_id}")
    db.session.add(Purged(id=comment_id, revision=take(db.session.connection(), REVISIONS)))
    db.session.commit()


def advance_ids(highest):
    """After comments were stored with their own ids (an import), make sure new ones come after."""
    db.session.execute(sa.update(COUNTERS).where(COUNTERS.c.name == COMMENT_IDS,
                                                 COUNTERS.c.value < highest).values(value=highest))
