"""Authors edit and delete their own comments, for a while, and nobody else can."""

from datetime import timedelta

import pytest

from board import models, rules
from board.extensions import db
from tests.helpers import HTMX, csrf_token, post, soup, textarea_value


def own_comment(client, content="My comment"):
    assert post(client, content, htmx=True).status_code == 201
    return int(soup(client.get("/")).select_one("article.comment")["id"].removeprefix("comment-"))


def stored(app, comment_id):
    with app.app_context():
        return db.session.get(models.Comment, comment_id)


def action(client, comment_id, verb, htmx=True, token=None, **data):
    token = token if token is not None else csrf_token(client)
    return client.post(f"/comments/{comment_id}/{verb}", data={"csrf_token": token, **data},
                       headers=HTMX if htmx else {})


def test_the_author_sees_edit_and_delete_and_others_do_not(app, client):
    comment_id = own_comment(client)
    links = soup(client.get("/")).select(f"#comment-{comment_id} .own-actions a")
    assert [a["href"] for a in links] == [f"/comments/{comment_id}/edit",
                                          f"/comments/{comment_id}/delete"]
    assert all(a["data-hx-target"] == f"#comment-{comment_id}" for a in links)
    assert soup(app.test_client().get("/")).select(".own-actions") == []


def test_author_edits_in_place_with_htmx(app, client, clock):
    comment_id = own_comment(client, "Teh typo")
    form = soup(client.get(f"/comments/{comment_id}/edit", headers=HTMX)).find("form")
    assert form["id"] == f"comment-{comment_id}" and form["data-hx-target"] == "this"
    assert textarea_value(form.find("textarea")) == "Teh typo"
    clock.advance(minutes=2)
    response = action(client, comment_id, "edit", content="The typo, fixed")
    assert response.status_code == 200
    article = soup(response).find("article")
    assert article.select_one(".content").get_text() == "The typo, fixed"
    edited = article.select_one(".edited time")
    assert edited["datetime"] == clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    comment = stored(app, comment_id)
    assert comment.content == "The typo, fixed"
    assert comment.edited == clock.now and comment.revision is not None
    assert comment.posted == clock.now - timedelta(minutes=2)


def test_author_edits_without_javascript(app, client):
    comment_id = own_comment(client)
    page = soup(client.get(f"/comments/{comment_id}/edit"))
    assert page.find("html") and page.find("form", action=f"/comments/{comment_id}/edit")
    response = action(client, comment_id, "edit", htmx=False, content="Edited plainly")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/comments/{comment_id}#comment-{comment_id}"
    article = soup(client.get("/")).select_one(f"#comment-{comment_id}")
    assert article.select_one(".content").get_text() == "Edited plainly"
    assert article.select_one(".edited").get_text(" ", strip=True).startswith("edited")


def test_an_invalid_edit_is_refused_and_changes_nothing(app, client):
    comment_id = own_comment(client, "Keep me")
    response = action(client, comment_id, "edit", content="   ")
    assert response.status_code == 422
    form = soup(response).find("form")
    assert form.select_one(".field-error").get_text() == "Write a comment before posting."
    assert stored(app, comment_id).content == "Keep me"
    assert stored(app, comment_id).edited is None


def test_author_deletes_after_confirming(app, client):
    comment_id = own_comment(client, "Regrettable")
    question = soup(client.get(f"/comments/{comment_id}/delete", headers=HTMX)).find("form")
    assert "Delete this comment?" in question.get_text()
    assert question.find("button").get_text() == "Delete"
    response = action(client, comment_id, "delete")
    assert response.status_code == 200
    assert "removed" in soup(response).find("article")["class"]
    assert stored(app, comment_id).state == rules.DELETED  # kept for audit
    assert soup(client.get("/")).select(f"#comment-{comment_id}") == []
    assert client.get(f"/comments/{comment_id}").status_code == 404


def test_author_deletes_without_javascript(app, client):
    comment_id = own_comment(client)
    page = soup(client.get(f"/comments/{comment_id}/delete"))
    assert page.find("html") and page.find("button", string="Delete")
    response = action(client, comment_id, "delete", htmx=False)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert stored(app, comment_id).state == rules.DELETED


@pytest.mark.parametrize("verb", ["edit", "delete"])
def test_another_client_gets_403_and_changes_nothing(app, client, verb):
    comment_id = own_comment(client, "Mine alone")
    other = app.test_client()
    assert other.get(f"/comments/{comment_id}/{verb}").status_code == 403
    response = action(other, comment_id, verb, content="Hijacked")
    assert response.status_code == 403
    assert "Only the person who posted" in soup(response).get_text()
    comment = stored(app, comment_id)
    assert (comment.content, comment.state) == ("Mine alone", rules.VISIBLE)


@pytest.mark.parametrize("verb", ["edit", "delete"])
def test_after_the_window_even_the_author_gets_403_with_a_reason(app, client, clock, verb):
    comment_id = own_comment(client, "Old news")
    clock.advance(minutes=14, seconds=59)
    assert client.get(f"/comments/{comment_id}/{verb}").status_code == 200
    clock.advance(seconds=1)
    response = action(client, comment_id, verb, content="Too late")
    assert response.status_code == 403
    assert "15 minutes" in soup(response).get_text()
    assert stored(app, comment_id).content == "Old news"
    assert soup(client.get("/")).select(".own-actions") == []


def test_the_window_is_configurable(app, client, clock):
    app.config["BOARD_EDIT_MINUTES"] = 1
    comment_id = own_comment(client)
    clock.advance(minutes=1)
    assert client.get(f"/comments/{comment_id}/edit").status_code == 403


@pytest.mark.one_database
def test_a_tampered_session_cookie_proves_nothing(app, client):
    comment_id = own_comment(client)
    other = app.test_client()
    value = client.get_cookie("session").value
    other.set_cookie("session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert other.get(f"/comments/{comment_id}/edit").status_code == 403


@pytest.mark.one_database
def test_edit_and_delete_need_a_csrf_token(app, client):
    comment_id = own_comment(client, "Guarded")
    assert action(client, comment_id, "edit", token="", content="x").status_code == 400
    assert action(client, comment_id, "delete", token="").status_code == 400
    assert stored(app, comment_id).content == "Guarded"


def test_open_boards_receive_edits_and_deletions_on_the_next_poll(app, client, clock):
    reader = app.test_client()
    edited_id = own_comment(client, "Will change")
    deleted_id = own_comment(client, "Will go")
    poll = soup(reader.get("/")).select_one("#poller")["data-hx-get"]
    assert reader.get(poll, headers=HTMX).status_code == 204

    clock.advance(seconds=30)
    action(client, edited_id, "edit", content="Changed")
    action(client, deleted_id, "delete")
    answer = soup(reader.get(poll, headers=HTMX))
    changed = answer.select("[data-change]")
    assert {tag["id"] for tag in changed} == {f"comment-{edited_id}", f"comment-{deleted_id}"}
    assert answer.select_one(f"#comment-{edited_id} .content").get_text() == "Changed"
    assert "removed" in answer.select_one(f"#comment-{deleted_id}")["class"]

    # The answer's poller asks from there on: the same changes never come twice.
    next_poll = answer.select_one("#poller")["data-hx-get"]
    assert reader.get(next_poll, headers=HTMX).status_code == 204
