"""The reads: board pages, the poll, the moderator's and the CLI's listings, one comment. Each is
one indexed statement; rows come from Core selects, not ORM objects (cheaper per row)."""

from typing import NamedTuple

import sqlalchemy as sa

from .extensions import db
from .models import COUNTERS, REVISIONS, TABLE, Comment, Purged
from .rules import DELETED, HIDDEN, VISIBLE


class Page(NamedTuple):
    comments: list
    older: int | None = None  # cursor for the next older page, None when this is the last
    since: int | None = None  # the newest page's change cursor: the revision it shows changes up to

    @property
    def newest_id(self):
        """The poll's cursor: the highest id on this page (0 for none)."""
        return max((comment.id for comment in self.comments), default=0)


class Poll(NamedTuple):
    comments: list  # new since the cursor, newest first
    changes: list  # up to `after`, since edited, hidden, unhidden, deleted or purged
    after: int  # the advanced cursors for the next poll
    since: int
    behind: bool = False  # more changes than one poll carries: the board should reload


# What the comment partial shows (author_key only to tell its author's browser).
COLUMNS = (Comment.id, Comment.author, Comment.content, Comment.posted, Comment.edited,
           Comment.state, Comment.author_key)
# The revisions counter, read in the same statement (and so the same snapshot) as the rows.
LATEST_REVISION = (sa.select(COUNTERS.c.value).where(COUNTERS.c.name == REVISIONS)
                   .scalar_subquery())
LISTED = sa.select(*COLUMNS, LATEST_REVISION.label("since")).where(Comment.state == VISIBLE)
NEWEST_FIRST = (Comment.posted.desc(), Comment.id.desc())
# Changes one poll may carry. A board further behind than this (a tab asleep through a big
# moderation sweep, or a made-up cursor) is told to reload: one page costs less than the changes,
# and no answer grows past `limit` new comments and this many changes.
CHANGES_MAX = 100
# What `flask board list` shows, and which states `--hidden` means.
LISTINGS = {False: (VISIBLE,), True: (HIDDEN, DELETED)}


def latest_revision():
    return db.session.scalar(LATEST_REVISION.element)


def _page(statement, limit):
    rows = db.session.execute(statement.order_by(*NEWEST_FIRST).limit(limit + 1)).all()
    older = rows[limit - 1].id if len(rows) > limit else None
    return Page(rows[:limit], older, rows[0].since if rows and "since" in rows[0]._fields else None)


def newest(limit):
    """The first page of the board, with the revision its poll starts from. An empty board reads
    the counter on its own: one more statement, only when there is nothing to show."""
    page = _page(LISTED, limit)
    return page if page.since is not None else page._replace(since=latest_revision())


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
# them. Ids are handed out in commit order (models.Counter), so a reader that sees id N has
# seen every id below it: nothing committed later can land behind a cursor. The API returns
# them oldest first; the poll shows them on top, newest first.
_CORE_COLUMNS = [TABLE.c[column.key] for column in COLUMNS]
_AFTER = sa.bindparam("after", type_=sa.Integer)
_SINCE = sa.bindparam("since", type_=sa.BigInteger)
_LIMIT = sa.bindparam("limit", type_=sa.Integer)
NEWER = (sa.select(*_CORE_COLUMNS).where(TABLE.c.state == VISIBLE, TABLE.c.id > _AFTER)
         .order_by(TABLE.c.id).limit(_LIMIT))


def newer_than(comment_id, limit):
    """The `limit` oldest visible comments stored after `comment_id`, oldest first."""
    return db.session.execute(NEWER, {"after": comment_id, "limit": limit}).all()


# The poll's statement, built once (a poll only binds values and finds the compiled SQL in the
# cache): new comments, then comments up to `after` changed after revision `since`, then purged
# ones, as rows of the same shape, each part one index range. Revisions, like ids, are handed
# out in commit order, so a change cannot commit behind the cursor either.
_CHANGED = (sa.select(*_CORE_COLUMNS, TABLE.c.revision)
            .where(TABLE.c.revision > _SINCE, TABLE.c.id <= _AFTER)
            .order_by(TABLE.c.revision).limit(CHANGES_MAX).subquery())
_PURGED_TABLE = Purged.__table__
_PURGED = (sa.select(_PURGED_TABLE.c.id,
                     *(sa.cast(sa.null(), column.type).label(column.key) for column in COLUMNS[1:5]),
                     sa.literal(DELETED).label("state"),
                     sa.cast(sa.null(), TABLE.c.author_key.type).label("author_key"),
                     _PURGED_TABLE.c.revision)
           .where(_PURGED_TABLE.c.revision > _SINCE, _PURGED_TABLE.c.id <= _AFTER)
           .order_by(_PURGED_TABLE.c.revision).limit(CHANGES_MAX).subquery())
POLL = sa.union_all(sa.select(NEWER.add_columns(sa.cast(sa.null(), sa.BigInteger).label("revision"))
                              .subquery()),
                    sa.select(_CHANGED), sa.select(_PURGED))


def poll(after, since, limit):
    """What an open board has not seen, in one statement: comments stored after id `after` (the
    `limit` oldest of them; the rest come next poll), and comments up to `after` changed or
    purged after revision `since`."""
    rows = db.session.execute(POLL, {"after": after, "since": since, "limit": limit}).all()
    comments = sorted((row for row in rows if row.id > after),
                      key=lambda row: (row.posted, row.id), reverse=True)
    changes = sorted((row for row in rows if row.id <= after), key=lambda row: row.revision)
    # Each part (edits and removals; purges, whose rows have no time) stops at CHANGES_MAX.
    behind = any(sum((row.posted is None) == purged for row in changes) >= CHANGES_MAX
                 for purged in (False, True))
    return Poll(comments, changes, max((row.id for row in comments), default=after),
                max((row.revision for row in changes), default=since), behind)


def visible(comment_id):
    """The comment with this id when it is shown on the board, else None."""
    comment = db.session.get(Comment, comment_id)
    return comment if comment is not None and comment.state == VISIBLE else None


def latest_by(author_key, content, since):
    """The newest visible comment that the person with `author_key` posted with exactly this
    content at `since` or later, else None: what a suppressed double submit answers with. The
    time bound keeps it to a short range of the (posted, id) index, and the post limit keeps a
    person's comments in it few."""
    rows = db.session.execute(
        sa.select(*COLUMNS)
        .where(Comment.posted >= since, Comment.author_key == author_key,
               Comment.content == content, Comment.state == VISIBLE)
        .order_by(*NEWEST_FIRST).limit(10)).all()
    # MySQL/MariaDB compare text without regard to case: only the very same text will do.
    return next((row for row in rows if row.content == content), None)


def listing(hidden, limit):
    """The newest `limit` visible comments, or hidden and deleted ones; one more tells of more."""
    statement = sa.select(*COLUMNS).where(Comment.state.in_(LISTINGS[hidden]))
    return db.session.execute(statement.order_by(*NEWEST_FIRST).limit(limit + 1)).all()


def count_comments():
    return db.session.scalar(sa.select(sa.func.count()).select_from(TABLE))


def find(comment_id):
    """One comment, whatever its state, or None."""
    return db.session.execute(sa.select(*COLUMNS).where(Comment.id == comment_id)).first()
