"""Posting a comment: with htmx, without JavaScript, and every way it can be refused."""

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from board import models, security
from board.extensions import db
from tests.helpers import HTMX, count, csrf_token, error_message, post, soup, textarea_value

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    "<svg onload=alert(1)><circle r=1></svg>",
    '"><b>broken</b',
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "{{7+7}} {% raw %}{{ config }}{% endraw %} ${7+7}",  # Jinja, not Markdown: no asterisks
    "<style>body{display:none}</style>",
]


def stored(app):
    with app.app_context():
        return db.session.execute(select(models.Comment).order_by(models.Comment.id)).scalars().all()


def test_htmx_post_answers_201_with_only_the_new_comment(app, client):
    response = post(client, "Hello from htmx", author="Ada", htmx=True)
    assert response.status_code == 201
    fragment = soup(response)
    assert fragment.find("html") is None and fragment.find("body") is None
    [article] = fragment.find_all("article")
    assert article.select_one(".content").get_text() == "Hello from htmx"
    assert article["id"] == f"comment-{stored(app)[0].id}"


def test_plain_post_redirects_to_the_board_where_the_comment_is_shown(client):
    response = post(client, "Hello without JavaScript", author="Bob")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    article = soup(client.get("/")).select_one("article.comment")
    assert article.select_one(".content").get_text() == "Hello without JavaScript"
    assert article.select_one(".author").get_text() == "Bob"


def test_page_and_fragment_use_the_same_comment_markup(client):
    fragment = soup(post(client, "Same markup", author="Cy", htmx=True)).find("article")
    on_page = soup(client.get("/")).find("article")
    assert str(fragment) == str(on_page)


def test_content_is_trimmed_and_crlf_line_breaks_become_newlines(app, client):
    post(client, "  \r\n line one\r\nline two \r\n ", author="  Di  ")
    [comment] = stored(app)
    assert comment.content == "line one\nline two"
    assert comment.author == "Di"


@pytest.mark.one_database
@pytest.mark.parametrize("content", ["", "   ", "\n\t\r\n"])
def test_blank_comment_is_refused_with_a_message_next_to_the_field(app, client, content):
    response = post(client, content, author="Eve", htmx=True)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#comment-form"
    assert response.headers["HX-Reswap"] == "outerHTML"
    form = soup(response).find("form", id="comment-form")
    textarea = form.find("textarea", attrs={"name": "content"})
    assert textarea["aria-invalid"] == "true"
    error = form.find(id=textarea["aria-describedby"])
    assert error.get_text() == "Write a comment before posting."
    assert form.find("input", attrs={"name": "author"})["value"] == "Eve"
    assert count(app) == 0


def test_content_of_4096_characters_is_accepted_and_4097_refused(app, client):
    assert post(client, "a" * 4096, htmx=True).status_code == 201
    response = post(client, "b" * 4097, htmx=True)
    assert response.status_code == 422
    form = soup(response)
    assert "4096 characters" in form.select_one(".field-error").get_text()
    assert textarea_value(form.find("textarea")) == "b" * 4097
    assert [len(c.content) for c in stored(app)] == [4096]


def test_line_breaks_count_as_one_character(app, client):
    content = "abc\r\n" * 1023 + "abcd"  # 5119 sent, 4096 once CRLF is LF
    assert post(client, content, htmx=True).status_code == 201
    assert len(stored(app)[0].content) == 4096


def test_author_of_64_characters_is_accepted_and_65_refused(app, client):
    assert post(client, "Long name 1", author="n" * 64, htmx=True).status_code == 201
    response = post(client, "Long name 2", author="m" * 65, htmx=True)
    assert response.status_code == 422
    assert "64 characters" in soup(response).select_one(".field-error").get_text()
    assert count(app) == 1


@pytest.mark.one_database
@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\x0c"])
@pytest.mark.parametrize("field", ["content", "author"])
def test_control_characters_are_refused(app, client, field, bad):
    data = {"content": "fine", "author": "fine", field: f"x{bad}y"}
    response = post(client, htmx=True, **data)
    assert response.status_code == 422
    assert "control characters" in soup(response).select_one(".field-error").get_text()
    assert count(app) == 0


def test_tabs_and_newlines_are_kept(app, client):
    post(client, "col1\tcol2\nrow2")
    assert stored(app)[0].content == "col1\tcol2\nrow2"


@pytest.mark.one_database
def test_refused_plain_post_shows_the_whole_page_with_the_message_and_the_text(app, client):
    response = post(client, " ", author="Fay")
    assert response.status_code == 422
    page = soup(response)
    assert page.find("html") is not None
    assert page.select_one(".field-error").get_text() == "Write a comment before posting."
    assert page.find("input", attrs={"name": "author"})["value"] == "Fay"
    assert page.select_one("#comments") is not None
    assert count(app) == 0


@pytest.mark.one_database
def test_missing_content_field_is_a_422(app, client):
    response = client.post("/comments", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 422
    assert count(app) == 0


@pytest.mark.one_database
def test_post_without_csrf_token_is_refused(app, client):
    response = post(client, "No token", token=False)
    assert response.status_code == 400
    assert count(app) == 0


@pytest.mark.one_database
def test_post_with_a_forged_csrf_token_is_refused_and_keeps_the_text(app, client):
    client.get("/")
    response = client.post("/comments", data={"content": "Forged", "csrf_token": "forged"},
                           headers=HTMX)
    assert response.status_code == 400
    form = soup(response).find("form", id="comment-form")
    assert "expired" in form.select_one(".form-error").get_text()
    assert textarea_value(form.find("textarea")) == "Forged"
    assert count(app) == 0


@pytest.mark.one_database
def test_token_from_another_session_is_refused(app, client):
    other = app.test_client()
    response = client.post("/comments", data={"content": "Stolen", "csrf_token": csrf_token(other)})
    assert response.status_code == 400
    assert count(app) == 0


@pytest.mark.one_database
def test_a_sessions_signed_token_is_reused_for_a_minute_and_then_signed_anew(app, client, monkeypatch):
    """Signing the token was a tenth of a page view (board/security.py): a worker signs a
    session's token once a minute for the board's page. Another session never gets it; a
    reused one still posts."""
    assert post(client, "The board's first comment").status_code == 303  # the page is a shell now
    first = csrf_token(client)
    time.sleep(1.1)  # a token signed now would carry another second
    again = csrf_token(client)
    assert again == first
    other = app.test_client()
    assert csrf_token(other) != first
    assert post(client, "With a reused token", htmx=True).status_code == 201
    monkeypatch.setattr(security, "CSRF_REUSE_SECONDS", 0)
    time.sleep(1.1)
    fresh = csrf_token(client)
    assert fresh != first
    response = client.post("/comments", data={"content": "Old token", "csrf_token": first},
                           headers=HTMX)
    assert response.status_code == 201  # an hour's validity, whichever was shown


@pytest.mark.one_database
def test_csrf_token_in_header_is_accepted(app, client):
    token = soup(client.get("/")).find("meta", {"name": "csrf-token"})["content"]
    response = client.post("/comments", data={"content": "Header token"},
                           headers={"X-CSRFToken": token, **HTMX})
    assert response.status_code == 201


@pytest.mark.one_database
@pytest.mark.parametrize("content", [b"caf%E9", b"caf\xe9", b"%ED%A0%80"])
def test_non_utf8_body_is_a_400(app, client, content):
    token = csrf_token(client)
    body = f"csrf_token={token}&content=".encode() + content
    response = client.post("/comments", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "UTF-8" in soup(response).get_text()
    assert count(app) == 0


@pytest.mark.one_database
def test_json_body_is_refused_as_unsupported(app, client):
    token = csrf_token(client)
    response = client.post("/comments", json={"content": "json"}, headers={"X-CSRFToken": token})
    assert response.status_code == 415
    assert count(app) == 0


@pytest.mark.one_database
def test_multipart_body_is_refused_as_unsupported(app, client):
    data = {"csrf_token": csrf_token(client), "content": "multipart"}
    response = client.post("/comments", data=data, content_type="multipart/form-data")
    assert response.status_code == 415
    assert count(app) == 0


@pytest.mark.one_database
@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_wrong_method_is_a_405(app, client, method):
    response = getattr(client, method)("/comments")
    assert response.status_code == 405
    assert count(app) == 0


@pytest.mark.one_database
def test_body_over_the_limit_is_a_413(app, client):
    token = csrf_token(client)
    response = client.post("/comments", data={"csrf_token": token, "content": "x" * 70_000})
    assert response.status_code == 413
    assert count(app) == 0


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_markup_in_author_and_content_renders_as_text(client, payload):
    fragment = soup(post(client, payload, author=payload[:64], htmx=True))
    page = soup(client.get("/"))
    for html in (fragment, page):
        article = html.find("article")
        assert article.select_one(".content").get_text() == payload
        assert article.select_one(".author").get_text() == payload[:64]
        for tag in ("script", "img", "svg", "iframe", "style", "b"):
            assert article.find(tag) is None
        assert not any(attr.startswith("on") for tag in article.find_all(True) for attr in tag.attrs)


def test_posted_is_set_by_the_clock_at_insert_time(app, client, clock):
    post(client, "At the first moment")
    clock.advance(minutes=3, microseconds=250)
    post(client, "Three minutes later")
    first, second = stored(app)
    assert first.posted == datetime(2017, 7, 7, 18, 47, 5, 123456, tzinfo=timezone.utc)
    assert second.posted - first.posted == timedelta(minutes=3, microseconds=250)


def test_posted_default_is_evaluated_per_insert_not_at_import():
    default = models.Comment.__table__.c.posted.default
    assert default.is_callable and not default.is_scalar


@pytest.mark.one_database
def test_honeypot_post_looks_accepted_and_stores_nothing(app, client):
    response = post(client, "Buy now", website="http://spam.example", htmx=True)
    assert response.status_code == 201
    assert response.get_data(as_text=True) == ""
    assert post(client, "Buy more", website="x").status_code == 303
    assert count(app) == 0


@pytest.mark.one_database
def test_same_content_from_the_same_client_within_ten_seconds_is_stored_once(app, client):
    assert post(client, "Double submit", htmx=True).status_code == 201
    assert post(client, "Double submit", htmx=True).status_code == 201
    assert post(client, "Double submit").status_code == 303
    assert post(client, "Something else", htmx=True).status_code == 201
    assert [c.content for c in stored(app)] == ["Double submit", "Something else"]


@pytest.mark.one_database
def test_same_content_from_another_client_is_stored(app, client):
    other = app.test_client()
    post(client, "+1")
    other.post("/comments", data={"content": "+1", "csrf_token": csrf_token(other)},
               environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert [c.content for c in stored(app)] == ["+1", "+1"]


@pytest.mark.one_database
@pytest.mark.parametrize("parent", [False, True], ids=["comment", "reply"])
def test_a_post_over_the_limit_without_javascript_keeps_the_text_and_says_why(app_factory, parent):
    app = app_factory(BOARD_POST_LIMIT="1 per minute")
    client = app.test_client()
    fields = {}
    if parent:
        assert post(client, "The first comment").status_code == 303
        with app.app_context():
            fields["parent"] = str(db.session.scalar(select(models.Comment.id)))
    else:
        assert post(client, "A first comment").status_code == 303
    response = post(client, "Typed with care\nover two lines", author="Ann", **fields)
    assert response.status_code == 429
    page = soup(response)
    assert textarea_value(page.find("textarea", {"name": "content"})) == "Typed with care\nover two lines"
    assert page.find("input", {"name": "author"})["value"] == "Ann"
    assert "Your text is kept" in error_message(response) and "1 per 1 minute" in error_message(response)
    if parent:
        assert page.select_one("form.reply-form")
    assert count(app) == 1
