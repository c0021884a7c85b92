"""The reads: board pages, the poll, the moderator's and the CLI's listings, one comment. Each is
one indexed statement; rows come from Core selects, not ORM objects (cheaper per row)."""

from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa

from .extensions import db
from . import models
from .models import TABLE, Comment, UTCDateTime
from .rules import DELETED, HIDDEN, VISIBLE, from_millis, to_millis


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


# What the comment partial shows.
COLUMNS = (Comment.id, Comment.author, Comment.content, Comment.posted, Comment.edited,
           Comment.state)
LISTED = sa.select(*COLUMNS).where(Comment.state == VISIBLE)
NEWEST_FIRST = (Comment.posted.desc(), Comment.id.desc())
# A change committed just after a poll read its snapshot may carry an earlier `changed`: each
# poll looks this far back, and repeats of a change are harmless.
CHANGE_OVERLAP = timedelta(seconds=10)
CHANGES_MAX = 500  # per poll; a bigger moderation sweep shows fully on the next page load
# What `flask board list` shows, and which states `--hidden` means.
LISTINGS = {False: (VISIBLE,), True: (HIDDEN, DELETED)}


def poll_since():
    """The `since` cursor a freshly rendered board starts polling from."""
    return to_millis(models.clock() - CHANGE_OVERLAP)


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


def page_before(comment_id, limit):
    """The page after `comment_id` in newest-first order (one query, keyset on (posted, id)),
    or the first page when it is None."""
    if comment_id is None:
        return newest(limit)
    return _page(LISTED.where(before(comment_id)), limit)


def for_moderation(comment_id, limit):
    """Every comment, whatever its state, newest first; from `comment_id` on when given."""
    statement = sa.select(*COLUMNS)
    if comment_id is not None:
        statement = statement.where(before(comment_id))
    return _page(statement, limit)


# "After id N" means one thing everywhere: the comments stored after N, the `limit` oldest of
# them. The API returns them oldest first; the poll shows them on top, newest first.
_CORE_COLUMNS = [TABLE.c[column.key] for column in COLUMNS]
_AFTER = sa.bindparam("after", type_=sa.Integer)
_LIMIT = sa.bindparam("limit", type_=sa.Integer)
NEWER = (sa.select(*_CORE_COLUMNS).where(TABLE.c.state == VISIBLE, TABLE.c.id > _AFTER)
         .order_by(TABLE.c.id).limit(_LIMIT))


def newer_than(comment_id, limit):
    """The `limit` oldest visible comments stored after `comment_id`, oldest first."""
    return db.session.execute(NEWER, {"after": comment_id, "limit": limit}).all()


# The poll's statement, built once: Core columns and bound parameters, so a poll only binds
# values and finds the compiled SQL in the cache (no statement building per request).
_CHANGED = (sa.select(*_CORE_COLUMNS)
            .where(TABLE.c.changed > sa.bindparam("since", type_=UTCDateTime()),
                   TABLE.c.id <= _AFTER)
            .order_by(TABLE.c.changed).limit(CHANGES_MAX).subquery())
POLL = sa.union_all(sa.select(NEWER.subquery()), sa.select(_CHANGED))


def poll(after, since, limit):
    """What an open board has not seen, in one statement of two index lookups: comments stored
    after id `after` (the `limit` oldest of them; the rest come next poll), and comments up to
    `after` changed since `since` (milliseconds)."""
    now = models.clock()
    values = {"after": after, "since": from_millis(since), "limit": limit}
    rows = db.session.execute(POLL, values).all()
    comments = sorted((row for row in rows if row.id > after),
                      key=lambda row: (row.posted, row.id), reverse=True)
    changes = [row for row in rows if row.id <= after]
    return Poll(comments, changes, max((row.id for row in comments), default=after),
                to_millis(now - CHANGE_OVERLAP))


def visible(comment_id):
    """The comment with this id when it is shown on the board, else None."""
    comment = db.session.get(Comment, comment_id)
    return comment if comment is not None and comment.state == VISIBLE else None


def listing(hidden, limit):
    """The newest `limit` visible comments, or hidden and deleted ones; one more tells of more."""
    statement = sa.select(*COLUMNS).where(Comment.state.in_(LISTINGS[hidden]))
    return db.session.execute(statement.order_by(*NEWEST_FIRST).limit(limit + 1)).all()


def count_comments():
    return db.session.scalar(sa.select(sa.func.count()).select_from(TABLE))


def find(comment_id):
    """One comment, whatever its state, or None."""
    return db.session.execute(sa.select(*COLUMNS).where(Comment.id == comment_id)).first()
