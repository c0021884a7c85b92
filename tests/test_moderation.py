"""The moderator's page: off unless configured, behind a password, CSRF and a rate limit."""

import pytest
from werkzeug.security import generate_password_hash

from board import models, rules
from board.extensions import db
from tests.helpers import HTMX, add_comments, soup

PASSWORD = "correct horse battery staple"


@pytest.fixture
def moderated(app_factory):
    return app_factory(BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(PASSWORD),
                       BOARD_LOGIN_LIMIT="3 per minute")


def login(client, password=PASSWORD):
    token = soup(client.get("/moderate/login")).find("input", {"name": "csrf_token"})["value"]
    return client.post("/moderate/login", data={"password": password, "csrf_token": token})


def act(client, comment_id, verb, htmx=False):
    token = soup(client.get("/moderate/")).find("input", {"name": "csrf_token"})["value"]
    return client.post(f"/moderate/{comment_id}/{verb}", data={"csrf_token": token},
                       headers=HTMX if htmx else {})


def state(app, comment_id):
    with app.app_context():
        return db.session.get(models.Comment, comment_id).state


@pytest.mark.one_database
def test_moderation_does_not_exist_without_a_password_hash(client):
    assert client.get("/moderate/").status_code == 404
    assert client.get("/moderate/login").status_code == 404


@pytest.mark.one_database
def test_the_page_asks_for_a_login_first(moderated):
    client = moderated.test_client()
    response = client.get("/moderate/")
    assert response.status_code == 303 and response.headers["Location"] == "/moderate/login"
    form = soup(client.get("/moderate/login")).find("form")
    assert form.find("input", {"type": "password"})["id"] == "password"
    assert form.find("label", attrs={"for": "password"})


@pytest.mark.one_database
def test_a_wrong_password_is_refused_and_the_login_is_rate_limited(moderated):
    client = moderated.test_client()
    for _ in range(3):
        response = login(client, "wrong")
        assert response.status_code == 422
        assert "not the moderator password" in soup(response).get_text()
    assert login(client, PASSWORD).status_code == 429
    assert client.get("/moderate/").status_code == 303


@pytest.mark.one_database
def test_login_without_csrf_token_is_refused(moderated):
    client = moderated.test_client()
    client.get("/moderate/login")
    assert client.post("/moderate/login", data={"password": PASSWORD}).status_code == 400
    assert client.get("/moderate/").status_code == 303


def test_moderator_hides_unhides_and_deletes_without_javascript(moderated):
    ids = add_comments(moderated, 3)
    client = moderated.test_client()
    assert login(client).status_code == 303
    page = soup(client.get("/moderate/"))
    assert [a["id"] for a in page.select("article.moderation")] == [f"moderate-{i}" for i in ids[::-1]]

    response = act(client, ids[0], "hide")
    assert response.status_code == 303
    assert state(moderated, ids[0]) == rules.HIDDEN
    board = soup(client.get("/"))
    assert board.select(f"#comment-{ids[0]}") == []
    assert client.get(f"/comments/{ids[0]}").status_code == 404

    assert act(client, ids[0], "unhide").status_code == 303
    assert state(moderated, ids[0]) == rules.VISIBLE
    assert soup(client.get("/")).select(f"#comment-{ids[0]}")

    assert act(client, ids[1], "delete").status_code == 303
    assert state(moderated, ids[1]) == rules.DELETED
    assert act(client, ids[1], "unhide").status_code == 409


def test_moderator_buttons_work_with_htmx(moderated):
    [comment_id] = add_comments(moderated, 1)
    client = moderated.test_client()
    login(client)
    response = act(client, comment_id, "hide", htmx=True)
    assert response.status_code == 200
    row = soup(response).find("article")
    assert row["id"] == f"moderate-{comment_id}" and "hidden" in row["class"]
    assert [b.get_text(" ", strip=True).split()[0] for b in row.find_all("button")] == ["Unhide", "Delete"]
    form = row.find("form")
    assert form["hx-target"] == f"#moderate-{comment_id}" and form["method"] == "post"


def test_hidden_and_deleted_comments_vanish_from_board_polls_and_pages(moderated):
    ids = add_comments(moderated, 60)
    client = moderated.test_client()
    poll = soup(client.get("/")).select_one("#poller")["hx-get"]
    login(client)
    act(client, ids[-1], "hide")
    act(client, ids[5], "delete")
    shown = [a["id"] for a in soup(client.get("/")).select("article.comment")]
    older = [a["id"] for a in soup(client.get(f"/?before={ids[20]}")).select("article.comment")]
    for gone in (ids[-1], ids[5]):
        assert f"comment-{gone}" not in shown + older
    answer = soup(client.get(poll, headers=HTMX))
    assert "removed" in answer.select_one(f"#comment-{ids[-1]}")["class"]


@pytest.mark.one_database
def test_logout_ends_moderation(moderated):
    client = moderated.test_client()
    login(client)
    token = soup(client.get("/moderate/")).find("input", {"name": "csrf_token"})["value"]
    assert client.post("/moderate/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/moderate/").status_code == 303
