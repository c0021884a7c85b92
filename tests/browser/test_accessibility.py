"""axe-core finds no accessibility violation at all (any impact) in any page or state of the board,
in each theme and each language (THEMES x LANGUAGES, tests/browser/conftest.py: a language added
to the board is one more entry there); and what a screen reader is told: new comments and replies
once through the polite live region (never once per poll), errors tied to their field, a held
comment's waiting.

Every test here runs once per reader (theme and language, chosen by the board's own cookies) and
checks, before each axe run, that the page really is in that theme and language. So that a new
language is only a new entry in LANGUAGES, nothing here looks for the board's words: elements are
found by their classes and roles, and what board.js says comes from the page's own messages
(script_says)."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from board import models
from tests.browser.conftest import (
    LANGUAGES,
    POLL_SECONDS,
    THEMES,
    choose,
    is_post_url,
    log_in,
    open_board,
    page_theme,
    post_comment,
    record_announcements,
    run_axe,
    script_says,
    settle,
    violations,
    wait_ready,
)
from tests.browser.test_live import count_polls, wait_for_polls

pytestmark = pytest.mark.browser

POLL_WAIT = (POLL_SECONDS + 4) * 1000
SUBMIT = "button[type=submit]:not(.preview-button)"  # Post, Reply, Save, Log in: in any language
READERS = [(language, theme) for language in LANGUAGES for theme in THEMES]


class Reader:
    def __init__(self, language, theme, url):
        self.language, self.theme, self.url = language, theme, url

    def dress(self, context):
        """The reader's choices in another browser context of theirs."""
        return choose(context, self.url, theme=self.theme, language=self.language)

    def check(self, page):
        """No violation on the page, which is in the reader's theme and language."""
        assert page_theme(page) == self.theme
        assert page.evaluate("document.documentElement.lang").split("-")[0] == self.language
        return violations(page)


@pytest.fixture(autouse=True, params=READERS, ids=["-".join(r) for r in READERS])
def reader(request, context, live_server):
    reader = Reader(*request.param, live_server.url)
    reader.dress(context)
    return reader


def refusal_expected(problems, status, path=r"/comments"):
    problems.allow(rf"response {status}: POST .*{path}$")
    problems.allow(rf"console error: Failed to load resource: .* {status}")


# --- The board: empty, with comments, a refusal, a failure --------------------------------------

def test_empty_board_is_accessible(board, reader):
    expect(board.locator(".empty")).to_be_visible()
    assert reader.check(board) == ""


def test_board_with_comments_is_accessible(page, live_server, reader):
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    live_server.add_many(55, start=start, step=timedelta(minutes=2), author="Priya Raman")
    live_server.add("Anonymous says hello", author=None, posted=start)
    board = open_board(page)
    board.fill("#author", "Sam")
    board.fill("#content", "A comment posted from the page")
    board.click("#post-button")
    expect(board.locator("article.comment").first).to_contain_text("A comment posted from the page")
    live_server.add("A comment that arrived by the poll", author="Lena")
    expect(board.locator("article.comment").first).to_contain_text("arrived by the poll", timeout=POLL_WAIT)
    expect(board.locator("a.older")).to_be_visible()
    assert reader.check(board) == ""


def test_validation_error_state_is_accessible(board, problems, reader):
    refusal_expected(problems, 422)
    board.fill("#content", "  ")
    board.click("#post-button")
    expect(board.locator("#content-error")).to_be_visible()
    assert reader.check(board) == ""


def test_failure_message_state_is_accessible(board, problems, reader):
    problems.allow(r"response 503: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 503")
    problems.allow(r"console error: Response Status Error Code 503 from /comments")
    board.route(is_post_url, lambda route: route.fulfill(status=503, body="down"))
    board.fill("#content", "The database is having a nap")
    board.click("#post-button")
    expect(board.locator("#form-status")).to_be_visible()
    assert reader.check(board) == ""


# --- Conversations: threads, the reply form, previews, a thread's page, the no-JS reply page -----

MARKDOWN = ("**Bold**, *emphasis*, `code` and a link: https://example.com/help\n\n"
            "> A quote from the first comment\n\n- one\n- two\n\n    an indented code block")


def conversation(live_server):
    """A thread with a Markdown comment, five replies (one a reply to a reply, so it says "in
    reply to"), and "Show 2 more replies"; and a thread without replies. Returns the ids of the
    first thread's first comment and its replies."""
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    first = live_server.add(MARKDOWN, author="Maya Chen", posted=start)
    replies = []
    for i, author in enumerate(["Tom Ellis", "Priya Raman", None, "Lena", "Sam"]):
        parent = replies[0] if i == 2 else first
        replies.append(live_server.add(f"Reply {i}, with `code`", author=author, parent=parent,
                                       posted=start + timedelta(minutes=i + 1)))
    live_server.add("A thread of its own", author="Caretaker", posted=start + timedelta(hours=1))
    return first, replies


def test_board_with_threads_and_replies_is_accessible(page, live_server, reader):
    first, _ = conversation(live_server)
    board = open_board(page)
    expect(board.locator(f"#thread-{first} a.more-replies")).to_be_visible()
    expect(board.locator(".in-reply-to")).to_have_count(1)
    assert reader.check(board) == ""
    # And with the rest of the replies loaded, the first of them focused.
    board.focus(f"#thread-{first} a.more-replies")
    board.keyboard.press("Enter")
    expect(board.locator(f"#thread-{first} > article.reply")).to_have_count(5)
    expect(board.locator("article.reply:focus")).to_have_count(1)
    assert reader.check(board) == ""


def test_reply_form_open_is_accessible(page, live_server, problems, reader):
    first, replies = conversation(live_server)
    board = open_board(page)
    board.click(f"#comment-{first} a.reply")
    board.click(f"#comment-{replies[1]} a.reply")  # two open at once: ids stay unique
    expect(board.locator("form.reply-form")).to_have_count(2)
    expect(board.locator(f"#reply-form-{replies[1]} textarea")).to_be_focused()
    board.click(f"#reply-form-{replies[1]} details.notify-fields summary")  # the email fields too
    assert reader.check(board) == ""

    # A rejected reply: the message next to its field.
    refusal_expected(problems, 422)
    board.fill(f"#reply-form-{first} textarea", "   ")
    board.click(f"#reply-form-{first} {SUBMIT}")
    expect(board.locator(f"#reply-{first}-content-error")).to_be_visible()
    assert reader.check(board) == ""


def test_preview_shown_is_accessible(page, live_server, reader):
    first, _ = conversation(live_server)
    board = open_board(page)
    board.fill("#content", MARKDOWN)
    board.click("#comment-form button.preview-button")
    expect(board.locator("#preview strong")).to_have_text("Bold")
    board.click(f"#comment-{first} a.reply")
    board.fill(f"#reply-form-{first} textarea", "*Agreed*, see https://example.com")
    board.click(f"#reply-form-{first} button.preview-button")
    expect(board.locator(f"#preview-{first} em")).to_have_text("Agreed")
    assert reader.check(board) == ""


def test_thread_page_of_a_reply_is_accessible(page, live_server, reader):
    first, replies = conversation(live_server)
    page.goto(f"/comments/{replies[2]}")
    wait_ready(page)
    expect(page.locator("article.comment.marked")).to_have_id(f"comment-{replies[2]}")
    expect(page.locator(f"#thread-{first} > article.reply")).to_have_count(5)
    assert reader.check(page) == ""


def without_javascript(new_context, reader):
    """A page as it is without JavaScript: its scripts come back empty. (Not a context with
    JavaScript off: there no timer fires, and axe.run, which waits on timers, never ends.)"""
    context = reader.dress(new_context())
    context.route(re.compile(r"/static/(htmx\.min|board)\.js"),
                  lambda route: route.fulfill(status=200, content_type="text/javascript", body=""))
    return context.new_page()


def test_reply_page_without_javascript_is_accessible(new_context, live_server, problems, reader):
    first, replies = conversation(live_server)
    page = without_javascript(new_context, reader)
    page.goto(f"/comments/{replies[0]}/reply")
    assert page.evaluate("typeof window.htmx") == "undefined"
    expect(page.locator(f"#reply-form-{replies[0]}")).to_be_visible()
    assert reader.check(page) == ""
    # With a preview, then with a refusal.
    page.fill(f"#reply-{replies[0]}-content", MARKDOWN)
    settle(page)
    with page.expect_navigation():
        page.click("button.preview-button")
    expect(page.locator(f"#preview-{replies[0]} strong")).to_have_text("Bold")
    assert reader.check(page) == ""
    refusal_expected(problems, 422)
    page.fill(f"#reply-{replies[0]}-content", "   ")
    settle(page)
    with page.expect_navigation():
        page.click(f"form.reply-form {SUBMIT}")
    expect(page.locator(f"#reply-{replies[0]}-content-error")).to_be_visible()
    assert reader.check(page) == ""


def test_other_pages_are_accessible(page, live_server, problems, reader):
    """The list of boards, the newest comments everywhere, a comment's own page, and an error
    page."""
    first, _ = conversation(live_server)
    for path in ("/boards", "/recent", f"/comments/{first}"):
        page.goto(path)
        wait_ready(page)
        assert reader.check(page) == "", path
    problems.allow(r"response 404: GET .*/no/such/page$")
    problems.allow(r"console error: Failed to load resource: .* 404")
    assert page.goto("/no/such/page").status == 404
    wait_ready(page)
    expect(page.locator("main .error-message")).to_be_visible()
    assert reader.check(page) == ""


# --- The reader's states: new comments held, long comments folded, your own comment edited -------

def test_new_comments_held_and_a_folded_comment_are_accessible(page, live_server, reader):
    page.set_viewport_size({"width": 1024, "height": 700})
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    live_server.add_many(20, start=start, step=timedelta(minutes=2), author="Priya Raman")
    live_server.add(" ".join(["A long comment, folded behind Show more."] * 25), author="Lena")
    board = open_board(page)
    expect(board.locator("button.show-more")).to_have_attribute("aria-expanded", "false")
    board.eval_on_selector_all("#comments article.comment", "cs => cs[8].scrollIntoView()")
    live_server.add("Held while you read", author="Tom Ellis")
    expect(board.locator("#new-comments")).to_be_visible(timeout=POLL_WAIT)
    assert reader.check(board) == ""
    board.click("button.show-more")
    expect(board.locator("button.show-more")).to_have_attribute("aria-expanded", "true")
    board.click("#new-comments")
    expect(board.locator("#comments article.comment").first).to_be_focused()
    assert reader.check(board) == ""


def test_your_own_comment_being_edited_or_deleted_is_accessible(board, live_server, problems,
                                                                 reader):
    board.fill("#content", "Mine, to change")
    board.click("#post-button")
    mine = board.locator("#comments article.comment").first
    expect(mine.locator("a.edit")).to_be_visible()
    assert reader.check(board) == ""
    comment_id = mine.get_attribute("id")
    mine.locator("a.edit").click()
    expect(board.locator(f"form#{comment_id} textarea")).to_be_focused()
    assert reader.check(board) == ""
    board.locator(f"form#{comment_id} a.cancel").click()
    board.locator(f"#{comment_id} a.delete").click()
    expect(board.locator(f"form#{comment_id}")).to_be_focused()
    assert reader.check(board) == ""
    # A refusal, shown in the comment it is about.
    problems.allow(r"response 404: POST .*/comments/\d+/delete")
    problems.allow(r"console error: Failed to load resource: .* 404")
    problems.allow(r"console error: Response Status Error Code 404 from /comments/\d+")
    with live_server.app.app_context():
        models.moderate(int(comment_id.removeprefix("comment-")), "hide")
    board.locator(f"form#{comment_id} button.danger").click()
    expect(board.locator(f"#{comment_id} .error-message")).to_be_visible()
    assert reader.check(board) == ""


# --- Held for a moderator; the moderator's pages ----------------------------------------------

def test_a_held_comment_is_accessible_and_announced(board, holding, reader):
    record_announcements(board)
    board.fill("#content", "Waiting for a moderator")
    board.click("#post-button")
    mine = board.locator("#comments article.held-comment")
    expect(mine.locator(".awaiting[role=status]")).to_be_visible()
    expect(board.locator("#announcer")).to_have_text(script_says(board, "commentHeld"))
    assert script_says(board, "posted") not in board.evaluate("window.announced")
    assert reader.check(board) == ""
    # After a reload: in the list of your own that wait.
    board.reload()
    wait_ready(board)
    expect(board.locator(".awaiting-list article.held-comment")).to_have_count(1)
    assert reader.check(board) == ""


def test_the_login_page_and_a_wrong_password_are_accessible(page, moderator, problems, reader):
    page.goto("/moderate/login")
    wait_ready(page)
    assert reader.check(page) == ""
    refusal_expected(problems, 422, path="/moderate/login")
    page.fill("input[type=password]", "not the password at all")
    with page.expect_navigation():
        page.click(f"main form {SUBMIT}")
    wait_ready(page)
    password = page.locator("input[type=password]")
    expect(password).to_have_attribute("aria-invalid", "true")
    assert reader.check(page) == ""


def test_the_moderators_pages_are_accessible(page, live_server, holding, moderator, reader):
    first, replies = conversation(live_server)
    with live_server.app.app_context():
        models.moderate(replies[3], "hide")
    visitor = open_board(page)
    post_comment(visitor, "A first comment, waiting")
    settle(visitor)
    log_in(page)
    assert page.url.removeprefix(live_server.url) == "/moderate/"
    assert reader.check(page) == ""  # the queue: the held comment first
    page.goto("/moderate/?show=all")
    wait_ready(page)
    expect(page.locator("article.moderation.hidden")).to_have_count(1)
    assert reader.check(page) == ""
    # A delete asks first, in place.
    page.locator(f"#moderate-{first} button.danger").click()
    expect(page.locator("form.confirm")).to_be_visible()
    assert reader.check(page) == ""
    for path in ("/moderate/boards", "/moderate/blocks"):
        page.goto(path)
        wait_ready(page)
        assert reader.check(page) == "", path


# --- What a screen reader is told ------------------------------------------------------------

def test_new_comments_and_replies_are_announced_once_not_at_every_poll(page, live_server, reader):
    first, _ = conversation(live_server)
    board = count_polls(open_board(page))
    record_announcements(board)
    live_server.add("A new thread", author="Lena")
    expect(board.locator("#comments article.comment").first).to_contain_text("A new thread",
                                                                           timeout=POLL_WAIT)
    live_server.add("A new reply", author="Tom Ellis", parent=first)
    expect(board.locator(f"#thread-{first} > article.reply").last).to_contain_text(
        "A new reply", timeout=POLL_WAIT)
    wait_for_polls(board, 3)  # three more polls that bring nothing
    assert board.evaluate("window.announced") == [script_says(board, "newComments", 1),
                                                  script_says(board, "newReplies", 1)]
    assert board.get_attribute("#announcer", "aria-live") == "polite"
    assert board.get_attribute("#announcer", "role") == "status"


@pytest.mark.parametrize("form", ["comment", "reply", "edit"])
def test_an_error_is_tied_to_its_field_and_the_field_gets_focus(board, live_server, problems,
                                                                 form, reader):
    refusal_expected(problems, 422, path=r"/comments(/\d+/edit)?")
    if form == "comment":
        box = "#content"
    elif form == "reply":
        parent = live_server.add("Answer me", author="Maya Chen")
        board.reload()
        wait_ready(board)
        board.click(f"#comment-{parent} a.reply")
        box = f"#reply-{parent}-content"
    else:
        mine = post_comment(board, "Mine, to empty")
        board.click(f"#comment-{mine} a.edit")
        box = f"#edit-{mine}"
    board.fill(box, "   ")
    board.locator(box).press("Control+Enter")
    field = board.locator(box)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()  # so a screen reader says the field, then its error
    error = board.locator("#" + field.get_attribute("aria-describedby"))
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(field).to_have_accessible_description(error.inner_text())
    # Fixed and sent again: the error and what tied it to the field go.
    board.fill(box, "Now with words")
    field.press("Control+Enter")
    expect(board.locator(f"{box}[aria-invalid]")).to_have_count(0)


def test_axe_really_runs_and_reports(board):
    """The checks above would pass vacuously if axe did not run: show that it finds a fault."""
    board.evaluate("""() => {
        const image = document.createElement("img");
        image.src = "/static/favicon.svg";
        document.querySelector("main").append(image);
    }""")
    assert "critical image-alt" in violations(board)
    assert any(v["id"] == "image-alt" for v in run_axe(board))
