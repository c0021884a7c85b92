"""Authors' edits and deletes are rate limited (BOARD_EDIT_LIMIT), together, per client: past
the limit a POST is a 429 that changes nothing. Opening the forms is not limited."""

import pytest

from board.extensions import db
from tests.helpers import HTMX, csrf_token, post, soup


def own_comment(client, content):
    response = post(client, content, htmx=True)
    assert response.status_code == 201
    return int(soup(response).select_one("article.comment")["id"].removeprefix("comment-"))


def stored(app, comment_id):
    with app.app_context():
        return db.session.execute(db.text("SELECT content, state FROM comments WHERE id = :id"),
                                  {"id": comment_id}).one()


def send(client, comment_id, verb, **data):
    return client.post(f"/comments/{comment_id}/{verb}", headers=HTMX,
                       data={"csrf_token": csrf_token(client), **data})


@pytest.mark.one_database
def test_the_third_edit_in_a_minute_is_a_429_and_changes_nothing(app_factory):
    app = app_factory(BOARD_EDIT_LIMIT="2 per minute")
    client = app.test_client()
    comment_id = own_comment(client, "First")
    for _ in range(3):  # opening the form is free
        assert client.get(f"/comments/{comment_id}/edit").status_code == 200

    assert send(client, comment_id, "edit", content="Second").status_code == 200
    assert send(client, comment_id, "edit", content="Third").status_code == 200
    refused = send(client, comment_id, "edit", content="Fourth")

    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert tuple(stored(app, comment_id)) == ("Third", "visible")
    # Deleting shares the allowance.
    assert send(client, comment_id, "delete").status_code == 429
    assert tuple(stored(app, comment_id)) == ("Third", "visible")
    # Other people are not held back by this client's edits.
    other = app.test_client()
    other_id = own_comment(other, "Elsewhere")
    response = other.post(f"/comments/{other_id}/edit", headers=HTMX,
                          data={"csrf_token": csrf_token(other), "content": "Changed"},
                          environ_base={"REMOTE_ADDR": "192.0.2.20"})
    assert response.status_code == 200
    assert tuple(stored(app, other_id)) == ("Changed", "visible")


@pytest.mark.one_database
def test_the_edit_limit_has_a_default():
    from board.config import Config
    assert Config.BOARD_EDIT_LIMIT == "30 per minute;300 per hour"
