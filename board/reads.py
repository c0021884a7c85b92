"""The reads: board pages, the poll, the moderator's and the CLI's listings, one comment. Each is
one indexed statement; rows come from Core selects, not ORM objects (cheaper per row)."""

import threading
import time
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

from .extensions import db
from .boards import FIELDS as BOARD_FIELDS
from .boards import Unsaved
from .models import BOARDS, COMMENT_IDS, COUNTERS, DECISIONS, REVISIONS, TABLE, Comment, Purged
from .rules import DELETED, HELD, HIDDEN, ID_MAX, OPEN, VISIBLE


class Page(NamedTuple):
    comments: list  # threads' first comments, newest first
    older: int | None = None  # cursor for the next older page, None when this is the last
    since: int | None = None  # the newest page's change cursor: the revision it shows changes up to
    after: int | None = None  # the newest page's id cursor: the last id stored when it was read
    replies: dict = {}  # thread id: its first replies, oldest first
    board: object = None  # the board's row (boards.FIELDS), an Unsaved board, or None: no board

    def more(self, thread):
        """How many of the thread's visible replies this page does not show."""
        return max(0, thread.replies - len(self.replies.get(thread.id, ())))


class Poll(NamedTuple):
    comments: list  # new since the cursor, newest first
    changes: list  # up to `after`, since edited, hidden, unhidden, deleted or purged
    after: int  # the advanced cursors for the next poll
    since: int
    behind: bool = False  # more changes than one poll carries: the board should reload
    idle: bool = False  # the board was up to date: nothing to show, the cursors stay


class Newest(NamedTuple):
    """A board's newest comment id and newest revision (Board.last_id, last_revision)."""
    last_id: int = 0
    last_revision: int = 0

    def seen_by(self, after, since):
        return after >= self.last_id and since >= self.last_revision

    def latest(self, other):
        return Newest(max(self.last_id, other.last_id), max(self.last_revision, other.last_revision))


class Thread(NamedTuple):
    """A thread's first comment and a run of its replies, for its own page and "Show more"."""
    first: object
    replies: list
    more: int  # visible replies after this run
    earlier: bool = False  # the run starts after the thread's first replies


# A thread on a board page shows its first few replies; "Show N more replies" loads the rest,
# up to REPLIES_PAGE at a time.
REPLIES_SHOWN = 3
REPLIES_PAGE = 100
# Counting what is left of a thread reads at most this many index entries.
REPLIES_COUNTED_MAX = 10_000

PARENT = TABLE.alias("parent")
# The name a reply answers ("in reply to ..."): a primary-key lookup per reply, in the statement.
PARENT_AUTHOR = (sa.select(PARENT.c.author).where(PARENT.c.id == TABLE.c.parent_id)
                 .scalar_subquery().label("parent_author"))
# What the comment partial shows (author_key only to tell its author's browser).
COLUMNS = (Comment.id, Comment.author, Comment.content, Comment.posted, Comment.edited,
           Comment.state, Comment.author_key, Comment.parent_id, Comment.thread_id,
           Comment.replies, Comment.html, Comment.board_id, PARENT_AUTHOR)
# What the moderator's rows show besides: the slug of the comment's board (a lookup by id).
MODERATED = COLUMNS + (sa.select(BOARDS.c.slug).where(BOARDS.c.id == TABLE.c.board_id)
                       .scalar_subquery().label("board_slug"),)
# The board's fields beside a page's rows, named board_<field>: the page reads its board in the
# statement that reads its threads (a join on one row by its unique slug).
BOARD_COLUMNS = tuple(column.label(f"board_{column.key}") for column in BOARD_FIELDS)


def counter(name):
    return sa.select(COUNTERS.c.value).where(COUNTERS.c.name == name).scalar_subquery()


# The counters, read in the same statement (and so the same snapshot) as the rows: the poll
# starts from the last id and revision committed when the page was read.
LATEST_REVISION, LATEST_ID = counter(REVISIONS), counter(COMMENT_IDS)
# A thread is listed while its first comment is visible, or has visible replies (it then
# shows as removed, above them).
THREADS = sa.select(*COLUMNS).where(
    Comment.thread_id.is_(None), sa.or_(Comment.state == VISIBLE, Comment.replies > 0))
NEWEST_FIRST = (Comment.posted.desc(), Comment.id.desc())
OLDEST_FIRST = (Comment.posted, Comment.id)
# Changes one poll may carry. A board further behind than this (a tab asleep through a big
# moderation sweep, or a made-up cursor) is told to reload: one page costs less than the changes,
# and no answer grows past `limit` new comments and this many changes.
CHANGES_MAX = 100
# What `flask board list` shows, and which states `--hidden` means.
LISTINGS = {False: (VISIBLE,), True: (HIDDEN, DELETED)}
# The moderator page's filters: the states each shows (None: every state).
MODERATION_FILTERS = {"held": (HELD,), "all": None, "visible": (VISIBLE,), "hidden": (HIDDEN,),
                      "deleted": (DELETED,)}


def _page(statement, limit, order=NEWEST_FIRST):
    rows = db.session.execute(statement.order_by(*order).limit(limit + 1)).all()
    older = rows[limit - 1].id if len(rows) > limit else None
    page = Page(rows[:limit], older)
    if rows and "board_key" in rows[0]._fields:
        page = page._replace(board=Unsaved(**{column.key: rows[0]._mapping[f"board_{column.key}"]
                                              for column in BOARD_FIELDS}))
    return page


def board_id(slug):
    return sa.select(BOARDS.c.id).where(BOARDS.c.slug == slug).scalar_subquery()


# A board's threads, newest first, in the order of ix_comments_board_thread_posted_id read
# backwards: the board's id is a value (a subquery run first, not a join), and thread_id, NULL
# in every row, leads the ORDER BY, so that PostgreSQL reads 51 index entries for a page
# however many threads the board has (it sorted all of them otherwise; docs/benchmarks.md).
BOARD_NEWEST_FIRST = (Comment.thread_id.desc(), *NEWEST_FIRST)


def board_threads(slug):
    """The listed threads of board `slug`, with the board's fields."""
    return (THREADS.add_columns(*BOARD_COLUMNS)
            .join_from(TABLE, BOARDS, BOARDS.c.id == TABLE.c.board_id)
            .where(TABLE.c.board_id == board_id(slug), BOARDS.c.slug == slug))


# Built once: a kept page (the board, an older page) costs this one statement, and building it
# each time cost about as much as running it (docs/benchmarks.md).
BOARD_BY_SLUG = sa.select(*BOARD_FIELDS).where(BOARDS.c.slug == sa.bindparam("slug"))


def board_alone(slug):
    """The board `slug`, or None when there is none: what a page reads when it has no thread
    to read it with."""
    row = db.session.connection().execute(BOARD_BY_SLUG, {"slug": slug}).first()
    return None if row is None else Unsaved(**row._mapping)


def first_replies(threads):
    """The first REPLIES_SHOWN visible replies of each thread that has any, in one statement
    whatever the threads' sizes: one short index range per thread."""
    parts = [sa.select(*COLUMNS).where(Comment.thread_id == thread.id, Comment.state == VISIBLE)
             .order_by(*OLDEST_FIRST).limit(REPLIES_SHOWN)
             for thread in threads if thread.replies]
    if not parts:
        return {}
    if len(parts) == 1:
        statement = parts[0]
    elif db.session.get_bind().dialect.name == "sqlite":
        # SQLite takes no parentheses around a compound's parts: each LIMIT goes in a subquery.
        statement = sa.union_all(*(sa.select(part.subquery()) for part in parts))
    else:
        # (SELECT ... LIMIT 3) UNION ALL (...): as subqueries, MariaDB would write each part,
        # TEXT columns and all, to a temporary table on disk (bench/, docs/benchmarks.md).
        statement = sa.union_all(*parts)
    replies = {}
    for row in sorted(db.session.execute(statement), key=lambda row: (row.posted, row.id)):
        replies.setdefault(row.thread_id, []).append(row)
    return replies


def with_replies(page):
    return page._replace(replies=first_replies(page.comments))


def newest(slug, limit):
    """The first page of board `slug`: its threads, their first replies, the board, and the
    cursors its poll starts from: the board's newest id and revision, read with its threads, so
    that every tab of a board that is up to date polls the same URL. Two statements; an empty
    board reads the board on its own instead."""
    page = _page(board_threads(slug), limit, BOARD_NEWEST_FIRST)
    page = with_replies(page) if page.board else page._replace(board=board_alone(slug))
    newest = Newest(page.board.last_id, page.board.last_revision) if page.board else Newest()
    return page._replace(after=newest.last_id, since=newest.last_revision)


def before(comment_id):
    """Keyset condition: after `comment_id` in newest-first order, in the same statement.

    `posted <= cursor` bounds the index range on every database; the OR only breaks ties.
    An unknown cursor matches nothing.
    """
    cursor = sa.select(Comment.posted).where(Comment.id == comment_id).scalar_subquery()
    return sa.and_(Comment.posted <= cursor,
                   sa.or_(Comment.posted < cursor, Comment.id < comment_id))


def later_in_thread(comment_id, inclusive=False):
    """Keyset condition: after `comment_id` in conversation order (oldest first)."""
    cursor = sa.select(Comment.posted).where(Comment.id == comment_id).scalar_subquery()
    tie = Comment.id >= comment_id if inclusive else Comment.id > comment_id
    return sa.and_(Comment.posted >= cursor, sa.or_(Comment.posted > cursor, tie))


def page_before(slug, comment_id, limit):
    """Board `slug`'s threads after `comment_id` in newest-first order (keyset on (posted, id)),
    with their first replies and the board, or its first page when `comment_id` is None."""
    if comment_id is None:
        return newest(slug, limit)
    page = _page(board_threads(slug).where(before(comment_id)), limit, BOARD_NEWEST_FIRST)
    if page.board is None:
        page = page._replace(board=board_alone(slug))
    return with_replies(page)


def _replies(thread_id, condition, limit):
    statement = sa.select(*COLUMNS).where(Comment.thread_id == thread_id,
                                          Comment.state == VISIBLE)
    if condition is not None:
        statement = statement.where(condition)
    rows = db.session.execute(statement.order_by(*OLDEST_FIRST).limit(limit + 1)).all()
    if len(rows) <= limit:
        return rows, 0
    left = (sa.select(Comment.id).where(Comment.thread_id == thread_id, Comment.state == VISIBLE,
                                        later_in_thread(rows[limit - 1].id))
            .limit(REPLIES_COUNTED_MAX).subquery())
    return rows[:limit], db.session.scalar(sa.select(sa.func.count()).select_from(left))


def replies_after(thread_id, comment_id, limit=REPLIES_PAGE):
    """Up to `limit` visible replies of the thread after reply `comment_id` (from the start when
    None), oldest first, and how many more there are."""
    return _replies(thread_id, comment_id and later_in_thread(comment_id), limit)


def thread(comment_id, after=None):
    """The thread that comment `comment_id` belongs to, for its own page: the first comment and
    a run of replies: from the start, or from reply `after` on, or when `comment_id` is a reply
    beyond the first run, from that reply. None when there is nothing to show: the comment does
    not exist, is a reply that is not visible, or starts a thread with nothing visible left."""
    comment = find(comment_id)
    if comment is None or (comment.thread_id is not None and comment.state != VISIBLE):
        return None
    first = comment if comment.thread_id is None else find(comment.thread_id)
    if first is None or (first.state != VISIBLE and not first.replies):
        return None
    replies, more = replies_after(first.id, after)
    earlier = after is not None
    if comment is not first and all(reply.id != comment.id for reply in replies):
        replies, more = _replies(first.id, later_in_thread(comment.id, inclusive=True),
                                 REPLIES_PAGE)
        earlier = True
    return Thread(first, replies, more, earlier)


def for_moderation(comment_id, limit, show="all", search=None):
    """Comments in the states `show` names (MODERATION_FILTERS), newest first, from `comment_id`
    on when given; with `search`, only those whose text or author holds it, in any case. (A
    search reads every row in the range it looks at: a moderator's tool, not a page view.)"""
    statement = sa.select(*MODERATED)
    if MODERATION_FILTERS[show] is not None:
        statement = statement.where(Comment.state.in_(MODERATION_FILTERS[show]))
    if search:
        statement = statement.where(sa.or_(Comment.content.icontains(search, autoescape=True),
                                           Comment.author.icontains(search, autoescape=True)))
    if comment_id is not None:
        statement = statement.where(before(comment_id))
    return _page(statement, limit)


def visible_before(comment_id, limit):
    """Every visible comment, threads' first comments and replies alike, newest first, after
    `comment_id` (keyset on (posted, id)), or from the newest when it is None: the API's pages."""
    statement = sa.select(*COLUMNS).where(Comment.state == VISIBLE)
    if comment_id is not None:
        statement = statement.where(before(comment_id))
    return _page(statement, limit)


def several(comment_ids):
    """These comments, whatever their state, newest first."""
    return db.session.execute(sa.select(*MODERATED).where(Comment.id.in_(comment_ids))
                              .order_by(*NEWEST_FIRST)).all()


def moderated(comment_id):
    """One comment as the moderator's page shows it, whatever its state, or None."""
    return db.session.execute(sa.select(*MODERATED).where(Comment.id == comment_id)).first()


# "After id N" means one thing everywhere: the comments stored after N, the `limit` oldest of
# them. Ids are handed out in commit order (models.Counter), so a reader that sees id N has
# seen every id below it: nothing committed later can land behind a cursor. The API returns
# them oldest first; the poll shows them on top, newest first.
_CORE_COLUMNS = [TABLE.c[column.key] for column in COLUMNS[:-1]] + [PARENT_AUTHOR]
_AFTER = sa.bindparam("after", type_=sa.Integer)
_SINCE = sa.bindparam("since", type_=sa.BigInteger)
_LIMIT = sa.bindparam("limit", type_=sa.Integer)
NEWER = (sa.select(*_CORE_COLUMNS).where(TABLE.c.state == VISIBLE, TABLE.c.id > _AFTER)
         .order_by(TABLE.c.id).limit(_LIMIT))
# The poll's board, by the slug in its URL: one lookup of the unique slug, in the statement.
_BOARD = (sa.select(BOARDS.c.id).where(BOARDS.c.slug == sa.bindparam("slug", type_=sa.String))
          .scalar_subquery())


def newer_than(comment_id, limit):
    """The `limit` oldest visible comments stored after `comment_id`, oldest first."""
    return db.session.execute(NEWER, {"after": comment_id, "limit": limit}).all()


# The poll's statement, built once (a poll only binds values and finds the compiled SQL in the
# cache): new comments, then comments up to `after` changed after revision `since`, then purged
# ones, as rows of the same shape, each part one index range. Revisions, like ids, are handed
# out in commit order, so a change cannot commit behind the cursor either.
_CHANGED = (sa.select(*_CORE_COLUMNS, TABLE.c.revision)
            .where(TABLE.c.board_id == _BOARD, TABLE.c.revision > _SINCE, TABLE.c.id <= _AFTER)
            .order_by(TABLE.c.revision).limit(CHANGES_MAX).subquery())
_PURGED_TABLE = Purged.__table__
_PURGED = (sa.select(_PURGED_TABLE.c.id,
                     *(sa.literal(DELETED).label("state") if column.key == "state"
                       else sa.cast(sa.null(), column.type).label(column.key)
                       for column in _CORE_COLUMNS[1:]),
                     _PURGED_TABLE.c.revision)
           .where(_PURGED_TABLE.c.board_id == _BOARD, _PURGED_TABLE.c.revision > _SINCE,
                  _PURGED_TABLE.c.id <= _AFTER)
           .order_by(_PURGED_TABLE.c.revision).limit(CHANGES_MAX).subquery())
# Each part is one range of an index that starts with the board (ix_comments_board_id,
# ix_comments_board_revision, ix_purged_board_revision): what other boards do costs nothing.
POLL = sa.union_all(sa.select(NEWER.where(TABLE.c.board_id == _BOARD)
                              .add_columns(sa.cast(sa.null(), sa.BigInteger).label("revision"))
                              .subquery()),
                    sa.select(_CHANGED), sa.select(_PURGED))


NEWEST = sa.select(BOARDS.c.last_id, BOARDS.c.last_revision).where(
    BOARDS.c.slug == sa.bindparam("slug", type_=sa.String))


def newest_on(slug):
    """Board `slug`'s newest id and revision (one row by its unique slug); None: no such board."""
    row = db.session.execute(NEWEST, {"slug": slug}).first()
    return None if row is None else Newest(*row)


def poll(slug, after, since, limit):
    """What an open board `slug` has not seen: its comments stored after id `after` (the `limit`
    oldest of them; the rest come next poll), and its comments up to `after` changed or purged
    after revision `since` (None: from now on). A board that is up to date is told so by its
    newest id and revision alone, which each worker keeps for up to BOARD_POLL_FRESH_SECONDS
    (board_versions); one that is not is read in one more statement."""
    versions = board_versions()
    newest = versions.newest(slug)
    since = newest.last_revision if since is None else since
    if newest.seen_by(after, since):
        return Poll([], [], after, since, idle=True)
    if versions.fresh > 0:
        # The cursors jump to the board's newest as this request's reads see it, never further:
        # a worker's map may be newer than what they see (SQLite keeps the snapshot of a
        # transaction's first read), and a jump past what the poll below can see would skip it.
        newest = newest_on(slug) or Newest()
    rows = db.session.execute(POLL, {"slug": slug, "after": after, "since": since,
                                     "limit": limit}).all()
    comments = sorted((row for row in rows if row.id > after),
                      key=lambda row: (row.posted, row.id), reverse=True)
    changes = sorted((row for row in rows if row.id <= after), key=lambda row: row.revision)
    # Each part (edits and removals; purges, whose rows have no time) stops at CHANGES_MAX.
    behind = any(sum((row.posted is None) == purged for row in changes) >= CHANGES_MAX
                 for purged in (False, True))
    next_after = max((row.id for row in comments), default=after)
    next_since = max((row.revision for row in changes), default=since)
    # Everything up to the board's newest is read (held comments' ids too, whose approval comes
    # as a change): the cursors jump there, the same for every tab that is up to date. Not the
    # change cursor while new comments came: a page that shows one already (its author's, from
    # the post's answer) keeps its copy, so a change to it must still come as a change.
    if len(comments) < limit:
        next_after = max(next_after, newest.last_id)
    if not comments and not behind:
        next_since = max(next_since, newest.last_revision)
    return Poll(comments, changes, next_after, next_since, behind)


class BoardVersions:
    """One worker's knowledge of boards' newest ids and revisions, so that an idle poll needs no
    database: at most once every `fresh` seconds one statement asks which boards changed since
    the worker last looked (by the counters, which are handed out in commit order); a board it
    has not met yet is read once. With `fresh` 0 every poll reads its board's row (behind nginx,
    whose one-second cache is then the only wait)."""

    def __init__(self, fresh):
        self.fresh = fresh
        self.boards = {}
        self.seen = Newest(ID_MAX, 2**63 - 1)  # the first look reads only the counters
        self.looked = -float("inf")
        self.lock = threading.Lock()

    def newest(self, slug):
        if self.fresh <= 0:
            return newest_on(slug) or Newest()
        if time.monotonic() - self.looked >= self.fresh:
            self.look()
        known = self.boards.get(slug)
        if known is None:
            found = newest_on(slug)
            if found is None:  # no such board (yet): asked again next time
                return Newest()
            known = self.learn(slug, found)
        return known

    def learn(self, slug, newest):
        # A board only grows: of two reads in flight, the later one wins.
        with self.lock:
            known = self.boards[slug] = self.boards.get(slug, newest).latest(newest)
        return known

    def look(self):
        with self.lock:
            if time.monotonic() - self.looked < self.fresh:
                return  # another thread just looked
            rows = db.session.execute(CHANGED_BOARDS, self.seen._asdict()).all()
            for slug, last_id, last_revision in rows:
                if slug is None:
                    self.seen = Newest(last_id, last_revision)
                elif slug in self.boards:
                    self.boards[slug] = self.boards[slug].latest(Newest(last_id, last_revision))
            self.looked = time.monotonic()


# The boards changed since a worker last looked, and the counters of that moment (the row with
# no slug), in one statement: one snapshot. Each side is one range of an index on boards.
CHANGED_BOARDS = sa.union_all(
    sa.select(sa.null().label("slug"), LATEST_ID, LATEST_REVISION),
    sa.select(BOARDS.c.slug, BOARDS.c.last_id, BOARDS.c.last_revision).where(
        sa.or_(BOARDS.c.last_id > sa.bindparam("last_id", type_=sa.Integer),
               BOARDS.c.last_revision > sa.bindparam("last_revision", type_=sa.BigInteger))))


def board_versions():
    """This app's BoardVersions (one per worker process)."""
    versions = current_app.extensions.get("board_versions")
    if versions is None:
        versions = current_app.extensions.setdefault(
            "board_versions", BoardVersions(current_app.config["BOARD_POLL_FRESH_SECONDS"]))
    return versions


def visible(comment_id):
    """The comment with this id when it is shown on the board, else None."""
    comment = db.session.get(Comment, comment_id)
    return comment if comment is not None and comment.state == VISIBLE else None


def latest_by(author_key, content, since, parent_id=None, slug=None):
    """The newest comment that the person with `author_key` posted with exactly this content,
    in reply to `parent_id`, at `since` or later, held for a moderator or not, else None: what a
    suppressed double submit answers with. The time bound keeps it to a short range of the
    (posted, id) index, and the post limit keeps a person's comments in it few."""
    rows = db.session.execute(
        sa.select(*COLUMNS)
        .where(Comment.posted >= since, Comment.author_key == author_key,
               Comment.content == content, Comment.state.in_((VISIBLE, HELD)),
               Comment.parent_id == parent_id if parent_id else Comment.parent_id.is_(None),
               sa.true() if slug is None or parent_id else Comment.board_id == sa.select(BOARDS.c.id)
               .where(BOARDS.c.slug == slug).scalar_subquery())
        .order_by(*NEWEST_FIRST).limit(10)).all()
    # MySQL/MariaDB compare text without regard to case: only the very same text will do.
    return next((row for row in rows if row.content == content), None)


def held(comment_ids, board_id):
    """Of these comments, those still held on board `board_id`, oldest first: what their author
    sees of them (authors.held_here)."""
    return db.session.execute(sa.select(*COLUMNS).where(
        Comment.id.in_(comment_ids), Comment.state == HELD, Comment.board_id == board_id)
        .order_by(*OLDEST_FIRST)).all()


def decisions(comment_ids):
    """{comment id: its decisions, oldest first} for these comments, in one statement."""
    found = {}
    if comment_ids:
        for row in db.session.execute(sa.select(DECISIONS).where(
                DECISIONS.c.comment_id.in_(comment_ids)).order_by(DECISIONS.c.id)):
            found.setdefault(row.comment_id, []).append(row)
    return found


def queue(limit):
    """Held comments, oldest first (the moderator's queue), and how many wait in all."""
    rows = db.session.execute(sa.select(*MODERATED).where(Comment.state == HELD)
                              .order_by(*OLDEST_FIRST).limit(limit)).all()
    return rows, waiting()


def waiting():
    return db.session.scalar(sa.select(sa.func.count()).select_from(TABLE)
                             .where(TABLE.c.state == HELD))


def recent(comment_id, limit):
    """The newest visible comments on open boards, each with its board's slug and title, after
    `comment_id` (keyset on (posted, id)): /recent and its feed."""
    statement = (sa.select(*COLUMNS, BOARDS.c.slug.label("board_slug"),
                           BOARDS.c.title.label("board_title"))
                 .join_from(TABLE, BOARDS, BOARDS.c.id == TABLE.c.board_id)
                 .where(Comment.state == VISIBLE, BOARDS.c.state == OPEN))
    if comment_id is not None:
        statement = statement.where(before(comment_id))
    return _page(statement, limit)


def board_feed(board_id, limit):
    """A board's newest visible comments, replies too, newest stored first: one range of
    ix_comments_board_id, read backwards."""
    return db.session.execute(sa.select(*COLUMNS).where(Comment.board_id == board_id,
                                                        Comment.state == VISIBLE)
                              .order_by(Comment.id.desc()).limit(limit)).all()


def listing(hidden, limit):
    """The newest `limit` visible comments, or hidden and deleted ones; one more tells of more."""
    statement = sa.select(*COLUMNS).where(Comment.state.in_(LISTINGS[hidden]))
    return db.session.execute(statement.order_by(*NEWEST_FIRST).limit(limit + 1)).all()


def count_comments():
    return db.session.scalar(sa.select(sa.func.count()).select_from(TABLE))


def find(comment_id):
    """One comment, whatever its state, or None."""
    return db.session.execute(sa.select(*COLUMNS).where(Comment.id == comment_id)).first()
