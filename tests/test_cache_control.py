"""HTML pages and htmx fragments carry a CSRF token and one person's controls: no cache may
keep them (Cache-Control: private, no-store). Static files keep their year-long cache."""

import pytest
from werkzeug.security import generate_password_hash

from board import models
from tests.helpers import HTMX, post, soup
from tests.test_live_updates import poller_of

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


@pytest.mark.one_database
def test_a_poll_that_brings_news_is_the_same_for_every_reader_and_may_be_shared(client, app):
    """Every tab that asks a poll's URL gets one answer, which a shared cache (nginx) may keep for
    a second: written for nobody (the author's own parts left as markers, which board.js fills
    from the page), in the language the URL names, and neither reading nor setting a cookie."""
    url = poller_of(client.get("/"))
    assert url.endswith("&lang=en")
    mine = int(soup(post(client, "Mine", htmx=True)).select_one("article.comment")["id"]
               .removeprefix("comment-"))
    stranger = app.test_client()
    stranger.set_cookie("language", "de")
    answers = [client.get(url, headers=HTMX),
               stranger.get(url, headers=HTMX | {"Accept-Language": "fr"})]
    for answer in answers:
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "public, max-age=1"
        assert answer.headers["X-Accel-Expires"].startswith("@")
        assert "Set-Cookie" not in answer.headers
        assert not {"cookie", "accept-language"} & {v.strip().lower() for v in
                                                    answer.headers.get("Vary", "").split(",")}
    body = answers[0].get_data(as_text=True)
    assert body == answers[1].get_data(as_text=True)
    assert f"<!--you:{mine}-->" in body and f"<!--own:{mine}-->" in body
    assert soup(answers[0]).select(".you, .own-actions") == []
    # The URL's language, whoever asks: German for a German page's tabs.
    with app.app_context():
        models.moderate(mine, "hide")
    german = stranger.get(poller_of(answers[0]).replace("lang=en", "lang=de"), headers=HTMX)
    assert "Dieser Kommentar wurde entfernt." in german.get_data(as_text=True)
