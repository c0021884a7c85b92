"""The Board and the Comment: their tables, and the writes that change a comment's state (and so
its thread's reply count and its board's count)."""

import json
from datetime import datetime, timezone
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from . import markup
from .extensions import db
from .rules import (ARCHIVED, ARCHIVED_MESSAGE, AUTHOR_MAX, BOARD_STATES, CLOSED_MESSAGE,
                    CONTENT_MAX, HELD, KEY_MAX, N_, OPEN, PARENT_GONE, SLUG_MAX, TITLE_MAX,
                    VERBS, VISIBLE, display_name)


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


# Rendered HTML can be several times longer than its source (a "<" is "&lt;"): MEDIUMTEXT on
# MySQL/MariaDB, whose TEXT holds only 64 KiB.
HTML_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class Counter(db.Model):
    """Numbers handed out in commit order. Taking one locks its row until the transaction ends,
    so a transaction that took a higher number commits after every one that took a lower one:
    a reader that sees number N has seen every number below it. Ids and revisions come from
    here; a number is never handed out twice, so ids are never reused.

    One lock order everywhere, so that writers wait for each other but never deadlock: a
    comment's row, then its thread's row (the reply count), then its board's row (the board's
    count), then a counter."""

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


# A page key is a path: "/About" and "/about" are two pages, also on MySQL/MariaDB, whose
# default collation would call them equal.
PAGE_KEY = sa.String(KEY_MAX).with_variant(mysql.VARCHAR(KEY_MAX, collation="utf8mb4_bin"),
                                           "mysql", "mariadb")


class Board(db.Model):
    """A board: the default one at /, one per topic at /b/<slug>, or one per page of a site that
    embeds the board (keyed by the page's path). Its count of visible comments and its last
    activity change in the transaction of the post, edit, hide or delete that changes them, so
    no listing ever counts comments."""

    __tablename__ = "boards"
    __table_args__ = (
        # Serves /boards: open boards, newest activity first, keyset on (last_activity, id).
        sa.Index("ix_boards_state_activity_id", "state", "last_activity", "id"),
        # Serve the workers' map of which boards changed since they last looked (board/reads.py).
        sa.Index("ix_boards_last_id", "last_id"),
        sa.Index("ix_boards_last_revision", "last_revision"),
        {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(SLUG_MAX), unique=True)
    # The path of the page it serves (embedded boards only).
    key: Mapped[str | None] = mapped_column(PAGE_KEY, unique=True)
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX))
    state: Mapped[str] = mapped_column(sa.String(16), default=OPEN, server_default=OPEN)
    # off, first or all; None follows BOARD_MODERATION.
    moderation: Mapped[str | None] = mapped_column(sa.String(8))
    # One of rules.LANGUAGES; None: each reader's (board/languages.py).
    language: Mapped[str | None] = mapped_column(sa.String(16))
    comments: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_activity: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The newest comment id on the board (held ones too) and the newest revision of a change or
    # purge there, written with them: an open board whose poll cursors reach both is up to date,
    # which a poll can tell without reading comments (and every such tab asks the same URL).
    last_id: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    last_revision: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")

    def __repr__(self):
        return f"<Board {self.slug}>"


BOARDS = Board.__table__


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        # Serves newest-first listings across boards (the API, /recent, /moderate) and keyset
        # cursors: ORDER BY posted DESC, id DESC.
        sa.Index("ix_comments_posted_id", "posted", "id"),
        # Serves a board's poll: "what changed on board B since revision N?".
        sa.Index("ix_comments_board_revision", "board_id", "revision"),
        # Serves a board's poll: "what is new on board B after id N?".
        sa.Index("ix_comments_board_id", "board_id", "id"),
        # Serves a board's threads (board_id = B, thread_id IS NULL, newest first).
        sa.Index("ix_comments_board_thread_posted_id", "board_id", "thread_id", "posted", "id"),
        # Serves each thread's replies in conversation order (thread_id = N, oldest first).
        sa.Index("ix_comments_thread_posted_id", "thread_id", "posted", "id"),
        # Serves the moderator's queue: held comments, oldest first.
        sa.Index("ix_comments_state_posted_id", "state", "posted", "id"),
        {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"},
    )

    # Ids come from the counter, not the database's auto-increment: in commit order, never reused.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=next_comment_id)
    # No foreign key, like parent_id and thread_id: the board is checked by the write that adds
    # the comment (add), and boards are never removed.
    board_id: Mapped[int] = mapped_column(sa.Integer)
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
    # The comment answered (None for a thread's first comment) and the thread's first comment
    # (None for that comment itself): threads are one level deep, a reply to a reply joins the
    # same thread. No foreign keys: a purged comment's replies keep their numbers.
    parent_id: Mapped[int | None] = mapped_column(sa.Integer)
    thread_id: Mapped[int | None] = mapped_column(sa.Integer)
    # On a thread's first comment: how many of its replies are visible, kept in the transaction
    # that changes it, so a page never counts rows.
    replies: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # `content` rendered by board/markup.py when it was stored or edited, so a page view never
    # parses Markdown. NULL for comments stored before Markdown until `flask board rerender`.
    html: Mapped[str | None] = mapped_column(HTML_TEXT)
    # The address its author gave (addresses.id; never shown), and whether they want replies.
    address_id: Mapped[int | None] = mapped_column(sa.Integer)
    notify_replies: Mapped[bool] = mapped_column(sa.Boolean, default=False,
                                                 server_default=sa.false())
    # Not a column: the name of the comment answered, for "in reply to". add() sets it from the
    # parent it loaded, so a new reply renders without a read-back; reads select it.
    parent_author = None

    def __repr__(self):
        return f"<Comment {self.id} by {display_name(self.author)}>"


class Purged(db.Model):
    """What stays of a purged comment: its id and the revision of the purge, so that open boards
    remove it at their next poll as they would a deleted one."""

    __tablename__ = "purged"
    __table_args__ = (sa.Index("ix_purged_board_revision", "board_id", "revision"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    board_id: Mapped[int] = mapped_column(sa.Integer)
    revision: Mapped[int] = mapped_column(sa.BigInteger)


class Imported(db.Model):
    """Which comment an item of another system became (`flask board import --from ...`): a
    second import of the same file skips what the first one added."""

    __tablename__ = "imports"
    __table_args__ = ({"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"},)
    source: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    source_id: Mapped[str] = mapped_column(sa.String(191), primary_key=True)
    comment_id: Mapped[int] = mapped_column(sa.Integer)


IMPORTS = Imported.__table__


# Keeping spam out ----------------------------------------------------------------------------------

class Decision(db.Model):
    """What the moderation pipeline or a moderator decided about a comment, and by which rule:
    held, published, approved, rejected, refused (a refused post has no comment: `detail` keeps
    its author and the start of its text). Listed on the comment in /moderate."""

    __tablename__ = "decisions"
    __table_args__ = (sa.Index("ix_decisions_comment_id", "comment_id", "id"),
                      {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"})
    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int | None] = mapped_column(sa.Integer)
    board_id: Mapped[int | None] = mapped_column(sa.Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(sa.String(16))
    rule: Mapped[str] = mapped_column(sa.String(200))
    by: Mapped[str] = mapped_column(sa.String(32))  # "board", "moderator", "cli", "akismet"
    detail: Mapped[str | None] = mapped_column(sa.Text)  # JSON


DECISIONS = Decision.__table__


class Trusted(db.Model):
    """A person one of whose comments a moderator approved (BOARD_MODERATION=first): their author
    key, or "email:<address id>" for a confirmed email."""

    __tablename__ = "trusted"
    person: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


TRUSTED = Trusted.__table__


class Block(db.Model):
    """A block list entry: a word or phrase (whole words, any case), an author name, or an IP
    network (CIDR); a match holds the comment for review or refuses it."""

    __tablename__ = "blocks"
    __table_args__ = (sa.UniqueConstraint("kind", "value"),
                      {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"})
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(8))  # word, name, network
    value: Mapped[str] = mapped_column(sa.String(191))
    action: Mapped[str] = mapped_column(sa.String(8))  # hold, refuse
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


BLOCKS = Block.__table__


# Keeping people informed ---------------------------------------------------------------------------

class Address(db.Model):
    """An email address someone gave with a comment or a subscription. Nothing is sent to it,
    but its confirmation, before `confirmed` (double opt-in). Never shown, never exported but
    with --with-private; `flask board forget --email` removes it."""

    __tablename__ = "addresses"
    __table_args__ = ({"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"},)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254).with_variant(
        mysql.VARCHAR(254, collation="utf8mb4_bin"), "mysql", "mariadb"), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed: Mapped[datetime | None] = mapped_column(UTCDateTime())


ADDRESSES = Address.__table__


class Subscription(db.Model):
    """An address that wants to hear of every new comment on a board. (Replies to one's own
    comments need none: those comments name their address, comments.notify_replies.)"""

    __tablename__ = "subscriptions"
    __table_args__ = (sa.UniqueConstraint("address_id", "board_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(sa.Integer)
    board_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


SUBSCRIPTIONS = Subscription.__table__


class Message(db.Model):
    """The outbox: a notification stored in the transaction that caused it, delivered later by
    `flask board send-notifications` (no request waits on it), each exactly once."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_status_due_id", "status", "due", "id"),
                      {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"})
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # email, webhook
    recipient: Mapped[str] = mapped_column(sa.String(512))  # an address or a URL
    payload: Mapped[str] = mapped_column(HTML_TEXT)  # JSON: what to send
    status: Mapped[str] = mapped_column(sa.String(8), default="pending")  # pending, sent, failed
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    sent: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(sa.String(500))


OUTBOX = Message.__table__


# The table itself, for Core statements (no per-row ORM bookkeeping) in reads and transfers.
TABLE = Comment.__table__
PURGED = Purged.__table__


class Refused(Exception):
    """A step that cannot be taken: an unknown id, or a state the verb does not apply to.
    str() is the reason in English (the CLI); a page shows rules.translate(refusal.text)."""

    @property
    def text(self):
        """The reason as given: a rules.Text when it was marked for translation."""
        return self.args[0] if self.args else ""


class NoBoard(Refused):
    """A post to a board that does not exist (yet)."""


class StartOver(Exception):
    """The default board was made for a post whose caller had stored something with it (its
    address) in the transaction that was rolled back: store it all again."""


# Called inside each write's transaction, before its commit, as hook(event, comment): what a
# write causes (notifications in the outbox, a report to Akismet) is stored with it, or not at
# all. Events: stored (a new comment, visible or held), approved, rejected, edited, hidden,
# unhidden, deleted. create_app registers board/notifications.py and board/screening.py.
WRITE_HOOKS = []
EVENTS = {("held", VISIBLE): "approved", ("held", "deleted"): "rejected",
          (VISIBLE, "hidden"): "hidden", ("hidden", VISIBLE): "unhidden"}


def written(event, comment):
    for hook in WRITE_HOOKS:
        hook(event, comment)


def decide(comment, action, rule, by, detail=None):
    """Record a decision on `comment` (None for a refused post: `detail` says what it was)."""
    db.session.execute(sa.insert(DECISIONS).values(
        comment_id=comment and comment.id, board_id=comment and comment.board_id, at=clock(),
        action=action, rule=rule[:200], by=by, detail=json.dumps(detail) if detail else None))


def refuse(rules, detail):
    """Record a refused post (it is stored nowhere else)."""
    decide(None, "refused", "; ".join(rules) or "refused", "board", detail)
    db.session.commit()


def trusted(people):
    """Whether one of `people` (author keys, "email:<id>") had a comment approved."""
    people = [person for person in people if person]
    return bool(people) and db.session.scalar(
        sa.select(TRUSTED.c.person).where(TRUSTED.c.person.in_(people)).limit(1)) is not None


def trust(people):
    """Remember `people` as trusted (their comment was approved); already trusted is fine."""
    for person in filter(None, people):
        if not trusted([person]):
            try:
                with db.session.begin_nested():  # another approval may trust them meanwhile
                    db.session.execute(sa.insert(TRUSTED).values(person=person, since=clock()))
            except IntegrityError:
                pass


def count_reply(thread_id, step):
    """Add `step` (1 or -1) to a thread's count of visible replies."""
    db.session.execute(sa.update(TABLE).where(TABLE.c.id == thread_id)
                       .values(replies=TABLE.c.replies + step))


def count_on_board(board_id, step, active=None, allowed=None):
    """Add `step` to a board's count of visible comments, and move its last activity to `active`;
    only while its state is one of `allowed` (None: any). False when the board refused. The
    board's row is locked until commit even when nothing in it changes: a change then writes
    its revision there (newest_on_board), after the counter, in the lock order."""
    values = {"comments": BOARDS.c.comments + step} if step else {}
    if active is not None:
        values["last_activity"] = later(active)
    if not values:
        values["last_revision"] = BOARDS.c.last_revision  # locks the row, changes nothing
    where = [BOARDS.c.id == board_id]
    if allowed is not None:
        where.append(BOARDS.c.state.in_(allowed))
    return db.session.execute(sa.update(BOARDS).where(*where).values(**values),
                              execution_options={"synchronize_session": False}).rowcount == 1


def newest_on_board(board_id, comment_id=None, revision=None):
    """Record a board's newest comment id or revision (Board.last_id, last_revision); its row is
    locked by this transaction already (enter, count_on_board)."""
    values = {"last_id": comment_id} if comment_id is not None else {"last_revision": revision}
    db.session.execute(sa.update(BOARDS).where(BOARDS.c.id == board_id).values(**values),
                       execution_options={"synchronize_session": False})


def later(moment):
    """The later of a board's last activity and `moment`: two posts may commit in the other
    order than they read the clock."""
    moment = sa.literal(moment, UTCDateTime())
    return sa.case((BOARDS.c.last_activity < moment, moment), else_=BOARDS.c.last_activity)


def refusal_on(board_where):
    """Why the board that `board_where` names took no comment: closed, archived or missing."""
    state = db.session.scalar(sa.select(BOARDS.c.state).where(board_where))
    if state is None or state == OPEN:
        # Nothing was written: the caller may make the board and go on. (Open: made by another
        # post after this one's UPDATE looked, found now; seen by tests/test_load.py on
        # PostgreSQL, where this post was refused as if the board were closed.)
        return NoBoard(N_("There is no such board."))
    db.session.rollback()
    return Refused(ARCHIVED_MESSAGE if state == ARCHIVED else CLOSED_MESSAGE)


def enter(board_where, now):
    """Count a new comment on the open board that `board_where` names; its id and its own
    moderation mode. The board's row is locked until commit (after the thread's, before the id
    counter's: the lock order)."""
    step = (sa.update(BOARDS).where(board_where, BOARDS.c.state == OPEN)
            .values(comments=BOARDS.c.comments + 1, last_activity=later(now)))
    connection = db.session.connection()
    if connection.dialect.update_returning:
        row = connection.execute(step.returning(BOARDS.c.id, BOARDS.c.moderation)).first()
    elif connection.execute(step).rowcount == 1:  # MySQL/MariaDB: no UPDATE ... RETURNING
        row = connection.execute(sa.select(BOARDS.c.id, BOARDS.c.moderation)
                                 .where(board_where)).first()
    else:
        row = None
    if row is None:
        raise refusal_on(board_where)
    return row


DEFAULT_TITLE = "Comments"


def insert_board(slug, title=DEFAULT_TITLE, key=None):
    """A new open board's row (not committed). IntegrityError when its slug or key is taken."""
    now = clock()
    db.session.execute(sa.insert(BOARDS).values(slug=slug, key=key, title=title, state=OPEN,
                                                comments=0, created=now, last_activity=now))


class Post(NamedTuple):
    """What add() stores besides the text: who else the poster is (BOARD_MODERATION=first),
    what screening held it for, and the address for replies."""
    people: tuple = ()  # "email:<id>" of an address confirmed in the poster's browser
    held: tuple = ()  # the rules that hold it (board/screening.py); empty: publish
    detail: dict | None = None  # kept with the decision to hold it
    address_id: int | None = None
    notify_replies: bool = False


def add(author, content, author_key=None, parent_id=None, slug=None, post=Post()):
    """Store a comment on the open board `slug` (the default board when None, made by its first
    comment), or a reply to comment `parent_id`, which must be visible (on the parent's board,
    which must be open). NoBoard when `slug` names no board. It is held for a moderator when
    screening says so (`post.held`) or the board's moderation mode does."""
    default = current_app.config["BOARD_DEFAULT_SLUG"]
    try:
        return _add(author, content, author_key, parent_id, slug or default, post)
    except NoBoard:
        db.session.rollback()
        if parent_id is not None or (slug or default) != default:
            raise
    # In a transaction of its own, committed: InnoDB keeps a shared lock on a key it found taken
    # until the transaction ends, so two first posts that both found it taken would deadlock on
    # the board's row (found by tests/test_load.py on MariaDB).
    try:
        insert_board(default)
        db.session.commit()
    except IntegrityError:  # made meanwhile by another request
        db.session.rollback()
    if post.address_id is not None:
        raise StartOver()  # the caller stores its address again, and the post
    return _add(author, content, author_key, parent_id, default, post)


def holds(moderation, post, author_key):
    """Why a comment is held, or () to publish it: screening's rules, then the mode."""
    mode = moderation or current_app.config["BOARD_MODERATION"]
    if post.held or mode == "off":
        return post.held
    if mode == "all":
        return ("every comment waits for a moderator (moderation: all)",)
    if not trusted([author_key, *post.people]):
        return ("a person's first comment waits for a moderator (moderation: first)",)
    return ()


def _add(author, content, author_key, parent_id, slug, post):
    thread_id, now = None, clock()
    if parent_id is not None:
        parent = db.session.get(Comment, parent_id)
        if parent is None or parent.state != VISIBLE:
            db.session.rollback()
            raise Refused(PARENT_GONE)
        thread_id = parent.thread_id or parent.id
        count_reply(thread_id, 1)  # the thread's row, then the board's, then the id counter
        board = enter(BOARDS.c.id == parent.board_id, now)
    else:
        board = enter(BOARDS.c.slug == slug, now)
    held = holds(board.moderation, post, author_key)
    if held:  # counted as visible above (one statement for the common case): not after all
        if thread_id is not None:
            count_reply(thread_id, -1)
        count_on_board(board.id, -1)
    comment = Comment(author=author or None, content=content, author_key=author_key,
                      parent_id=parent_id, thread_id=thread_id, board_id=board.id, posted=now,
                      html=markup.render(content), state=HELD if held else VISIBLE,
                      address_id=post.address_id, notify_replies=post.notify_replies)
    if parent_id is not None:
        comment.parent_author = parent.author
    db.session.add(comment)
    db.session.flush()  # its id, from the counter
    newest_on_board(board.id, comment_id=comment.id)
    if held:
        decide(comment, "held", "; ".join(held), "board", post.detail)
    written("stored", comment)
    db.session.commit()
    return comment


def change(comment, by_moderator=False, **values):
    """Edit, hide, unhide or delete, with a new revision so that open boards pick it up. A new
    state is set only over the state the caller saw (compare and set, on every database): two
    moderators hiding one reply at once change its thread's count once, not twice. An author
    changes nothing on an archived board; a moderator may."""
    shown, before = comment.state == VISIBLE, comment.state
    if "state" in values and values["state"] != comment.state:
        moved = db.session.execute(
            sa.update(TABLE).where(TABLE.c.id == comment.id, TABLE.c.state == comment.state)
            .values(state=values["state"]), execution_options={"synchronize_session": False})
        if moved.rowcount != 1:
            db.session.rollback()
            raise Refused(N_("comment %(id)s was changed meanwhile; reload and try again",
                             id=comment.id))
    for name, value in values.items():
        setattr(comment, name, value)
    if "content" in values:
        comment.html = markup.render(comment.content)
    db.session.flush()  # the comment's row, then its thread's, then its board's, then the counter
    step = 0 if shown == (comment.state == VISIBLE) else (1 if not shown else -1)
    if comment.thread_id is not None and step:
        count_reply(comment.thread_id, step)
    allowed = None if by_moderator else [state for state in BOARD_STATES if state != ARCHIVED]
    if not count_on_board(comment.board_id, step, values.get("edited"), allowed):
        db.session.rollback()
        raise Refused(ARCHIVED_MESSAGE)
    comment.revision = take(db.session.connection(), REVISIONS)
    newest_on_board(comment.board_id, revision=comment.revision)
    event = "edited" if "content" in values else EVENTS.get((before, comment.state), "deleted")
    written(event, comment)
    db.session.commit()
    return comment


def moderate(comment_id, verb, by="moderator"):
    """Approve, reject, hide, unhide or delete by the rules in rules.VERBS; returns (the state
    before, the comment). The moderator page and the CLI both come here. An approval trusts its
    author (BOARD_MODERATION=first); approvals and rejections are recorded as decisions."""
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise Refused(N_("there is no comment %(id)s", id=comment_id))
    allowed_from, to = VERBS[verb]
    # The states are the board's words (rules.STATES), shown as they are.
    if comment.state == to:
        raise Refused(N_("comment %(id)s is already %(state)s", id=comment_id, state=to))
    if comment.state not in allowed_from:
        raise Refused(N_("comment %(id)s is %(state)s; it cannot become %(new_state)s",
                         id=comment_id, state=comment.state, new_state=to))
    before_state = comment.state
    if verb == "approve":
        trust([comment.author_key, *confirmed_people(comment)])
    if verb in ("approve", "reject"):
        done = {"approve": "approved", "reject": "rejected"}[verb]
        decide(comment, done, f"{done} by {by}", by)
    return before_state, change(comment, by_moderator=True, state=to)


def confirmed_people(comment):
    """"email:<id>" for the comment's address when its owner confirmed it."""
    if comment.address_id is None:
        return []
    confirmed = db.session.scalar(sa.select(ADDRESSES.c.confirmed)
                                  .where(ADDRESSES.c.id == comment.address_id))
    return [f"email:{comment.address_id}"] if confirmed else []


def purge(comment_id):
    """Remove the row itself, whatever its state; open boards remove it at their next poll. A
    thread's first comment goes only once its replies have gone: they would be left with no
    thread to show them in."""
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        db.session.rollback()
        raise Refused(f"there is no comment {comment_id}")
    if comment.thread_id is None and db.session.scalar(
            sa.select(TABLE.c.id).where(TABLE.c.thread_id == comment_id).limit(1)) is not None:
        db.session.rollback()
        raise Refused(f"comment {comment_id} has replies: purge them first, or delete it "
                      "(it then shows as removed above its replies)")
    db.session.execute(sa.delete(TABLE).where(TABLE.c.id == comment_id))
    shown = comment.state == VISIBLE
    if shown and comment.thread_id is not None:
        count_reply(comment.thread_id, -1)
    count_on_board(comment.board_id, -1 if shown else 0)
    revision = take(db.session.connection(), REVISIONS)
    newest_on_board(comment.board_id, revision=revision)
    db.session.add(Purged(id=comment_id, board_id=comment.board_id, revision=revision))
    db.session.commit()


def recount_replies(thread_ids=None):
    """Set threads' reply counts from their rows (after an import): all threads, or these.
    Counted first, then written: MySQL refuses an UPDATE of a table that reads that same table."""
    counts = (sa.select(TABLE.c.thread_id, sa.func.count())
              .where(TABLE.c.thread_id.is_not(None), TABLE.c.state == VISIBLE)
              .group_by(TABLE.c.thread_id))
    reset = sa.update(TABLE).where(TABLE.c.thread_id.is_(None)).values(replies=0)
    if thread_ids is not None:
        counts = counts.where(TABLE.c.thread_id.in_(thread_ids))
        reset = reset.where(TABLE.c.id.in_(thread_ids))
    found = db.session.execute(counts).all()
    db.session.execute(reset)
    if found:
        db.session.execute(sa.update(TABLE).where(TABLE.c.id == sa.bindparam("thread"))
                           .values(replies=sa.bindparam("visible")),
                           [{"thread": thread, "visible": visible} for thread, visible in found])


def recount_boards(board_ids=None):
    """Set boards' counts and last activity from their rows (after an import, or to check them):
    all boards, or these. Counted first, then written, as in recount_replies."""
    visible = sa.func.sum(sa.case((TABLE.c.state == VISIBLE, 1), else_=0))
    # Activity is a post or an edit, whatever became of the comment since.
    found = (sa.select(TABLE.c.board_id, visible, sa.func.max(TABLE.c.posted),
                       sa.func.max(TABLE.c.edited), sa.func.max(TABLE.c.id),
                       sa.func.max(TABLE.c.revision))
             .group_by(TABLE.c.board_id))
    purged = sa.select(PURGED.c.board_id, sa.func.max(PURGED.c.revision)).group_by(PURGED.c.board_id)
    boards = sa.select(BOARDS.c.id, BOARDS.c.created)
    if board_ids is not None:
        found = found.where(TABLE.c.board_id.in_(board_ids))
        purged = purged.where(PURGED.c.board_id.in_(board_ids))
        boards = boards.where(BOARDS.c.id.in_(board_ids))
    counts = {board: (int(count), max(filter(None, (posted, edited))), newest, revision or 0)
              for board, count, posted, edited, newest, revision in db.session.execute(found)}
    purges = dict(db.session.execute(purged).all())
    rows = []
    for board, created in db.session.execute(boards):
        count, active, newest, revision = counts.get(board, (0, created, 0, 0))
        rows.append({"board": board, "visible": count, "active": active, "newest": newest,
                     "revised": max(revision, purges.get(board) or 0)})
    if rows:
        db.session.execute(sa.update(BOARDS).where(BOARDS.c.id == sa.bindparam("board"))
                           .values(comments=sa.bindparam("visible"),
                                   last_activity=sa.bindparam("active"),
                                   last_id=not_below(BOARDS.c.last_id, "newest"),
                                   last_revision=not_below(BOARDS.c.last_revision, "revised")),
                           rows)


def not_below(column, name):
    """The value bound as `name`, or the column's own when that is higher: a board's newest id and
    revision never go back (a purge leaves them; revise_boards gives ones no comment carries)."""
    value = sa.bindparam(name, type_=column.type)
    return sa.case((column < value, value), else_=column)


def revise_boards(board_ids):
    """A new revision for these boards, when their comments changed without one of their own
    (an import, HTML rendered again): pages that workers keep rendered for the older one are not
    shown again (board/fragments.py). Their rows are locked before the counter (the lock order)."""
    if not board_ids:
        return
    boards = BOARDS.c.id.in_(board_ids)
    db.session.execute(sa.update(BOARDS).where(boards).values(last_revision=BOARDS.c.last_revision),
                       execution_options={"synchronize_session": False})
    revision = take(db.session.connection(), REVISIONS)
    db.session.execute(sa.update(BOARDS).where(boards).values(last_revision=revision),
                       execution_options={"synchronize_session": False})


def advance_ids(highest):
    """After comments were stored with their own ids (an import), make sure new ones come after."""
    db.session.execute(sa.update(COUNTERS).where(COUNTERS.c.name == COMMENT_IDS,
                                                 COUNTERS.c.value < highest).values(value=highest))
