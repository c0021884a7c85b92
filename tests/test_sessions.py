"""The session cookie is read only by requests that use it (board/sessions.py): an idle poll
never checks its signature, and every request that does use the session sees and keeps it as
Flask's own sessions would."""

import time
from datetime import timedelta

import pytest
from flask import session

from tests.helpers import HTMX, post, soup
from tests.test_live_updates import poller_of


@pytest.fixture
def decodes(app, monkeypatch):
    """How many times the app has checked and decoded a session cookie so far."""
    interface = app.session_interface
    calls = []
    make = interface.get_signing_serializer

    def counting(app):
        serializer = make(app)  # one per app and keys, kept: count its calls once
        if not getattr(serializer, "counted", False):
            loads = serializer.loads
            serializer.loads = lambda *args, **kwargs: calls.append(1) or loads(*args, **kwargs)
            serializer.counted = True
        return serializer

    monkeypatch.setattr(interface, "get_signing_serializer", counting)
    return lambda: len(calls)


@pytest.mark.one_database
def test_an_idle_poll_leaves_the_session_cookie_unread(client, decodes):
    post(client, "Mine")  # the browser has a session: its author key, its CSRF secret
    url = poller_of(client.get("/"))
    before = decodes()
    answer = client.get(url, headers=HTMX)
    assert answer.status_code == 204
    assert decodes() == before, "the idle poll decoded the session cookie"
    assert "Set-Cookie" not in answer.headers and "Cookie" not in answer.headers.get("Vary", "")


@pytest.mark.one_database
def test_a_request_that_uses_the_session_reads_and_keeps_it(client, decodes):
    post(client, "Mine")
    before = decodes()
    page = client.get("/")
    assert decodes() == before + 1  # once, however many times the request asks
    assert "Cookie" in page.headers["Vary"]
    # The session read back: the author's own controls, and the form's token is accepted.
    mine = soup(page).select_one("article.comment")
    assert mine.select_one(".own-actions a.edit") is not None
    assert post(client, "Mine again").status_code == 303
    assert [a.select_one(".content").get_text(strip=True)
            for a in soup(client.get("/")).select("article.comment")][:2] == ["Mine again", "Mine"]


@pytest.mark.one_database
def test_a_session_cleared_by_a_request_is_removed(app_factory):
    app = app_factory()

    @app.get("/test-clear-session")
    def clear():
        session.clear()
        return ""

    with app.test_request_context("/"):
        assert not session.loaded and not session.modified  # asking for it reads no cookie
    client = app.test_client()
    client.get("/")  # the first visit makes the session (the form's CSRF secret)
    assert client.get_cookie(app.config["SESSION_COOKIE_NAME"]) is not None
    answer = client.get("/test-clear-session")
    assert "Cookie" in answer.headers["Vary"]
    assert client.get_cookie(app.config["SESSION_COOKIE_NAME"]) is None


@pytest.mark.one_database
def test_the_same_cookie_is_checked_once_per_worker(client, decodes):
    """A browser sends one cookie until its session changes: its signature is checked once."""
    post(client, "Mine")
    client.get("/")
    before = decodes()
    for _ in range(3):
        page = client.get("/")
        assert soup(page).select_one("article.comment .own-actions a.edit") is not None
    assert decodes() == before
    assert post(client, "Mine again").status_code == 303  # its CSRF secret still read back


@pytest.mark.one_database
def test_a_remembered_cookie_still_expires(app_factory):
    app = app_factory(PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    client = app.test_client()
    post(client, "Mine")
    assert soup(client.get("/")).select_one("article.comment .own-actions") is not None
    time.sleep(2.1)  # itsdangerous counts whole seconds: 2 > 1
    # The cookie was remembered, but it is older than the sessions' lifetime: a new session,
    # another person's comment.
    assert soup(client.get("/")).select_one("article.comment .own-actions") is None


@pytest.mark.one_database
def test_a_request_changing_its_session_in_place_leaves_the_next_one_alone(app_factory):
    """What one request does to its session's lists (flash() appends to one) is not what the
    next request with the same cookie finds."""
    app = app_factory()

    @app.route("/test-remember")
    def remember():
        session["seen"] = [1]
        return ""

    @app.route("/test-append")
    def append():
        session["seen"].append(len(session["seen"]) + 1)  # in place: not saved
        return str(session["seen"])

    client = app.test_client()
    client.get("/test-remember")
    assert client.get("/test-append").get_data(as_text=True) == "[1, 2]"
    assert client.get("/test-append").get_data(as_text=True) == "[1, 2]"


@pytest.mark.one_database
def test_a_cookie_that_is_not_ours_is_a_new_session_every_time(client, decodes):
    post(client, "Mine")
    forged = client.get_cookie("session").value[:-2] + "xx"
    before = decodes()
    for _ in range(2):
        client.set_cookie("session", forged)
        assert soup(client.get("/")).select_one("article.comment .own-actions") is None
    assert decodes() == before + 2  # checked, and refused, each time
