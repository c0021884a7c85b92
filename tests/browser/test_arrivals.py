"""New comments must not move what you are reading.

A reader further down the list (or typing) gets new threads held behind a sticky "N new comments"
button, announced once, and shown when pressed; a reader at the very top who is not typing gets
them at once. New replies go into their thread, and the browser's scroll anchoring keeps the text
in view still when that thread is above it. A hidden tab counts what arrived in its title. Your
own post appears at once. Every position is measured, never assumed: the first visible comment's
offset from the top of the viewport before and after.
"""

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    POLL_SECONDS,
    first_visible,
    open_board,
    record_announcements,
)
from tests.browser.test_live import COPY_COUNTER, HIDE, SHOW, count_polls, wait_for_polls

pytestmark = pytest.mark.browser

POLL_WAIT = (POLL_SECONDS + 4) * 1000
START = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)


def reading_further_down(page, live_server, threads=30):
    """A board of `threads` threads, scrolled so that the 10th is at the top of the viewport.
    Returns the ids, oldest first."""
    page.set_viewport_size({"width": 1024, "height": 700})
    ids = live_server.add_many(threads, start=START)
    board = count_polls(open_board(page))
    board.evaluate(COPY_COUNTER)
    board.eval_on_selector(f"#comment-{ids[-10]}", "e => e.scrollIntoView({ block: 'start' })")
    assert board.evaluate("window.scrollY") > 0
    return board, ids


def same_place(before, after):
    """The same comment first in view, at the same offset (to a pixel: scroll anchoring scrolls by
    whole device pixels, the layout moves by fractions)."""
    return before[0] == after[0] and abs(before[1] - after[1]) < 1


def held(page):
    return page.locator("#comments > section.thread.held")


def test_new_comments_wait_behind_a_button_while_you_read_further_down(page, live_server):
    board, ids = reading_further_down(page, live_server)
    record_announcements(board)
    reading = first_visible(board)
    assert reading[0] == f"comment-{ids[-10]}"
    button = board.locator("#new-comments")
    expect(button).to_be_hidden()

    live_server.add("Arrived while you were reading", author="Lena")
    live_server.add("And another one", author="Tom Ellis")
    expect(button).to_have_text("2 new comments", timeout=POLL_WAIT)
    expect(button).to_be_visible()
    # Nothing moved: the same comment at the same place, the page not scrolled.
    wait_for_polls(board, 1)
    assert same_place(reading, first_visible(board))
    expect(held(board)).to_have_count(2)
    expect(held(board).first).to_be_hidden()
    # The button is in view, stuck to the top of the viewport, over the list.
    box = button.bounding_box()
    assert 0 <= box["y"] <= 50 and box["height"] >= 30
    # Announced once: later arrivals change the count, silently.
    live_server.add("A third", author="Maya Chen")
    expect(button).to_have_text("3 new comments", timeout=POLL_WAIT)
    wait_for_polls(board, 1)
    assert same_place(reading, first_visible(board))
    said = [text for text in board.evaluate("window.announced") if "new comment" in text]
    assert said in (["1 new comment"], ["2 new comments"]), said
    expect(button).not_to_have_attribute("aria-live", "polite")  # the button is not a live region

    # From the keyboard: the button comes right after the form's controls.
    board.focus("#comment-form button.preview-button")
    board.keyboard.press("Tab")
    expect(button).to_be_focused()
    board.keyboard.press("Enter")
    expect(button).to_be_hidden()
    expect(held(board)).to_have_count(0)
    newest = board.locator("#comments article.comment").first
    expect(newest.locator(".content")).to_have_text("A third")
    expect(newest).to_be_focused()  # and so in view: the reader asked to see them
    expect(newest).to_be_in_viewport()
    expect(board.locator("#comments > section.thread > article.comment:not(.reply) .content")
           .nth(3)).to_have_text(f"Comment {len(ids) - 1}")
    # They flash as new (shown now: the animation starts when they are).
    expect(board.locator("#comments article.comment.new")).to_have_count(3)
    assert board.evaluate("window.mostCopies") == 1


def test_new_comments_go_straight_in_for_a_reader_at_the_very_top(page, live_server):
    live_server.add_many(5, start=START)
    board = count_polls(open_board(page))
    record_announcements(board)
    assert board.evaluate("window.scrollY") == 0
    live_server.add("Straight in", author="Lena")
    newest = board.locator("#comments article.comment").first
    expect(newest.locator(".content")).to_have_text("Straight in", timeout=POLL_WAIT)
    expect(newest).to_be_visible()
    expect(newest).to_have_class("comment new")
    expect(board.locator("#new-comments")).to_be_hidden()
    expect(board.locator("#announcer")).to_have_text("1 new comment")


def test_new_comments_wait_while_you_type_at_the_top_and_your_own_appears_at_once(
        page, live_server):
    live_server.add_many(5, start=START)
    board = count_polls(open_board(page))
    board.evaluate(COPY_COUNTER)
    board.fill("#content", "Half a thought")  # focus in the box, with text: typing
    reading = first_visible(board)
    live_server.add("Arrived while you typed", author="Lena")
    expect(board.locator("#new-comments")).to_have_text("1 new comment", timeout=POLL_WAIT)
    assert same_place(reading, first_visible(board))
    expect(board.locator("#comments article.comment", has_text="Arrived while")).to_be_hidden()

    # Your own post is not held: it is on top at once, above the held one (it is newer).
    board.fill("#content", "Mine, posted while one waits")
    board.click("#post-button")
    newest = board.locator("#comments article.comment:visible").first
    expect(newest.locator(".content")).to_have_text("Mine, posted while one waits")
    expect(newest).to_be_in_viewport()
    expect(board.locator("#new-comments")).to_have_text("1 new comment")
    board.click("#new-comments")
    expect(board.locator("#comments > section.thread > article.comment .content")).to_have_text(
        ["Mine, posted while one waits", "Arrived while you typed"]
        + [f"Comment {i}" for i in reversed(range(5))])
    wait_for_polls(board, 1)
    assert board.evaluate("window.mostCopies") == 1


def test_held_comments_go_in_with_the_next_arrival_once_you_are_back_at_the_top(
        page, live_server):
    board, ids = reading_further_down(page, live_server)
    live_server.add("Held first", author="Lena")
    expect(board.locator("#new-comments")).to_have_text("1 new comment", timeout=POLL_WAIT)
    board.evaluate("window.scrollTo(0, 0)")
    live_server.add("Then one at the top", author="Lena")
    expect(board.locator("#comments > section.thread > article.comment:visible .content").first) \
        .to_have_text("Then one at the top", timeout=POLL_WAIT)
    expect(board.locator("#comments article.comment", has_text="Held first")).to_be_visible()
    expect(board.locator("#new-comments")).to_be_hidden()
    expect(held(board)).to_have_count(0)


def test_a_reply_landing_above_the_viewport_does_not_move_what_you_read(page, live_server):
    page.set_viewport_size({"width": 1024, "height": 700})
    ids = live_server.add_many(20, start=START)
    top = live_server.add("A thread people answer", author="Maya Chen",
                          posted=START + timedelta(hours=1))
    live_server.add("A first answer", author="Tom Ellis", parent=top,
                    posted=START + timedelta(hours=1, minutes=1))
    board = count_polls(open_board(page))
    board.eval_on_selector(f"#comment-{ids[-8]}", "e => e.scrollIntoView({ block: 'start' })")
    expect(board.locator(f"#thread-{top}")).not_to_be_in_viewport()
    reading = first_visible(board)
    scrolled = board.evaluate("window.scrollY")

    reply = live_server.add("An answer above the reader", author="Lena", parent=top)
    expect(board.locator(f"#comment-{reply}")).to_be_attached(timeout=POLL_WAIT)
    expect(board.locator(f"#thread-{top} .reply-count")).to_have_text("2 replies")
    # The reply is in its thread, above: the page grew above the reader, and the browser's scroll
    # anchoring scrolled by as much, so the text in view did not move.
    height = board.eval_on_selector(f"#comment-{reply}", "e => e.getBoundingClientRect().height")
    assert height > 0
    wait_for_polls(board, 1)
    assert same_place(reading, first_visible(board))
    assert board.evaluate("window.scrollY") > scrolled + height / 2
    expect(board.locator("#new-comments")).to_be_hidden()  # replies are not held


def test_a_hidden_tab_counts_arrivals_in_its_title(page, live_server):
    live_server.add_many(3, start=START)
    board = count_polls(open_board(page))
    expect(board).to_have_title("Board")
    board.evaluate(HIDE)
    first = live_server.add("While you were away", author="Lena")
    # A hidden tab still asks, seldom (one tick in six), so that its title can say so.
    expect(board).to_have_title("(1) Board", timeout=(7 * POLL_SECONDS + 5) * 1000)
    live_server.add("An answer, also while away", author="Tom Ellis", parent=first)
    live_server.add("And one more", author="Maya Chen")
    expect(board).to_have_title("(3) Board", timeout=(7 * POLL_SECONDS + 5) * 1000)
    board.evaluate(SHOW)
    expect(board).to_have_title("Board")
    # Shown again, the next arrival is not counted in the title.
    live_server.add("Seen as it comes", author="Lena")
    expect(board.locator("#comments article.comment", has_text="Seen as it comes")).to_be_visible(
        timeout=POLL_WAIT)
    expect(board).to_have_title("Board")
