"""Moderator sessions, kept on the server so that they can end: logging out ends a session for
every copy of its cookie, a new BOARD_MODERATOR_PASSWORD_HASH ends them all, and each expires
after BOARD_MODERATOR_SESSION_HOURS. The cookie carries a random token; the table keeps only its
hash, so a copy of the database opens no session."""

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, session
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash

from . import models
from .extensions import db
from .models import UTCDateTime


class ModeratorSession(db.Model):
    __tablename__ = "moderator_sessions"
    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    started: Mapped[datetime] = mapped_column(UTCDateTime())
    # Which password hash it was opened under: a new hash ends the session.
    password: Mapped[str] = mapped_column(sa.String(64))


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def password_hash():
    return current_app.config["BOARD_MODERATOR_PASSWORD_HASH"]


def lifetime():
    return timedelta(hours=current_app.config["BOARD_MODERATOR_SESSION_HOURS"])


def log_in(password):
    """Open a session when `password` is the moderator's; returns whether it was."""
    if not check_password_hash(password_hash(), password):
        return False
    token = secrets.token_urlsafe(32)
    now = models.clock()
    # Expired sessions go when someone logs in: no scheduled task needed.
    db.session.execute(sa.delete(ModeratorSession).where(ModeratorSession.started <= now - lifetime()))
    db.session.add(ModeratorSession(token_hash=digest(token), started=now,
                                    password=digest(password_hash())))
    db.session.commit()
    session.clear()  # a fresh session for the new privilege
    session["moderator"] = token
    return True


def logged_in():
    token = session.get("moderator")
    if not isinstance(token, str):
        return False
    found = db.session.get(ModeratorSession, digest(token))
    return (found is not None and found.password == digest(password_hash())
            and models.clock() < found.started + lifetime())


def log_out():
    token = session.pop("moderator", None)
    if isinstance(token, str):
        db.session.execute(sa.delete(ModeratorSession).where(
            ModeratorSession.token_hash == digest(token)))
        db.session.commit()
