"""Headers, cookies, error pages and abuse limits."""

import logging

import pytest
from flask_limiter.util import get_qualified_name

from board.extensions import limiter
from board.security import CONTENT_SECURITY_POLICY
from tests.helpers import HTMX, add_comments, count, csrf_token, error_message, post, soup

# Headers, cookies, error pages and the in-memory limits are the app's, whatever the database.
pytestmark = pytest.mark.one_database


def directives(policy):
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_content_security_policy_allows_only_our_own_scripts_and_styles():
    policy = directives(CONTENT_SECURITY_POLICY)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in source for sources in policy.values() for source in sources)


@pytest.mark.parametrize(
    "method, path, headers",
    [("get", "/", {}), ("get", "/comments?after=0", HTMX), ("get", "/comments?after=999999", HTMX),
     ("get", "/healthz", {}), ("get", "/static/board.css", {}), ("get", "/nope", {}),
     ("get", "/?before=x", {}), ("post", "/comments", HTMX)],
)
def test_every_response_carries_the_security_headers(client, method, path, headers):
    response = getattr(client, method)(path, headers=headers)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Request-ID"]


def test_htmx_is_configured_to_need_no_eval_and_no_injected_styles(client):
    import json

    config = json.loads(soup(client.get("/")).find("meta", {"name": "htmx-config"})["content"])
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False


def test_pages_have_no_inline_scripts_styles_or_handlers(app, client):
    add_comments(app, 3)
    for url in ["/", "/?before=999999", f"/comments/{add_comments(app, 1)[0]}", "/missing"]:
        page = soup(client.get(url))
        assert all(script.get("src") for script in page.find_all("script"))
        assert page.find("style") is None
        for tag in page.find_all(True):
            assert not [name for name in tag.attrs if name.startswith("on") or name == "style"]
            assert not [name for name in tag.attrs if name.startswith(("hx-on", "data-hx-on"))]


def test_session_cookie_is_httponly_and_samesite_lax(client):
    client.get("/")
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_production_session_cookie_is_secure(app_factory):
    app = app_factory("production", SECRET_KEY="a-long-random-production-secret-of-48-characters")
    response = app.test_client().get("/", base_url="https://board.example")
    assert "Secure" in response.headers["Set-Cookie"]


ERRORS = [
    (400, lambda c, h: c.get("/?before=zzz", headers=h)),
    (404, lambda c, h: c.get("/comments/424242", headers=h)),
    (405, lambda c, h: c.delete("/", headers=h)),
    (413, lambda c, h: c.post("/comments", data={"content": "x" * 70_000}, headers=h)),
    (415, lambda c, h: c.post("/comments", json={}, headers={"X-CSRFToken": csrf_token(c), **h})),
    (422, lambda c, h: c.post("/comments", data={"content": " ", "csrf_token": csrf_token(c)}, headers=h)),
]


@pytest.mark.parametrize("status, request_", ERRORS, ids=[str(status) for status, _ in ERRORS])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_error_answers_are_our_own_pages_or_fragments_without_internals(client, status, request_, htmx):
    response = request_(client, HTMX if htmx else {})
    assert response.status_code == status
    html = soup(response)
    assert (html.find("html") is None) is htmx
    text = html.get_text()
    assert error_message(response)
    for leak in ("Traceback", "File \"", "/work/", "site-packages", "SELECT ", "werkzeug"):
        assert leak not in text


def test_an_unexpected_error_is_logged_with_a_request_id_and_never_shown(app_factory, caplog):
    app = app_factory("production", SECRET_KEY="a-long-random-production-secret-of-48-characters")

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail /etc/passwd")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "secret detail" not in response.get_data(as_text=True)
    assert soup(response).h1.get_text() == "Something went wrong"
    request_id = response.headers["X-Request-ID"]
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.request_id == request_id
    assert "secret detail" in str(record.exc_info[1])


def test_post_limit_applies_per_client_and_says_when_to_retry(app_factory):
    app = app_factory(BOARD_POST_LIMIT="2 per minute")
    client, other = app.test_client(), app.test_client()
    for n in range(2):
        assert post(client, f"allowed {n}", htmx=True).status_code == 201
    refused = post(client, "one too many", htmx=True)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "faster than this board allows" in soup(refused).get_text()
    elsewhere = other.post("/comments",
                           data={"content": "from elsewhere", "csrf_token": csrf_token(other)},
                           environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert elsewhere.status_code == 303
    assert count(app) == 3


@pytest.mark.one_database
def test_every_limit_is_on_a_post(app):
    """views.unlimited lets every GET and HEAD past the limiter: that holds only while no limit
    counts them. A limit on a route that answers GET must name its methods, without GET."""
    decorated = limiter.limit_manager._decorated_limits
    limited = 0
    for rule in app.url_map.iter_rules():
        for group in decorated.get(get_qualified_name(app.view_functions[rule.endpoint]), ()):
            limited += 1
            methods = {m.upper() for m in group.methods or rule.methods}
            assert methods <= {"POST", "OPTIONS"}, (rule.rule, methods)
    assert limited >= 5  # posts, previews, edits, subscriptions, logins
    assert not limiter.limit_manager.default_limits
    assert not limiter.limit_manager.application_limits


def test_a_page_view_counts_nothing_and_a_post_still_does(app_factory):
    app = app_factory(BOARD_POST_LIMIT="1 per minute")
    client = app.test_client()
    for _ in range(3):
        assert client.get("/").status_code == 200
        assert client.head("/").status_code == 200
    assert post(client, "counted", htmx=True).status_code == 201
    assert post(client, "over", htmx=True).status_code == 429


def test_rejected_posts_do_not_use_up_the_allowance(app_factory):
    app = app_factory(BOARD_POST_LIMIT="1 per minute")
    client = app.test_client()
    for _ in range(3):
        assert post(client, " ", htmx=True).status_code == 422
    assert post(client, "finally", htmx=True).status_code == 201
    assert count(app) == 1


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(app_factory):
    app = app_factory(BOARD_POST_LIMIT="1 per minute")
    client = app.test_client()
    assert post(client, "first").status_code == 303
    token = csrf_token(client)
    spoofed = client.post("/comments", data={"content": "second", "csrf_token": token},
                          headers={"X-Forwarded-For": "203.0.113.50"})
    assert spoofed.status_code == 429
