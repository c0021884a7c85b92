"""Authors may edit or delete their own comments for a while after posting, with no account;
their comments carry a "you" mark for them, and the name they last used is offered again.

Each browser gets a random author key in Flask's session (a cookie signed with SECRET_KEY,
HttpOnly, SameSite=Lax), made when it first sees the comment form; each comment stores the
SHA-256 of its poster's key. The right to change a comment rests on that key, not on its id: an
id says nothing about who posted it, and tabs that post at the same moment share one key instead
of each rewriting a list of ids in the cookie.
"""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, session
from flask_babel import gettext as _, ngettext

from . import models

SESSION_KEY = "author"
NAME_KEY = "name"  # the name this browser last posted under, offered for its next comment


def window():
    return timedelta(minutes=current_app.config["BOARD_EDIT_MINUTES"])


def key_hash():
    """The hash of this browser's author key, made on first use; stored with what it posts."""
    if not isinstance(session.get(SESSION_KEY), str):
        session[SESSION_KEY] = secrets.token_urlsafe(32)
    return hashlib.sha256(session[SESSION_KEY].encode()).hexdigest()


def person():
    """The hash of this browser's author key, or None when it has none yet (nothing is made)."""
    key = session.get(SESSION_KEY)
    return hashlib.sha256(key.encode()).hexdigest() if isinstance(key, str) else None


def posted_here(comment):
    mine = person()
    return (mine is not None and comment.author_key is not None
            and secrets.compare_digest(mine, comment.author_key))


def owns(comment):
    """May this browser still change `comment`? (For showing Edit and Delete.)"""
    return posted_here(comment) and models.clock() < comment.posted + window()


def changeable_until(comment):
    """When this browser's right to change `comment` ends."""
    return comment.posted + window()


def minutes_left(comment):
    """Whole minutes left to change `comment`, rounded up: "Edit · 12 min"."""
    return max(1, -(-(changeable_until(comment) - models.clock()) // timedelta(minutes=1)))


def remember_name(name):
    session[NAME_KEY] = name or ""


def remembered_name():
    name = session.get(NAME_KEY)
    return name if isinstance(name, str) else None


def refusal(comment):
    """Why this browser may not change `comment`, or None when it may."""
    if not posted_here(comment):
        return _("Only the person who posted a comment can change it.")
    if models.clock() >= comment.posted + window():
        minutes = current_app.config["BOARD_EDIT_MINUTES"]
        return ngettext("Comments can be changed for %(num)d minute after posting; this one no "
                        "longer can.",
                        "Comments can be changed for %(num)d minutes after posting; this one no "
                        "longer can.", minutes)
    return None


# Addresses confirmed in this browser (through the link in their confirmation email): only a
# post from here counts as that address's person (BOARD_MODERATION=first), not anyone who types it.
CONFIRMED_KEY = "confirmed"


def remember_confirmed(address_id):
    session[CONFIRMED_KEY] = sorted({*session.get(CONFIRMED_KEY, []), address_id})[-20:]


def confirmed_here():
    return set(session.get(CONFIRMED_KEY, []))


# Held comments this browser posted: shown to it, marked, until a moderator decides.
HELD_KEY = "held"


def remember_held(comment_id):
    session[HELD_KEY] = sorted({*session.get(HELD_KEY, []), comment_id})[-50:]


def held_here():
    return session.get(HELD_KEY, [])
