"""Moderator sessions end, for every copy of the cookie: at logout, when the password hash
changes, and after BOARD_MODERATOR_SESSION_HOURS. Each test copies the session cookie the way a
thief or a shared computer would, and replays it from another client."""

from datetime import timedelta

import pytest
from werkzeug.security import generate_password_hash

from tests.helpers import soup
from tests.test_moderation import PASSWORD, login

FAST_HASH = "pbkdf2:sha256:1000"  # a real hash, cheap enough to make a few per test


@pytest.fixture
def moderated(app_factory):
    return app_factory(BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(PASSWORD, FAST_HASH))


def logged_in_copy(app):
    """A client that logged in, and a second client holding a copy of its session cookie."""
    client = app.test_client()
    assert login(client).status_code == 303
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return client, copy


def opens_moderation(client):
    response = client.get("/moderate/")
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


def log_out(client):
    token = soup(client.get("/moderate/")).find("input", {"name": "csrf_token"})["value"]
    assert client.post("/moderate/logout", data={"csrf_token": token}).status_code == 303


def test_logging_out_ends_the_session_for_every_copy_of_the_cookie(moderated):
    client, copy = logged_in_copy(moderated)
    assert opens_moderation(copy)  # the copy is as good as the original until logout

    log_out(client)

    assert not opens_moderation(client)
    assert not opens_moderation(copy)
    # ...and stays ended: the copy is not revived by another login elsewhere.
    assert login(moderated.test_client()).status_code == 303
    assert not opens_moderation(copy)


def test_a_new_password_hash_ends_every_moderator_session(moderated):
    client, copy = logged_in_copy(moderated)
    assert opens_moderation(copy)

    moderated.config["BOARD_MODERATOR_PASSWORD_HASH"] = generate_password_hash(
        "a new password", FAST_HASH)

    assert not opens_moderation(client)
    assert not opens_moderation(copy)
    assert login(client, "a new password").status_code == 303
    assert opens_moderation(client)
    assert not opens_moderation(copy)


@pytest.mark.parametrize("hours", [None, 2])
def test_a_moderator_session_expires_after_the_configured_hours(app_factory, clock, hours):
    settings = {} if hours is None else {"BOARD_MODERATOR_SESSION_HOURS": hours}
    app = app_factory(BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(PASSWORD, FAST_HASH),
                      **settings)
    lifetime = timedelta(hours=hours or 12)  # 12 hours unless configured
    client, copy = logged_in_copy(app)

    clock.advance(seconds=lifetime.total_seconds() - 1)
    assert opens_moderation(copy)
    assert opens_moderation(client)

    clock.advance(seconds=1)
    assert not opens_moderation(copy)
    assert not opens_moderation(client)
    assert login(client).status_code == 303  # a new login opens a new session
    assert opens_moderation(client)
    assert not opens_moderation(copy)
