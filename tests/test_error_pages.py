"""Error pages speak the board's words, once; a removed comment's address says it was removed."""

import pytest
import sqlalchemy as sa

from board import models
from board.extensions import db
from tests.helpers import post, soup


@pytest.mark.one_database
@pytest.mark.parametrize("path, method, words", [
    ("/no/such/page", "get", "There is nothing at this address"),
    ("/comments/1/edit", "put", "This address does not take that kind of request"),
])
def test_error_pages_use_the_boards_own_words_and_one_title(client, path, method, words):
    response = getattr(client, method)(path)
    page = soup(response)
    text = page.get_text(" ", strip=True)
    assert words in text
    assert "requested URL" not in text and "the server" not in text
    title = page.find("h1").get_text()
    assert text.count(title) == 2  # the heading and the tab's title, not again in the message


def test_a_removed_comments_permalink_says_it_was_removed(app, client):
    post(client, "Soon gone")
    with app.app_context():
        comment_id = db.session.scalar(sa.select(models.Comment.id))
        models.moderate(comment_id, "hide")
    response = client.get(f"/comments/{comment_id}")
    assert response.status_code == 404
    assert "This comment was removed." in soup(response).select_one(".error-message").get_text()
    assert "There is no such comment." in soup(client.get("/comments/999999")).get_text()
