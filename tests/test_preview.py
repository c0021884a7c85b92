"""Preview: POST /preview shows a comment (or a reply) as it would show, and stores nothing. With
htmx the rendered HTML comes back in place; without JavaScript the form's page comes back with the
text kept and the preview under it. Nothing here depends on the database: nothing is stored."""

import pytest

from board.rules import CONTENT_MAX
from tests.helpers import HTMX, count, csrf_token, error_message, post, soup, textarea_value

pytestmark = pytest.mark.one_database


def preview(client, content, htmx=True, token=True, **fields):
    data = {"content": content, "author": "", **fields}
    if token:
        data["csrf_token"] = csrf_token(client)
    return client.post("/preview", data=data, headers=HTMX if htmx else {})


def thread(client, content="Start"):
    response = post(client, content, htmx=True)
    assert response.status_code == 201
    return int(soup(response).select_one("article.comment")["id"].removeprefix("comment-"))


def test_preview_with_htmx_answers_the_rendered_html_and_stores_nothing(app, client):
    before = count(app)
    response = preview(client, "**bold** and *soft*")
    assert response.status_code == 200
    html = soup(response)
    assert html.find("html") is None and html.find("form") is None
    assert html.select_one(".preview-label").get_text(strip=True) == "Preview"
    content = html.select_one("div.content")
    assert content.find("strong").get_text() == "bold"
    assert content.find("em").get_text() == "soft"
    assert count(app) == before


def test_preview_shows_html_as_text_and_links_as_safe_links(client):
    content = soup(preview(client, "<script>x()</script> https://example.com")).select_one(
        "div.content")
    assert content.find("script") is None
    assert "<script>x()</script>" in content.get_text()
    assert content.find("a").get_attribute_list("rel") == ["nofollow", "ugc", "noopener"]


def test_preview_of_a_reply_with_htmx_renders_and_stores_nothing(app, client):
    parent = thread(client)
    before = count(app)
    response = preview(client, "`code` in a reply", parent=str(parent))
    assert response.status_code == 200
    assert soup(response).select_one("div.content code").get_text() == "code"
    assert count(app) == before


@pytest.mark.parametrize("content, message", [
    ("", "Write a comment before posting."),
    ("   \n  ", "Write a comment before posting."),
    ("x" * (CONTENT_MAX + 1), f"Keep your comment to {CONTENT_MAX} characters."),
])
def test_invalid_content_with_htmx_is_422_with_the_message(app, client, content, message):
    before = count(app)
    response = preview(client, content)
    assert response.status_code == 422
    assert message in soup(response).get_text(" ", strip=True)
    assert soup(response).select("div.content") == []
    assert count(app) == before


def test_the_longest_comment_previews(client):
    assert preview(client, "x" * CONTENT_MAX).status_code == 200


def test_preview_without_javascript_is_the_board_with_the_text_kept(app, client):
    typed = "Line *one*\nline <two> & three"
    before = count(app)
    response = preview(client, typed, htmx=False, author="Ann")
    assert response.status_code == 200
    page = soup(response)
    form = page.select_one("form#comment-form")
    assert textarea_value(form.find("textarea", {"name": "content"})) == typed
    assert form.find("input", {"name": "author"})["value"] == "Ann"
    shown = page.select_one("#preview div.content")
    assert shown.find("em").get_text() == "one"
    assert "line <two> & three" in shown.get_text()
    assert page.select_one("#comments") is not None  # the board, not a page of its own
    assert count(app) == before


def test_an_invalid_preview_without_javascript_is_the_board_with_the_message(app, client):
    response = preview(client, "", htmx=False, author="Ann")
    assert response.status_code == 422
    page = soup(response)
    assert "Write a comment before posting." in error_message(response)
    assert page.select_one("form#comment-form input[name=author]")["value"] == "Ann"
    assert page.select("#preview div.content") == []


def test_preview_of_a_reply_without_javascript_is_the_reply_page(app, client):
    parent = thread(client, "Answer me")
    typed = "Reply with **weight**"
    before = count(app)
    response = preview(client, typed, htmx=False, author="Bob", parent=str(parent))
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one(f"article#comment-{parent}") is not None
    form = page.select_one(f"form#reply-form-{parent}")
    assert form.find("input", {"name": "parent"})["value"] == str(parent)
    assert textarea_value(form.find("textarea", {"name": "content"})) == typed
    assert form.find("input", {"name": "author"})["value"] == "Bob"
    assert page.select_one(f"#preview-{parent} div.content strong").get_text() == "weight"
    assert page.select_one("form#comment-form") is None
    assert count(app) == before


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_preview_needs_a_csrf_token(app, client, htmx):
    before = count(app)
    response = preview(client, "**no token**", htmx=htmx, token=False)
    assert response.status_code == 400
    assert soup(response).select("div.content strong") == []
    assert count(app) == before


def preview_button(form):
    [button] = form.select("button.preview-button")
    return button


def test_the_boards_form_has_a_preview_button(client):
    form = soup(client.get("/")).select_one("form#comment-form")
    button = preview_button(form)
    assert button.get_text(strip=True) == "Preview"
    assert button["type"] == "submit"
    assert button["formaction"] == "/preview" and button["data-hx-post"] == "/preview"
    assert form.select_one(button["data-hx-target"]) is not None  # its answer lands in the form


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_the_reply_form_has_a_preview_button(client, htmx):
    parent = thread(client)
    html = soup(client.get(f"/comments/{parent}/reply", headers=HTMX if htmx else {}))
    form = html.select_one(f"form#reply-form-{parent}")
    button = preview_button(form)
    assert button["formaction"] == "/preview" and button["data-hx-post"] == "/preview"
    assert button["data-hx-target"] == f"#preview-{parent}"
    assert form.select_one(button["data-hx-target"]) is not None


def test_previews_of_two_reply_forms_land_in_their_own_forms(client):
    one, two = thread(client, "One"), thread(client, "Two")
    targets = {preview_button(soup(client.get(f"/comments/{n}/reply", headers=HTMX))
                              .find("form"))["data-hx-target"] for n in (one, two)}
    assert targets == {f"#preview-{one}", f"#preview-{two}"}
