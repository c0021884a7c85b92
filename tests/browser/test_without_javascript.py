"""With JavaScript off, the board is an ordinary form and ordinary links."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from board.extensions import db
from tests.browser.conftest import comment_texts, settle

pytestmark = pytest.mark.browser


@pytest.fixture
def plain_page(new_context):
    return new_context(java_script_enabled=False).new_page()


def test_posting_without_javascript_is_post_redirect_get(plain_page, live_server):
    page = plain_page
    live_server.add(
        "Already here", author="Nadia", posted=datetime(2017, 7, 7, 18, 47, 5, tzinfo=timezone.utc)
    )
    page.goto("/")
    assert page.evaluate("1 + 1") == 2  # (the DevTools protocol still evaluates)
    assert page.evaluate("typeof window.htmx") == "undefined"

    page.fill("#author", "Tim Berners-Lee")
    page.fill("#content", "Plain HTML forms still work")
    settle(page)
    with page.expect_response(lambda r: r.request.method == "POST") as posted, \
            page.expect_navigation():
        page.click("#post-button")

    assert posted.value.status == 303
    assert posted.value.headers["location"].endswith("/")
    assert page.url.rstrip("/") == live_server.url
    assert comment_texts(page) == ["Plain HTML forms still work", "Already here"]
    expect(page.locator("#content")).to_have_value("")
    assert live_server.count() == 2
    # Reloading the page after the redirect does not post again.
    settle(page)
    page.reload()
    assert live_server.count() == 2
    # Without the script, times stay as the server wrote them.
    expect(page.locator("time.posted").last).to_have_text("Friday, 07 July 2017 at 18:47 UTC")
    expect(page.locator("time.posted").last).to_have_attribute(
        "title", "Friday, 07 July 2017 at 18:47 UTC")


def test_paging_without_javascript_follows_links(plain_page, live_server):
    page = plain_page
    ids = live_server.add_many(120, start=datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc))
    newest_first = [f"Comment {i}" for i in reversed(range(120))]
    page.goto("/")
    assert comment_texts(page) == newest_first[:50]

    older = page.locator("a.older")
    assert older.get_attribute("href") == f"/?before={ids[70]}"
    settle(page)
    with page.expect_navigation():
        older.click()
    assert page.url == f"{live_server.url}/?before={ids[70]}"
    assert comment_texts(page) == newest_first[50:100]

    settle(page)
    with page.expect_navigation():
        page.click("a.older")
    assert page.url == f"{live_server.url}/?before={ids[20]}"
    assert comment_texts(page) == newest_first[100:]
    expect(page.locator("a.older")).to_have_count(0)

    settle(page)
    with page.expect_navigation():
        page.click("text=Back to the newest comments")
    assert comment_texts(page) == newest_first[:50]


# --- Replies, Preview and "Show N more replies" without JavaScript ------------------------------

THREAD_START = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)


def max_id(live_server):
    """The newest comment's id: the one just posted."""
    with live_server.app.app_context():
        return db.session.scalar(text("SELECT MAX(id) FROM comments"))


def navigate(page, action):
    """Do `action` (a click that submits or follows a link) and wait for the page it leads to."""
    settle(page)
    with page.expect_navigation():
        action()


def test_reply_without_javascript_goes_to_the_reply_page_and_back_to_the_reply(
        plain_page, live_server):
    page = plain_page
    first = live_server.add("Where shall we meet?", author="Maya Chen", posted=THREAD_START)
    page.goto("/")
    reply_link = page.locator(f"#comment-{first} a.reply")
    assert reply_link.get_attribute("href") == f"/comments/{first}/reply"

    navigate(page, reply_link.click)
    assert page.url == f"{live_server.url}/comments/{first}/reply"
    expect(page.locator("h1")).to_have_text("Reply to Maya Chen")
    expect(page).to_have_title("Reply to Maya Chen · Board")
    expect(page.locator(f"#comment-{first} .content")).to_have_text("Where shall we meet?")
    form = page.locator(f"#reply-form-{first}")
    expect(form).to_have_attribute("action", "/comments")
    form.get_by_label("Name").fill("Tom Ellis")
    form.get_by_label("Your reply").fill("By the **fountain**.")
    settle(page)
    with page.expect_response(lambda r: r.request.method == "POST") as posted, \
            page.expect_navigation():
        form.get_by_role("button", name="Reply", exact=True).click()

    assert posted.value.status == 303
    reply_id = max_id(live_server)
    location = posted.value.headers["location"]
    assert location.endswith(f"/comments/{reply_id}#comment-{reply_id}")
    assert page.url == f"{live_server.url}/comments/{reply_id}#comment-{reply_id}"
    # The thread's page, with the new reply marked and scrolled to.
    expect(page.locator(f"#thread-{first} > article.comment .content")).to_have_text(
        ["Where shall we meet?", "By the fountain."])
    marked = page.locator("article.comment.marked")
    expect(marked).to_have_id(f"comment-{reply_id}")
    expect(marked).to_have_attribute("aria-current", "true")
    expect(page.locator(":target")).to_have_id(f"comment-{reply_id}")
    expect(marked.locator(".content strong")).to_have_text("fountain")
    expect(page).to_have_title("Comment by Tom Ellis · Board")
    assert live_server.count() == 2

    # A reply to that reply joins the same thread and says whom it answers.
    navigate(page, marked.locator("a.reply").click)
    assert page.url == f"{live_server.url}/comments/{reply_id}/reply"
    page.get_by_label("Your reply").fill("Which fountain?")
    navigate(page, page.get_by_role("button", name="Reply", exact=True).click)
    second = max_id(live_server)
    assert page.url.endswith(f"/comments/{second}#comment-{second}")
    expect(page.locator(f"#thread-{first} > article.reply .content")).to_have_text(
        ["By the fountain.", "Which fountain?"])
    expect(page.locator(f"#comment-{second} .in-reply-to")).to_have_text("in reply to Tom Ellis")
    expect(page.locator(f"#thread-{first} .reply-count")).to_have_text("2 replies")

    # And the board shows the thread with both replies, without any script.
    navigate(page, page.get_by_role("link", name="All comments").click)
    expect(page.locator(f"#thread-{first} > article.reply .content")).to_have_text(
        ["By the fountain.", "Which fountain?"])


def test_cancel_on_the_reply_page_goes_back_to_the_comment(plain_page, live_server):
    page = plain_page
    first = live_server.add("Anyone?", author="Maya Chen")
    page.goto(f"/comments/{first}/reply")
    navigate(page, page.get_by_role("link", name="Cancel").click)
    assert page.url == f"{live_server.url}/comments/{first}"
    expect(page.locator("article.comment.marked")).to_have_id(f"comment-{first}")
    assert live_server.count() == 1


def test_rejected_reply_without_javascript_keeps_the_text(plain_page, live_server, problems):
    problems.allow(r"response 422: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    page = plain_page
    first = live_server.add("Anyone?", author="Maya Chen")
    page.goto(f"/comments/{first}/reply")
    page.get_by_label("Name").fill("Tom Ellis")
    page.get_by_label("Your reply").fill("   ")  # passes `required`, fails on the server
    navigate(page, page.get_by_role("button", name="Reply", exact=True).click)
    expect(page.locator(f"#reply-{first}-content-error")).to_have_text(
        "Write a comment before posting.")
    expect(page.locator(f"#reply-{first}-author")).to_have_value("Tom Ellis")
    expect(page.locator("h1")).to_have_text("Reply to Maya Chen")
    assert live_server.count() == 1


def test_preview_without_javascript_shows_the_page_with_the_preview_and_the_text_kept(
        plain_page, live_server):
    page = plain_page
    live_server.add("Already here", author="Nadia")
    page.goto("/")
    typed = "**bold** and a link http://example.com"
    page.fill("#author", "Ada")
    page.fill("#content", typed)
    settle(page)
    with page.expect_response(lambda r: r.request.method == "POST") as previewed, \
            page.expect_navigation():
        page.click("button.preview-button")

    assert previewed.value.status == 200
    assert previewed.value.url.endswith("/preview")
    preview = page.locator("#preview")
    expect(preview.locator("strong")).to_have_text("bold")
    expect(preview.locator("a")).to_have_attribute("rel", "nofollow ugc noopener")
    expect(page.locator("#content")).to_have_value(typed)
    expect(page.locator("#author")).to_have_value("Ada")
    assert comment_texts(page) == ["Already here"]  # the board around it, nothing posted
    assert live_server.count() == 1

    # Post from there: stored once, back on the board.
    navigate(page, lambda: page.click("#post-button"))
    assert page.url.rstrip("/") == live_server.url
    assert comment_texts(page) == ["bold and a link http://example.com", "Already here"]
    expect(page.locator("#preview")).to_be_empty()
    assert live_server.count() == 2


def test_preview_of_a_reply_without_javascript_stays_on_the_reply_page(plain_page, live_server):
    page = plain_page
    first = live_server.add("Markdown here?", author="Maya Chen")
    page.goto(f"/comments/{first}/reply")
    page.get_by_label("Your reply").fill("`code` works")
    navigate(page, page.get_by_role("button", name="Preview").click)
    expect(page.locator("h1")).to_have_text("Reply to Maya Chen")
    expect(page.locator(f"#preview-{first} code")).to_have_text("code")
    expect(page.get_by_label("Your reply")).to_have_value("`code` works")
    assert live_server.count() == 1

    navigate(page, page.get_by_role("button", name="Reply", exact=True).click)
    reply_id = max_id(live_server)
    assert page.url.endswith(f"/comments/{reply_id}#comment-{reply_id}")
    expect(page.locator(f"#comment-{reply_id} .content code")).to_have_text("code")


def test_preview_of_an_empty_comment_without_javascript_says_why(plain_page, live_server,
                                                                   problems):
    problems.allow(r"response 422: POST .*/preview$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    page = plain_page
    page.goto("/")
    page.fill("#content", "   ")
    navigate(page, lambda: page.click("button.preview-button"))
    expect(page.locator("#content-error")).to_have_text("Write a comment before posting.")
    expect(page.locator("#preview")).to_be_empty()
    assert live_server.count() == 0


def test_show_more_replies_without_javascript_follows_the_link(plain_page, live_server):
    page = plain_page
    first = live_server.add("Who is coming?", author="Maya Chen", posted=THREAD_START)
    replies = [live_server.add(f"Reply {i}", parent=first,
                               posted=THREAD_START + timedelta(minutes=i + 1)) for i in range(5)]
    page.goto("/")
    shown = page.locator(f"#thread-{first} > article.reply .content")
    expect(shown).to_have_text(["Reply 0", "Reply 1", "Reply 2"])
    more = page.locator(f"#thread-{first} a.more-replies")
    expect(more).to_have_text("Show 2 more replies")
    assert more.get_attribute("href") == f"/comments/{first}/replies?after={replies[2]}"

    navigate(page, more.click)
    assert page.url == f"{live_server.url}/comments/{first}/replies?after={replies[2]}"
    # The thread's page from there on: its first comment, then the rest, and a way back.
    expect(page.locator(f"#thread-{first} > article.comment .content")).to_have_text(
        ["Who is coming?", "Reply 3", "Reply 4"])
    expect(page.locator("a.more-replies")).to_have_count(0)
    navigate(page, page.get_by_role("link", name="Earlier replies").click)
    assert page.url == f"{live_server.url}/comments/{first}"
    expect(page.locator(f"#thread-{first} > article.reply .content")).to_have_text(
        [f"Reply {i}" for i in range(5)])


# --- Refusals, the name remembered, and what only the script adds --------------------------------

@pytest.fixture
def post_limit(live_server):
    """One post per 7 minutes for this test (a limit no other test uses, so its own count)."""
    config = live_server.app.config
    old = config["BOARD_POST_LIMIT"]
    config["BOARD_POST_LIMIT"] = "1 per 7 minutes"
    yield
    config["BOARD_POST_LIMIT"] = old


def test_a_post_refused_for_going_too_fast_keeps_the_text_and_says_why(plain_page, live_server,
                                                                      post_limit, problems):
    problems.allow(r"response 429: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 429")
    page = plain_page
    page.goto("/")
    page.fill("#author", "Ada")
    page.fill("#content", "The first one goes through")
    navigate(page, lambda: page.click("#post-button"))
    assert comment_texts(page) == ["The first one goes through"]

    typed = "The second one, typed with care\nover two lines"
    page.fill("#content", typed)
    settle(page)
    with page.expect_response(lambda r: r.request.method == "POST") as refused, \
            page.expect_navigation():
        page.click("#post-button")
    assert refused.value.status == 429
    # The same page, the text and name kept, and why, in words, where the form is.
    expect(page.locator("h1")).to_have_text("Comments")
    expect(page.locator("#content")).to_have_value(typed)
    expect(page.locator("#author")).to_have_value("Ada")
    reason = page.locator("#comment-form .form-error")
    expect(reason).to_contain_text("Your text is kept")
    expect(reason).to_contain_text("1 per 7 minute")
    expect(reason).to_have_attribute("role", "alert")
    assert comment_texts(page) == ["The first one goes through"]
    assert live_server.count() == 1


def test_a_post_refused_for_its_text_keeps_it_and_says_why(plain_page, live_server, problems):
    problems.allow(r"response 422: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    page = plain_page
    page.goto("/")
    page.fill("#author", "Ada")
    page.fill("#content", "A bell \x07 in the middle")
    navigate(page, lambda: page.click("#post-button"))
    expect(page.locator("#content-error")).to_contain_text("control characters")
    assert page.input_value("#content") == "A bell \x07 in the middle"
    expect(page.locator("#author")).to_have_value("Ada")
    assert live_server.count() == 0


def test_what_only_the_script_adds_is_absent_and_the_rest_works(plain_page, live_server):
    page = plain_page
    long = live_server.add(" ".join(["A long comment that goes on."] * 40), author="Lena")
    page.goto("/")
    # No Ctrl+Enter without the script, so no hint; no "new comments" (nothing arrives by
    # itself); the whole of a long comment, no "Show more".
    expect(page.locator("#comment-form .keys")).to_be_hidden()
    expect(page.locator("#new-comments")).to_be_hidden()
    expect(page.locator(f"#comment-{long} button.show-more")).to_have_count(0)
    expect(page.locator(f"#comment-{long} .content")).to_have_text(
        " ".join(["A long comment that goes on."] * 40))
    content = page.locator(f"#comment-{long} .content")
    assert content.evaluate("e => e.scrollHeight <= e.clientHeight + 1")  # nothing cut off

    # Your own comment's Edit says how long it still works, and leads to a page that edits it.
    page.fill("#content", "Mine, to fix")
    navigate(page, lambda: page.click("#post-button"))
    mine = max_id(live_server)
    edit = page.locator(f"#comment-{mine} a.edit")
    expect(edit).to_have_text(re.compile(r"^Edit your comment · 1[45] min$"))
    navigate(page, edit.click)
    expect(page.locator("h1")).to_have_text("Edit your comment")
    expect(page.locator(".keys")).to_be_hidden()
    page.fill(f"#edit-{mine}", "Mine, fixed")
    navigate(page, lambda: page.click("button:text-is('Save')"))
    expect(page.locator(f"#comment-{mine} .content")).to_have_text("Mine, fixed")
    expect(page.locator(f"#comment-{mine} .edited")).to_have_text("edited")
