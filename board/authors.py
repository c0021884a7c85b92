"""Authors may edit or delete their own comments for a while after posting, with no account.

Ownership lives in Flask's session: a cookie signed with SECRET_KEY (HttpOnly, SameSite=Lax), so a
client can carry it but cannot forge or extend it.
"""

from datetime import timedelta

from flask import current_app, g, session

from . import models
from .rules import to_millis

KEPT = 50  # a session remembers at most this many recent comments


def window():
    return timedelta(minutes=current_app.config["BOARD_EDIT_MINUTES"])


def remember(comment):
    """Called when a comment is created: this browser may change it until the window closes."""
    deadline = to_millis(comment.posted + window())
    now = to_millis(models.clock())
    mine = [[id_, until] for id_, until in session.get("mine", []) if until > now]
    session["mine"] = (mine + [[comment.id, deadline]])[-KEPT:]
    g.pop("owned_ids", None)


def owned_ids():
    """Ids this browser may still change (for showing Edit and Delete), once per request."""
    if "owned_ids" not in g:
        now = to_millis(models.clock())
        g.owned_ids = {id_ for id_, until in session.get("mine", []) if until > now}
    return g.owned_ids


def refusal(comment):
    """Why this browser may not change `comment`, or None when it may."""
    if comment.id not in {id_ for id_, _ in session.get("mine", [])}:
        return "Only the person who posted a comment can change it."
    if models.clock() >= comment.posted + window():
        minutes = current_app.config["BOARD_EDIT_MINUTES"]
        return f"Comments can be changed for {minutes} minutes after posting; this one no longer can."
    return None
