"""Boards: which board a request is on, creating one (by a moderator, by the first comment on the
default board or on an embedding page), renaming, closing and archiving, and the list of open
boards. A comment's writes keep each board's count (board/models.py)."""

from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError

from .extensions import db
from . import models
from .models import BOARDS, DEFAULT_TITLE, Refused, insert_board
from .rules import LANGUAGE_MESSAGE, LANGUAGES
from .rules import (BOARD_NAME, BOARD_STATES, MODERATION_MODES, N_, OPEN, key_problem, page_title,
                    slug_for_key, slug_problem, title_problem)

# What a board page, its poll and its links need of a board.
FIELDS = (BOARDS.c.id, BOARDS.c.slug, BOARDS.c.key, BOARDS.c.title, BOARDS.c.state,
          BOARDS.c.comments, BOARDS.c.last_activity, BOARDS.c.moderation, BOARDS.c.last_id,
          BOARDS.c.last_revision, BOARDS.c.language)


class Unsaved(NamedTuple):
    """A board that has no row yet: the default board before its first comment, or the board of
    an embedding page before its first comment. Shown empty and open."""
    slug: str
    key: str | None = None
    title: str = DEFAULT_TITLE
    state: str = OPEN
    id: None = None
    comments: int = 0
    last_activity: None = None
    moderation: None = None
    last_id: int = 0
    last_revision: int = 0
    language: None = None


class Listing(NamedTuple):
    boards: list
    older: int | None  # the last board's id: the cursor of the next page, None on the last


def default_slug():
    return current_app.config["BOARD_DEFAULT_SLUG"]


def is_default(board):
    return board.slug == default_slug()


def path_slug(board):
    """The slug in a board's URLs: None for the default board, which lives at /."""
    return None if is_default(board) else board.slug


def tab_title(board):
    """A page's title: the site's name, after the board's title on any board but the default;
    in the request's language."""
    if board is None or is_default(board) or board.id is None and board.key is None:
        return _(BOARD_NAME)
    return f"{board.title} · {_(BOARD_NAME)}"


def find(slug):
    return db.session.execute(sa.select(*FIELDS).where(BOARDS.c.slug == slug)).first()


def by_id(board_id):
    return db.session.execute(sa.select(*FIELDS).where(BOARDS.c.id == board_id)).first()


def by_key(key):
    return db.session.execute(sa.select(*FIELDS).where(BOARDS.c.key == key)).first()


def create(slug, title):
    """A new open board (a moderator's); Refused with the reason when it cannot be."""
    if problem := slug_problem(slug) or title_problem(title):
        raise Refused(problem)
    try:
        insert_board(slug, title)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Refused(N_("there is already a board %(slug)s", slug=slug)) from None
    return find(slug)


def ensure(board):
    """The row of an embedding page's Unsaved board, created now unless another request just
    did; no more than BOARD_EMBED_NEW_LIMIT such boards an hour."""
    try:
        hour_ago = models.clock() - timedelta(hours=1)
        made = db.session.scalar(sa.select(sa.func.count()).select_from(BOARDS).where(
            BOARDS.c.key.is_not(None), BOARDS.c.created > hour_ago))
        if made >= current_app.config["BOARD_EMBED_NEW_LIMIT"]:
            db.session.rollback()
            raise TooManyBoards()
        insert_board(board.slug, board.title, board.key)
        db.session.commit()
    except IntegrityError:  # made meanwhile by another request: use it
        db.session.rollback()
    return find(board.slug)


class TooManyBoards(Refused):
    def __init__(self):
        super().__init__(N_("This site has started many new comment pages in the last hour; "
                            "try again later."))


def for_page(key, title=None):
    """The board of an embedding page (page key `key`): its row, or an Unsaved board with its
    slug and title until its first comment."""
    if problem := key_problem(key):
        raise Refused(problem)
    row = by_key(key)
    return row or Unsaved(slug=slug_for_key(key), key=key, title=page_title(title) or key)


def for_key(key, title=None):
    """The board for page key `key`, created (open) when missing; only flushed, so it joins the
    caller's transaction (an import)."""
    row = by_key(key)
    if row is None:
        if problem := key_problem(key):
            raise Refused(problem)
        insert_board(slug_for_key(key), page_title(title) or key, key)
        db.session.flush()
        row = by_key(key)
    return row


def counts(keys):
    """{page key: its board's count of visible comments} for the keys that have a board, in one
    statement (the unique index on key)."""
    return dict(db.session.execute(sa.select(BOARDS.c.key, BOARDS.c.comments)
                                   .where(BOARDS.c.key.in_(set(keys)))).all())


def rename(slug, title):
    if problem := title_problem(title):
        raise Refused(problem)
    return _set(slug, title=title)


def set_moderation(slug, mode):
    """A board's own moderation mode (off, first, all), or None: BOARD_MODERATION's."""
    if mode is not None and mode not in MODERATION_MODES:
        raise Refused(N_("a board's moderation is one of %(modes)s, or default",
                         modes=", ".join(MODERATION_MODES)))
    return _set(slug, moderation=mode)


def set_language(slug, language):
    """A board's own language (one of rules.LANGUAGES), or None: each reader's."""
    if language is not None and language not in LANGUAGES:
        raise Refused(LANGUAGE_MESSAGE)
    return _set(slug, language=language)


def set_state(slug, state):
    if state not in BOARD_STATES:
        raise Refused(N_("a board is %(states)s", states=", ".join(BOARD_STATES)))
    return _set(slug, state=state)


def _set(slug, **values):
    changed = db.session.execute(sa.update(BOARDS).where(BOARDS.c.slug == slug).values(**values))
    if changed.rowcount != 1:
        db.session.rollback()
        raise Refused(N_("there is no board %(slug)s", slug=slug))
    db.session.commit()
    return find(slug)


def listing(before=None, limit=50):
    """Open boards, newest activity first, after board `before` (keyset on (last_activity, id):
    one range of ix_boards_state_activity_id, however many boards there are)."""
    statement = sa.select(*FIELDS).where(BOARDS.c.state == OPEN)
    if before is not None:
        cursor = sa.select(BOARDS.c.last_activity).where(BOARDS.c.id == before).scalar_subquery()
        statement = statement.where(BOARDS.c.last_activity <= cursor, sa.or_(
            BOARDS.c.last_activity < cursor, BOARDS.c.id < before))
    rows = db.session.execute(statement.order_by(BOARDS.c.last_activity.desc(),
                                                 BOARDS.c.id.desc()).limit(limit + 1)).all()
    return Listing(rows[:limit], rows[limit - 1].id if len(rows) > limit else None)


def every(states=BOARD_STATES):
    """Every board in `states`, by slug (the CLI's and the moderator's list)."""
    return db.session.execute(sa.select(*FIELDS).where(BOARDS.c.state.in_(states))
                              .order_by(BOARDS.c.slug)).all()



# An embedding page's board is made by its first comment. The page that shows the form (served
# only inside a listed origin's page) signs the page's key and title into the form, so that a
# post can make that board and no other.
def _signer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="board-page")


def page_token(board):
    return _signer().dumps([board.key, board.title])


def from_page_token(token, slug):
    """The Unsaved board that a form's page token names, if it is the board `slug`; else None."""
    try:
        key, title = _signer().loads(token or "")
    except (BadSignature, ValueError, TypeError):
        return None
    board = Unsaved(slug=slug_for_key(key), key=key, title=title)
    return board if board.slug == slug and not key_problem(key) else None
