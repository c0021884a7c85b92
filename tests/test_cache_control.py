"""HTML pages and htmx fragments carry a CSRF token and one person's controls: no cache may
keep them (Cache-Control: private, no-store). Static files keep their year-long cache."""

import pytest
from werkzeug.security import generate_password_hash

from tests.helpers import HTMX, post, soup

NO_STORE = "private, no-store"


@pytest.fixture
def moderated_client(app_factory):
    app = app_factory(BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(
        "cache", method="pbkdf2:sha256:1000"))
    return app.test_client()


@pytest.mark.one_database
def test_pages_and_fragments_are_private_and_not_stored(moderated_client):
    client = moderated_client
    response = post(client, "Mine", htmx=True)
    comment_id = soup(response).select_one("article.comment")["id"].removeprefix("comment-")
    answers = {
        "the posted fragment": response,
        "the board": client.get("/"),
        "a comment page": client.get(f"/comments/{comment_id}"),
        "a comment fragment": client.get(f"/comments/{comment_id}", headers=HTMX),
        "the edit form": client.get(f"/comments/{comment_id}/edit"),
        "older comments fragment": client.get("/comments?before=999", headers=HTMX),
        "the moderator login": client.get("/moderate/login"),
        "an error page": client.get("/comments/999"),
    }
    for name, answer in answers.items():
        assert answer.mimetype == "text/html", name
        assert answer.headers.get("Cache-Control") == NO_STORE, name


@pytest.mark.one_database
def test_static_files_keep_their_year_long_cache(client):
    for path in ("/static/board.css", "/static/board.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"], path
        assert "no-store" not in response.headers["Cache-Control"], path
