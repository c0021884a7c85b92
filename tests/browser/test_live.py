"""New comments arrive by themselves, once each, and a hidden tab asks for them seldom."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    POLL_SECONDS,
    RELATIVE,
    comment_ids,
    comment_texts,
    open_board,
    wait_ready,
)

pytestmark = pytest.mark.browser

# Counts, after every change to the list, the most copies of one comment present at once: a
# MutationObserver's callback runs before the browser paints, so 1 means never shown twice.
COPY_COUNTER = """() => {
  window.mostCopies = 0;
  const count = () => {
    const seen = {};
    document.querySelectorAll("article.comment").forEach((a) => {
      seen[a.id] = (seen[a.id] || 0) + 1;
      window.mostCopies = Math.max(window.mostCopies, seen[a.id]);
    });
  };
  count();
  new MutationObserver(count).observe(document.body, { childList: true, subtree: true });
}"""


def open_watched(context):
    page = context.new_page()
    page.goto("/")
    wait_ready(page)
    page.evaluate(COPY_COUNTER)
    page.evaluate("window.sameDocument = true")
    return count_polls(page)


# Counts the poller's requests in the page itself: `sent` (times, from htmx:beforeSend), `answered`
# (htmx:afterRequest, which htmx fires after the answer was swapped in) and `refused` (ticks that
# board.js cancelled because the tab was hidden).
POLL_COUNTER = """() => {
  if (window.polls) return;
  window.polls = { sent: [], answered: 0, refused: 0 };
  const isPoll = (detail) => {
    const elt = (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
    return elt && elt.id === "poller";
  };
  document.addEventListener("htmx:beforeRequest", (e) => {
    if (isPoll(e.detail) && e.defaultPrevented) window.polls.refused++;
  });
  document.addEventListener("htmx:beforeSend", (e) => {
    if (isPoll(e.detail)) window.polls.sent.push(performance.now());
  });
  document.addEventListener("htmx:afterRequest", (e) => {
    if (isPoll(e.detail)) window.polls.answered++;
  });
}"""


def count_polls(page):
    """Start counting `page`'s polls (see POLL_COUNTER); counting survives the poller's swaps."""
    page.evaluate(POLL_COUNTER)
    return page


def polls_sent(page):
    return page.evaluate("window.polls.sent.length")


def wait_for_polls(page, n):
    """Wait until `n` more polls have been answered and their answers swapped in."""
    target = page.evaluate("window.polls.answered") + n
    # A function, not an expression: the page's CSP forbids the eval an expression would need.
    page.wait_for_function("(target) => window.polls.answered >= target", arg=target,
                           timeout=(n * POLL_SECONDS + 5) * 1000)


def test_comment_posted_in_one_browser_appears_in_another_once(new_context, live_server):
    alice = open_watched(new_context())
    bob = open_watched(new_context())

    alice.fill("#author", "Alice Martin")
    alice.fill("#content", "Is anyone else reading this?")
    alice.click("#post-button")

    expect(alice.locator("#comments article.comment .content")).to_have_text(
        ["Is anyone else reading this?"]
    )
    expect(bob.locator("#comments article.comment .content")).to_have_text(
        ["Is anyone else reading this?"], timeout=(POLL_SECONDS + 4) * 1000
    )
    expect(bob.locator("#comments article.comment .author")).to_have_text(["Alice Martin"])
    expect(bob.locator("#announcer")).to_have_text("1 new comment")

    # Several polls later, including the one that brings Alice her own comment back: once each.
    wait_for_polls(alice, 2)
    wait_for_polls(bob, 1)
    for page in (alice, bob):
        expect(page.locator("#comments article.comment")).to_have_count(1)
        assert page.evaluate("window.mostCopies") == 1
    # Alice's own comment coming back by the poll is not news to her.
    expect(alice.locator("#announcer")).to_have_text("Your comment was posted.")

    bob.fill("#author", "Bob Okafor")
    bob.fill("#content", "Yes, hello from the other tab")
    bob.press("#content", "Control+Enter")

    expected = ["Yes, hello from the other tab", "Is anyone else reading this?"]
    expect(bob.locator("#comments article.comment .content")).to_have_text(expected)
    expect(alice.locator("#comments article.comment .content")).to_have_text(
        expected, timeout=(POLL_SECONDS + 4) * 1000
    )
    wait_for_polls(alice, 2)
    wait_for_polls(bob, 2)
    for page in (alice, bob):
        assert comment_texts(page) == expected
        assert len(set(comment_ids(page))) == 2
        assert page.evaluate("window.mostCopies") == 1
        assert page.evaluate("window.sameDocument") is True
    assert live_server.count() == 2


def test_several_new_comments_arrive_newest_first(board, live_server):
    board.evaluate(COPY_COUNTER)
    live_server.add("First of three", author="Chidi")
    live_server.add("Second of three", author="Eleanor")
    live_server.add("Third of three", author="Tahani")

    expect(board.locator("#comments article.comment .content")).to_have_text(
        ["Third of three", "Second of three", "First of three"], timeout=(POLL_SECONDS + 4) * 1000
    )
    expect(board.locator("#announcer")).to_have_text("3 new comments")
    live_server.add("Fourth, a little later", author="Jason")
    expect(board.locator("#comments article.comment .content")).to_have_text(
        ["Fourth, a little later", "Third of three", "Second of three", "First of three"],
        timeout=(POLL_SECONDS + 4) * 1000,
    )
    assert board.evaluate("window.mostCopies") == 1


def test_lost_contact_is_shown_and_cleared_when_polls_get_through(board, live_server, problems):
    problems.allow(r"request failed: GET .*/comments\?after=")
    problems.allow(r"console error: Failed to load resource: net::ERR_FAILED")
    problems.allow(r"console error: htmx:(afterRequest|sendError), \[object HTMLDivElement\]")
    polls_only = re.compile(r"/comments\?after=")
    board.route(polls_only, lambda route: route.abort("failed"))

    status = board.locator("#board-status")
    expect(status).to_have_text("Lost contact with the board; retrying.",
                                timeout=(POLL_SECONDS + 4) * 1000)
    expect(status).to_be_visible()

    # Back in contact with something new to show: the answer replaces the poller, and the
    # message still goes.
    live_server.add("Back online", author="Ops")
    board.unroute(polls_only)
    expect(board.locator("#comments article.comment .content")).to_have_text(
        ["Back online"], timeout=(POLL_SECONDS + 4) * 1000
    )
    expect(status).to_be_hidden()


HIDE = """() => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
  document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW = """() => {
  window.shownAt = performance.now();
  Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_polling_slows_while_hidden_and_resumes_when_shown(board, live_server):
    count_polls(board)
    wait_for_polls(board, 2)  # it polls while visible

    board.evaluate(HIDE)
    # The timer still ticks while hidden; board.js refuses five ticks in six. Once one was
    # refused, a poll sent before hiding has long been sent: count from there.
    board.wait_for_function("() => window.polls.refused >= 1", timeout=(POLL_SECONDS + 5) * 1000)
    hidden_since = polls_sent(board)
    live_server.add("Written while nobody was looking", author="Dana")
    # Four more ticks, each a poll a visible tab would have sent: none went out.
    board.wait_for_function("() => window.polls.refused >= 5",
                            timeout=(5 * POLL_SECONDS + 5) * 1000)
    assert polls_sent(board) == hidden_since, "a hidden tab kept polling at full speed"
    expect(board.locator("#comments article.comment")).to_have_count(0)
    # The sixth goes out, so that the tab's title can say what arrived.
    board.wait_for_function("(n) => window.polls.sent.length > n", arg=hidden_since,
                            timeout=(2 * POLL_SECONDS + 5) * 1000)
    expect(board.locator("#comments article.comment .content")).to_have_text(
        ["Written while nobody was looking"], timeout=(POLL_SECONDS + 4) * 1000)
    expect(board).to_have_title("(1) Board")
    assert board.evaluate("window.polls.refused") == 5

    board.evaluate(SHOW)
    expect(board).to_have_title("Board")
    # Asked at once on being shown, not at the next tick of the timer.
    first_after = board.evaluate(
        "window.polls.sent.find((t) => t >= window.shownAt) - window.shownAt")
    assert first_after < POLL_SECONDS * 1000 / 2
    refused = board.evaluate("window.polls.refused")
    wait_for_polls(board, 2)  # and keeps polling, every tick
    assert board.evaluate("window.polls.refused") == refused


# The page's clock, moved forward by the test (window.clockShift, in ms) before board.js reads it.
SHIFTABLE_CLOCK = """
  window.clockShift = 0;
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + window.clockShift;
"""


def test_a_tab_left_alone_slows_down_and_speeds_up_at_a_sign_of_life(new_context, live_server):
    context = new_context()
    context.add_init_script(SHIFTABLE_CLOCK)
    board = count_polls(open_board(context.new_page()))
    wait_for_polls(board, 2)
    assert board.evaluate("window.polls.refused") == 0  # somebody is there: every tick

    # Three minutes on with no key, click or scroll: one tick in three asks.
    board.evaluate("window.clockShift = 3 * 60 * 1000")
    board.wait_for_function("() => window.polls.refused >= 4", timeout=(6 * POLL_SECONDS + 5) * 1000)
    def next_poll():
        board.wait_for_function("(n) => window.polls.sent.length > n", arg=polls_sent(board),
                                timeout=(4 * POLL_SECONDS + 5) * 1000)
        return board.evaluate("window.polls.refused")

    refused = next_poll()
    ticks = next_poll() - refused + 1  # from one poll to the next
    assert 2 <= ticks <= 4, f"one poll in {ticks} ticks"

    # A key pressed: it asks at once, and at every tick again.
    board.evaluate("window.pressedAt = performance.now()")
    board.keyboard.press("Shift")
    board.wait_for_function("() => window.polls.sent.some((t) => t >= window.pressedAt)",
                            timeout=POLL_SECONDS * 1000)
    refused = board.evaluate("window.polls.refused")
    wait_for_polls(board, 3)
    assert board.evaluate("window.polls.refused") == refused


def test_changed_comments_are_updated_in_place(page, live_server):
    from board import models
    from board.extensions import db

    ids = [live_server.add(text, author="Ruth") for text in ("Alpha", "Beta", "Gamma")]
    board = open_board(page)
    board.evaluate(COPY_COUNTER)
    expect(board.locator("#comments article.comment .content")).to_have_text(
        ["Gamma", "Beta", "Alpha"]
    )

    def change(comment_id, **values):
        with live_server.app.app_context():
            models.change(db.session.get(models.Comment, comment_id), **values)

    change(ids[1], content="Beta, corrected", edited=models.clock())
    expect(board.locator(f"#comment-{ids[1]} .content")).to_have_text(
        "Beta, corrected", timeout=(POLL_SECONDS + 4) * 1000
    )
    assert comment_ids(board) == [f"comment-{i}" for i in reversed(ids)]
    expect(board.locator(f"#comment-{ids[1]} time.posted")).to_have_text(RELATIVE)  # like the rest

    change(ids[0], state="hidden")
    expect(board.locator(f"#comment-{ids[0]}")).to_contain_text(
        "This comment was removed.", timeout=(POLL_SECONDS + 4) * 1000
    )
    assert comment_ids(board) == [f"comment-{i}" for i in reversed(ids)]
    expect(board.locator(f"#comment-{ids[1]} .content")).to_have_text("Beta, corrected")
    assert board.evaluate("window.mostCopies") == 1
    assert board.text_content("#announcer") == ""


def test_a_comment_unhidden_after_the_page_loaded_appears_in_its_place(page, live_server):
    from board import models

    ids = [live_server.add(text, author="Ruth") for text in ("Alpha", "Beta", "Gamma")]
    with live_server.app.app_context():
        models.moderate(ids[1], "hide")
    board = open_board(page)
    board.evaluate(COPY_COUNTER)
    expect(board.locator("#comments article.comment .content")).to_have_text(["Gamma", "Alpha"])

    with live_server.app.app_context():
        models.moderate(ids[1], "unhide")
    expect(board.locator("#comments article.comment .content")).to_have_text(
        ["Gamma", "Beta", "Alpha"], timeout=(POLL_SECONDS + 4) * 1000
    )
    expect(board.locator(f"#comment-{ids[1]} time.posted")).to_have_text(RELATIVE)  # like the rest
    wait_for_polls(count_polls(board), 1)
    assert comment_ids(board) == [f"comment-{i}" for i in reversed(ids)]
    assert board.evaluate("window.mostCopies") == 1
