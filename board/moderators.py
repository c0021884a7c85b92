"""Moderator sessions, kept on the server so that they can end: logging out ends a session for
every copy of its cookie, a new BOARD_MODERATOR_PASSWORD_HASH ends them all, and each expires
after BOARD_MODERATOR_SESSION_HOURS. The cookie carries a random token; the table keeps only its
hash, so a copy of the database opens no session.

Guessing the password is bounded for the whole board, not per client alone (a botnet, or an
IPv6 /64, has thousands of addresses): wrong passwords from everyone together count against
BOARD_LOGIN_FAILURES_LIMIT, and after FREE_FAILURES of them in a row each further one makes every
login wait longer (1, 2, 4, ... seconds, up to BOARD_LOGIN_DELAY_MAX_SECONDS). Both are checked
before the password is hashed, so a refused guess costs no scrypt: at most 10 hashes a minute
(~110 ms each) by default, whatever the number of guessers. The price: while they are exceeded,
the right password waits too; the moderator can still use `flask board` from a console. The
counts live where the rate limiter counts (extensions.current_storage), shared by workers that
share Redis or memcached."""

import hashlib
import math
import secrets
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, session
from limits import parse_many
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash

from . import models
from .extensions import current_storage, db, limiter
from .models import UTCDateTime

# The shortest moderator password `flask board hash-password` will hash.
PASSWORD_MIN = 12
# Wrong passwords in a row (from anyone) before each further one makes the next login wait.
FREE_FAILURES = 5
# Keys in the limiter's storage, shared by every client.
FAILURES_KEY = "board/login-failures"
STREAK_KEY = "board/login-streak"  # wrong passwords in a row; forgotten a day after the first
WAIT_KEY = "board/login-wait"  # exists while logins must wait
STREAK_SECONDS = 24 * 3600


class Wait(Exception):
    """Too many wrong passwords on this board: none is checked for `seconds` (a whole number)."""

    def __init__(self, seconds):
        super().__init__(f"wait {seconds} s")
        self.seconds = seconds


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


def guarded():
    # Off only with every other limit (BOARD_RATELIMIT_ENABLED=false, for benchmarks).
    return current_app.config["RATELIMIT_ENABLED"]


def failure_limits():
    return parse_many(current_app.config["BOARD_LOGIN_FAILURES_LIMIT"])


def seconds_to_wait():
    """How long before a password may be checked again; 0 when it may be now."""
    if not guarded():
        return 0
    now = time.time()
    until = [limiter.limiter.get_window_stats(limit, FAILURES_KEY).reset_time
             for limit in failure_limits() if not limiter.limiter.test(limit, FAILURES_KEY)]
    if current_storage().get(WAIT_KEY):
        until.append(current_storage().get_expiry(WAIT_KEY))
    return max(1, math.ceil(max(until) - now)) if until else 0


def count_failure():
    if not guarded():
        return
    for limit in failure_limits():
        limiter.limiter.hit(limit, FAILURES_KEY)
    streak = current_storage().incr(STREAK_KEY, STREAK_SECONDS)
    longest = current_app.config["BOARD_LOGIN_DELAY_MAX_SECONDS"]
    if streak > FREE_FAILURES and longest > 0:
        delay = min(longest, 2 ** min(streak - FREE_FAILURES - 1, 30))
        current_storage().clear(WAIT_KEY)
        current_storage().incr(WAIT_KEY, delay)


def forget_failures():
    """A right password ends the streak and its wait (not the count of failures per window)."""
    if guarded():
        current_storage().clear(STREAK_KEY)
        current_storage().clear(WAIT_KEY)


def log_in(password):
    """Open a session when `password` is the moderator's; returns whether it was. Raises Wait,
    without looking at the password, while guessing is being held back (see above)."""
    wait = seconds_to_wait()
    if wait:
        raise Wait(wait)
    if not check_password_hash(password_hash(), password):
        count_failure()
        return False
    forget_failures()
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
