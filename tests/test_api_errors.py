"""Errors under /api/ are JSON for machines; and an HTTPS post whose Referer a privacy setting
removed says so, instead of asking to press Post again (which fails the same way)."""

import pytest

from tests.helpers import HTMX, soup

pytestmark = pytest.mark.one_database
SECRET = "a-long-random-production-secret-of-48-characters"


@pytest.mark.parametrize("path, status", [
    ("/api/comments?limit=0", 400), ("/api/nothing-here", 404), ("/api/comments?before=x", 400),
])
def test_api_errors_are_json(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == status and error["message"]


def test_an_api_method_not_allowed_is_json(client):
    response = client.post("/api/comments")
    assert response.status_code in (400, 405)  # CSRF may answer first
    assert response.get_json()["error"]["status"] == response.status_code


def test_pages_keep_their_html_errors(client):
    response = client.get("/nothing-here")
    assert response.status_code == 404 and response.mimetype == "text/html"


@pytest.mark.parametrize("htmx", [False, True])
def test_an_https_post_without_referer_says_what_to_allow(app_factory, htmx):
    app = app_factory("production", SECRET_KEY=SECRET)
    client = app.test_client()
    base = "https://board.example.org"
    token = soup(client.get("/", base_url=base)).find("input", {"name": "csrf_token"})["value"]
    response = client.post("/comments", base_url=base, headers=HTMX if htmx else {},
                           data={"content": "Kept", "author": "", "csrf_token": token})
    assert response.status_code == 400
    text = soup(response).get_text(" ")
    assert "did not say which page this post came from" in text
    assert "press Post again" not in text
    assert soup(response).find("textarea").get_text().strip() == "Kept"


def test_an_expired_form_still_asks_to_post_again(client):
    response = client.post("/comments", data={"content": "Kept", "csrf_token": "stale"})
    assert response.status_code == 400
    assert "press Post again" in soup(response).get_text(" ")

