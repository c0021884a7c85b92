"""Authors may edit or delete their own comments for a while after posting, with no account.

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

from . import models

SESSION_KEY = "author"


def window():
    return timedelta(minutes=current_app.config["BOARD_EDIT_MINUTES"])


def key_hash():
    """The hash of this browser's author key, made on first use; stored with what it posts."""
    if not isinstance(session.get(SESSION_KEY), str):
        session[SESSION_KEY] = secrets.token_urlsafe(32)
    return hashlib.sha256(session[SESSION_KEY].encode()).hexdigest()


def posted_here(comment):
    key = session.get(SESSION_KEY)
    return (isinstance(key, str) and comment.author_key is not None
            and secrets.compare_digest(hashlib.sha256(key.encode()).hexdigest(), comment.author_key))


def owns(comment):
    """May this browser still change `comment`? (For showing Edit and Delete.)"""
    return posted_here(comment) and models.clock() < comment.posted + window()


def refusal(comment):
    """Why this browser may not change `comment`, or None when it may."""
    if not posted_here(comment):
        return "Only the person who posted a comment can change it."
    if models.clock() >= comment.posted + window():
        minutes = current_app.config["BOARD_EDIT_MINUTES"]
        return f"Comments can be changed for {minutes} minutes after posting; this one no longer can."
    return None
