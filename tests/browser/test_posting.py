"""Posting from the page: in place, without a reload, with feedback while it happens."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import comment_texts, is_post_url, open_board, record_announcements
from tests.browser.test_live import count_polls, wait_for_polls

pytestmark = pytest.mark.browser

# Counts, in the page, every attempt to send the comment form: a submit event (Enter, a click,
# requestSubmit) and every request htmx starts for the form, sent or queued.
SUBMIT_COUNTER = """() => {
  window.submits = 0;
  window.formRequests = 0;
  document.addEventListener("submit", () => window.submits++, true);
  document.addEventListener("htmx:beforeRequest", (e) => {
    const elt = (e.detail.requestConfig && e.detail.requestConfig.elt) || e.detail.elt;
    if (elt && elt.id === "comment-form") window.formRequests++;
  });
}"""


def is_post(request):
    return request.method == "POST" and is_post_url(request.url)


def test_posted_comment_appears_on_top_without_navigation_and_box_is_emptied(page, live_server):
    live_server.add("An older comment")
    board = count_polls(open_board(page))
    board.evaluate("window.sameDocument = 'still here'")
    record_announcements(board)

    board.fill("#author", "Ada Lovelace")
    board.fill("#content", "The engine weaves algebraic patterns")
    board.click("#post-button")

    first = board.locator("#comments article.comment").first
    expect(first.locator(".content")).to_have_text("The engine weaves algebraic patterns")
    expect(first.locator(".author")).to_have_text("Ada Lovelace")
    assert board.evaluate("window.sameDocument") == "still here"
    assert board.url.rstrip("/") == live_server.url
    expect(board.locator("#content")).to_have_value("")
    expect(board.locator("#content")).to_be_focused()
    assert comment_texts(board) == ["The engine weaves algebraic patterns", "An older comment"]
    expect(board.locator("#announcer")).to_have_text("Your comment was posted.")
    assert live_server.count() == 2
    # The poll brings the comment back (two polls answered from now: at least one was sent after
    # the comment was stored): it is neither shown again nor announced as new.
    wait_for_polls(board, 2)
    assert comment_texts(board) == ["The engine weaves algebraic patterns", "An older comment"]
    assert board.evaluate("window.announced") == ["Your comment was posted."]


def test_whitespace_only_comment_shows_error_next_to_the_field_and_keeps_the_text(
    board, live_server, problems
):
    problems.allow(r"response 422: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    board.evaluate("window.sameDocument = 'still here'")

    board.fill("#author", "Grace Hopper")
    board.fill("#content", "   \n  ")  # passes `required`, fails on the server
    board.click("#post-button")

    error = board.locator("#content-error")
    expect(error).to_have_text("Write a comment before posting.")
    # Next to the field: in the same field row, right after it, and tied to it for screen readers.
    expect(board.locator(".field:has(#content) > #content + .field-error")).to_have_count(1)
    expect(board.locator("#content")).to_have_attribute("aria-invalid", "true")
    expect(board.locator("#content")).to_have_attribute("aria-describedby", "content-error")
    expect(board.locator("#content")).to_be_focused()
    expect(board.locator("#content")).to_have_value("   \n  ")
    expect(board.locator("#author")).to_have_value("Grace Hopper")
    assert board.evaluate("window.sameDocument") == "still here"
    assert live_server.count() == 0

    # Fixing the text and posting again works, and the message goes.
    board.fill("#content", "Found the bug: it was a moth")
    board.click("#post-button")
    expect(board.locator("#comments article.comment .content")).to_have_text(
        ["Found the bug: it was a moth"]
    )
    expect(board.locator(".field-error")).to_have_count(0)
    expect(board.locator("#content")).not_to_have_attribute("aria-invalid", "true")
    expect(board.locator("#content")).to_have_value("")
    assert live_server.count() == 1


def test_rejected_comment_keeps_the_typed_text_exactly(board, live_server, problems):
    problems.allow(r"response 422: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    typed = "    indented code, then a bell \x07 in the middle of a sentence\n"

    board.fill("#content", typed)
    board.click("#post-button")

    expect(board.locator("#content-error")).to_contain_text("control characters")
    # (expect().to_have_value() cannot match a control character: compare the value itself)
    assert board.input_value("#content") == typed
    assert live_server.count() == 0

    # After a rejection and a successful post, the box is empty: not refilled with the old text.
    board.fill("#content", "Bell removed from the sentence")
    board.click("#post-button")
    expect(board.locator("#comments article.comment")).to_have_count(1)
    expect(board.locator("#content")).to_have_value("")
    expect(board.locator("#content-error")).to_have_count(0)


def test_double_click_on_post_stores_one_comment(board, live_server):
    posts = []
    board.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    count_polls(board)
    board.evaluate(SUBMIT_COUNTER)

    board.fill("#content", "Clicked twice in a hurry")
    board.dblclick("#post-button")

    expect(board.locator("#comments article.comment")).to_have_count(1)
    # A request queued behind the first would have been sent as soon as the first was answered;
    # by the time a later poll has been answered too, it would be out.
    wait_for_polls(board, 1)
    assert board.evaluate("window.formRequests") == 1
    assert len(posts) == 1
    assert live_server.count() == 1
    expect(board.locator(".form-status")).to_be_hidden()
    expect(board.locator(".field-error")).to_have_count(0)


def test_ctrl_enter_posts_and_button_is_disabled_during_the_request(board, live_server):
    held = []
    board.route(is_post_url, lambda route: held.append(route))
    count_polls(board)
    board.evaluate(SUBMIT_COUNTER)

    board.fill("#content", "Sent from the keyboard")
    with board.expect_request(is_post):
        board.press("#content", "Control+Enter")

    expect(board.locator("#post-button")).to_be_disabled()
    assert len(held) == 1
    # The loading indicator shows while the request is out.
    expect(board.locator("#post-spinner")).to_have_class(re.compile(r"\bhtmx-request\b"))
    expect(board.locator("#post-spinner")).to_have_css("opacity", "1")
    # A second Ctrl+Enter during the request does not queue another post: board.js drops the
    # key while the button is disabled, so not even a submit event happens (keydown handlers have
    # run by the time press() returns).
    board.press("#content", "Control+Enter")
    assert board.evaluate("[window.submits, window.formRequests]") == [1, 1]
    assert len(held) == 1

    held[0].continue_()
    expect(board.locator("#comments article.comment .content")).to_have_text(["Sent from the keyboard"])
    expect(board.locator("#post-button")).to_be_enabled()
    expect(board.locator("#post-spinner")).not_to_have_class(re.compile(r"\bhtmx-request\b"))
    wait_for_polls(board, 1)  # anything queued behind the post would have gone out by now
    assert board.evaluate("window.formRequests") == 1
    assert len(held) == 1
    assert live_server.count() == 1
    expect(board.locator(".field-error")).to_have_count(0)
    expect(board.locator("#content")).to_have_value("")


def test_plain_enter_makes_a_new_line(board, live_server):
    board.evaluate(SUBMIT_COUNTER)
    board.fill("#content", "first line")
    board.press("#content", "End")
    board.press("#content", "Enter")
    board.keyboard.type("second line")
    expect(board.locator("#content")).to_have_value("first line\nsecond line")
    # A submit would have started in the key's own handlers, before press() returned.
    assert board.evaluate("[window.submits, window.formRequests]") == [0, 0]
    assert live_server.count() == 0


def test_server_error_shows_inline_message_and_keeps_the_text(board, live_server, problems):
    problems.allow(r"response 500: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 500")
    problems.allow(r"console error: Response Status Error Code 500 from /comments")
    board.route(is_post_url, lambda route: route.fulfill(status=500, body="broken"))

    board.fill("#content", "This one meets a broken server")
    board.press("#content", "Control+Enter")

    status = board.locator("#form-status")
    expect(status).to_be_visible()
    expect(status).to_contain_text("Something went wrong")
    expect(board.locator("#content")).to_have_value("This one meets a broken server")
    expect(board.locator("#post-button")).to_be_enabled()
    expect(board.locator("#comments article.comment")).to_have_count(0)

    # Once the server is back, posting again works and the message goes.
    board.unroute(is_post_url)
    board.click("#post-button")
    expect(board.locator("#comments article.comment .content")).to_have_text(
        ["This one meets a broken server"]
    )
    expect(status).to_be_hidden()
    expect(board.locator("#content")).to_have_value("")


def test_network_failure_shows_inline_message_and_keeps_the_text(board, live_server, problems):
    problems.allow(r"request failed: POST .*/comments ")
    problems.allow(r"console error: Failed to load resource: net::ERR_FAILED")
    problems.allow(r"console error: htmx:(afterRequest|sendError), \[object HTMLDivElement\]")
    board.route(is_post_url, lambda route: route.abort("failed"))

    board.fill("#content", "This one never leaves the building")
    board.click("#post-button")

    status = board.locator("#form-status")
    expect(status).to_contain_text("could not be reached")
    expect(board.locator("#content")).to_have_value("This one never leaves the building")
    expect(board.locator("#post-button")).to_be_enabled()
    assert live_server.count() == 0


def test_failure_after_a_validation_error_replaces_the_stale_message(board, live_server, problems):
    problems.allow(r"response (422|500): POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* (422|500)")
    problems.allow(r"console error: Response Status Error Code 500 from /comments")
    board.fill("#content", " ")
    board.click("#post-button")
    expect(board.locator("#content-error")).to_be_visible()

    board.route(is_post_url, lambda route: route.fulfill(status=500, body="broken"))
    board.fill("#content", "Now with words, but the server is down")
    board.click("#post-button")
    expect(board.locator("#form-status")).to_contain_text("Something went wrong")
    expect(board.locator(".field-error")).to_have_count(0)
    expect(board.locator("#content")).not_to_have_attribute("aria-invalid", "true")
    expect(board.locator("#content")).to_have_value("Now with words, but the server is down")


def test_cmd_enter_posts_too(board, live_server):
    board.fill("#content", "Sent with the Command key")
    board.press("#content", "Meta+Enter")
    expect(board.locator("#comments article.comment .content")).to_have_text(
        ["Sent with the Command key"]
    )
    assert live_server.count() == 1


def test_a_comment_arriving_by_poll_while_a_post_is_out_does_not_lose_the_post(board, live_server):
    """The post's answer goes after the poller; a poll that lands first replaces the poller. The
    answer must still land (on the new poller), and the Post button come back."""
    held = []
    board.route(is_post_url, lambda route: held.append(route))
    count_polls(board)
    board.fill("#content", "Mine, sent while another arrives")
    with board.expect_request(is_post):
        board.click("#post-button")
    live_server.add("Theirs, arriving by the poll")
    expect(board.locator("#comments article.comment .content")).to_have_text(
        ["Theirs, arriving by the poll"], timeout=10_000)

    held[0].continue_()
    expect(board.locator("#comments article.comment .content")).to_have_text(
        ["Mine, sent while another arrives", "Theirs, arriving by the poll"])
    expect(board.locator("#post-button")).to_be_enabled()
    wait_for_polls(board, 1)
    expect(board.locator("#comments article.comment")).to_have_count(2)
