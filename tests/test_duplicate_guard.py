"""The duplicate guard stores a double submit once, and is keyed on the person (the browser's
author key), not on the address: two people behind one address may both say "Thanks!". A
suppressed repeat is answered with the comment that was stored, exactly like the first post.
It counts where the rate limiter counts: in Redis, or, while Redis is down, in each process."""

import hashlib
import re
import secrets
import urllib.parse

import flask_migrate
import pytest
from sqlalchemy import text
from werkzeug.security import generate_password_hash

from board import create_app
from board.extensions import db
from board.security import first_post_of
from harness.gunicorn import Gunicorn
from harness.process import clean_env
from harness.raw_http import first_visit, request
from harness.redis import Redis, Unavailable
from tests.helpers import HTMX, csrf_token, soup, unavailable

SHARED_ADDRESS = {"REMOTE_ADDR": "192.0.2.10"}  # one office, one NAT, several people


def post_from(client, content, htmx=True):
    data = {"content": content, "author": "", "csrf_token": csrf_token(client)}
    return client.post("/comments", data=data, headers=HTMX if htmx else {},
                       environ_base=SHARED_ADDRESS)


def stored(app):
    with app.app_context():
        return db.session.execute(text("SELECT id, content FROM comments ORDER BY id")).all()


def answered_id(response):
    assert response.status_code == 201
    articles = soup(response).select("article.comment")
    assert len(articles) == 1, f"no comment in the answer: {response.get_data(as_text=True)!r}"
    return int(articles[0]["id"].removeprefix("comment-"))


def test_two_people_behind_one_address_both_post_the_same_text(app):
    ann, bob = app.test_client(), app.test_client()
    answers = post_from(ann, "Thanks!"), post_from(bob, "Thanks!")
    assert len(stored(app)) == 2
    ann_id, bob_id = map(answered_id, answers)
    assert ann_id != bob_id
    assert [tuple(row) for row in stored(app)] == [(ann_id, "Thanks!"), (bob_id, "Thanks!")]
    # And each sees Edit on their own comment only.
    for client, own, other in ((ann, ann_id, bob_id), (bob, bob_id, ann_id)):
        page = soup(client.get("/"))
        assert page.select(f"#comment-{own} .own-actions a")
        assert not page.select(f"#comment-{other} .own-actions a")


def test_a_repeat_is_stored_once_and_answered_with_the_stored_comment(app, client):
    first = post_from(client, "Double submit")
    comment_id = answered_id(first)
    again = post_from(client, "Double submit")
    assert answered_id(again) == comment_id
    assert again.get_data(as_text=True) == first.get_data(as_text=True)
    assert [tuple(row) for row in stored(app)] == [(comment_id, "Double submit")]
    # Without JavaScript the repeat goes to the board, like the first post.
    plain = post_from(client, "Double submit", htmx=False)
    assert plain.status_code == 303 and plain.headers["Location"] == "/"
    assert len(stored(app)) == 1


def test_a_repeat_is_answered_with_its_own_text_not_one_that_differs_in_case(app, client):
    # MariaDB compares text regardless of case: the answer must still be the very same text.
    first = answered_id(post_from(client, "Thanks!"))
    louder = answered_id(post_from(client, "THANKS!"))
    assert answered_id(post_from(client, "Thanks!")) == first != louder
    assert [row.content for row in stored(app)] == ["Thanks!", "THANKS!"]


# --- Redis stopped: the guards count where the limiter does, in the process's memory ------------

LIMIT = 3


@pytest.fixture
def served_with_redis(tmp_path):
    """gunicorn (one worker) on a fresh SQLite board, counting in a Redis the test may stop."""
    try:
        redis = Redis(tmp_path / "redis")
    except Unavailable as error:
        unavailable(str(error))
    url = f"sqlite:///{tmp_path / 'board.sqlite'}"
    app = create_app("testing", {"DATABASE_URL": url})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    env = clean_env(DATABASE_URL=url, FLASK_CONFIG="production", SECRET_KEY=secrets.token_hex(32),
                    BOARD_POST_LIMIT=f"{LIMIT} per hour", BOARD_RATELIMIT_STORAGE_URI=redis.url,
                    BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash("x" * 12,
                                                                         "pbkdf2:sha256:1000"))
    with redis, Gunicorn(env, tmp_path / "gunicorn.log", app="flask_app:app", workers=1) as server:
        server.redis, server.app = redis, app
        yield server


def post_over_http(port, visit, content):
    body = urllib.parse.urlencode({"csrf_token": visit.token, "content": content, "author": ""})
    return request(port, "POST", "/comments", body=body, headers={
        "Cookie": visit.cookie, "HX-Request": "true",
        "Content-Type": "application/x-www-form-urlencoded"})


def comment_id_in(response):
    return re.search(rb'id="comment-(\d+)"', response.body).group(1)


def test_with_redis_stopped_posts_and_logins_are_still_guarded_per_process(served_with_redis):
    port = served_with_redis.port
    visit = first_visit(port)
    assert post_over_http(port, visit, "Before").status == 201
    served_with_redis.redis.stop()

    down = post_over_http(port, visit, "While Redis is down")
    assert down.status == 201, down.text  # not a 500: the duplicate guard counts in memory now
    repeat = post_over_http(port, visit, "While Redis is down")
    assert repeat.status == 201 and comment_id_in(repeat) == comment_id_in(down)
    # The post limit still holds, counted in this process (the repeat used up one post too).
    assert [post_over_http(port, visit, f"More {n}").status for n in range(2)] == [201, 429]
    assert [row.content for row in stored(served_with_redis.app)] == [
        "Before", "While Redis is down", "More 0"]

    # The login guard counts in memory too: a wrong password is answered as one, not a 500.
    login = request(port, "GET", "/moderate/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', login.body).group(1).decode()
    cookie = login.headers["Set-Cookie"].split(";", 1)[0]
    wrong = request(port, "POST", "/moderate/login", body=urllib.parse.urlencode(
        {"csrf_token": token, "password": "wrong password"}), headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    assert wrong.status == 422 and b"That is not the moderator password." in wrong.body

    assert "Rate limit storage unreachable - falling back to in-memory storage" in \
        served_with_redis.log


# --- A repeat whose first post was never stored -------------------------------------------------

def counted_but_never_stored(app, client, content):
    """What a worker that died between the duplicate guard and its commit leaves behind: the
    guard counted the post, and nothing was stored."""
    with client.session_transaction() as session:
        key = session["author"]
    person = hashlib.sha256(key.encode()).hexdigest()
    with app.test_request_context():
        assert first_post_of(person, content, None, "main")


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "no-js"])
def test_a_repeat_whose_first_post_was_never_stored_is_not_lost(app, client, htmx):
    csrf_token(client)  # the session, with its author key
    counted_but_never_stored(app, client, "Lost in flight")
    answer = post_from(client, "Lost in flight", htmx=htmx)
    # Not an empty "accepted" with nothing stored: the person is told and keeps the text.
    assert answer.status_code == 409
    assert "it was not stored" in " ".join(
        p.get_text() for p in soup(answer).select(".form-error"))
    assert soup(answer).select_one("#content").get_text().strip() == "Lost in flight"
    assert stored(app) == []
    again = post_from(client, "Lost in flight", htmx=htmx)
    assert again.status_code == (201 if htmx else 303)
    assert [row.content for row in stored(app)] == ["Lost in flight"]


def test_a_repeat_of_a_held_post_is_answered_with_it_not_stored_again(app_factory):
    app = app_factory(BOARD_MODERATION="all")
    client = app.test_client()
    first = answered_id(post_from(client, "Wait for me"))
    assert answered_id(post_from(client, "Wait for me")) == first
    assert [row.content for row in stored(app)] == ["Wait for me"]
