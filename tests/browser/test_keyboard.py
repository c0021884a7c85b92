"""The board from the keyboard alone, in Chromium: every action is reached with Tab (in the order
the page reads, top to bottom, each stop visible and ringed) and done with Enter or Space; after
each one focus lands where a person expects it, so they can go on from there:

  Post                 the box, emptied, for the next comment
  Reply                the reply form's box; after the reply, that box again; Escape: the Reply
  Edit                 the box, at the end of the text; Save or Escape: the comment's Edit
  Delete               the question; Delete: what stays of the comment; Cancel: its Delete
  Load older           the first comment it loaded
  Show more replies    the first reply it loaded
  N new comments       the newest of them
  Show more / less     stays on the button
  Dark / Light theme   the other theme's button
  a moderator's verb   the row's first button (or the question before a delete)

No click and no element.focus() here: only page.keyboard (a test that tabs past what it wants
fails, rather than reaching it some other way), after from_the_top: the page's start, where
focus is on a page just loaded."""

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    POLL_SECONDS,
    from_the_top,
    log_in,
    open_board,
    page_theme,
    wait_ready,
)

pytestmark = pytest.mark.browser

POLL_WAIT = (POLL_SECONDS + 4) * 1000
START = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)
MOST_TABS = 150


def tab_to(page, target, backwards=False):
    """Press Tab (Shift+Tab) until `target` (a locator) has focus; fails when it never does."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MOST_TABS):
        if target.evaluate("e => e === document.activeElement"):
            return target
        page.keyboard.press(key)
    raise AssertionError(f"{MOST_TABS} presses of {key} never reached {target}")


STOP = """() => {
    const e = document.activeElement;
    const box = e.getBoundingClientRect();
    const style = getComputedStyle(e);
    return {
        what: e.localName + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).split(" ").join(".") : "")
            + " " + (e.textContent || e.value || "").trim().slice(0, 30),
        top: box.top + window.scrollY, left: box.left + window.scrollX, bottom: box.bottom + window.scrollY,
        inView: box.bottom > 0 && box.top < window.innerHeight && box.width > 0 && box.height > 0,
        ring: e.matches(":focus-visible") && style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
        tabIndex: e.tabIndex,
    };
}"""


def tab_stops(page):
    """Every stop of the Tab order from the top of the page to its end, as STOP describes it."""
    from_the_top(page)
    stops, seen = [], set()
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break
        marker = page.evaluate("() => { const e = document.activeElement; e.dataset.stop = e.dataset.stop || String(Math.random()); return e.dataset.stop; }")
        if marker in seen:
            break  # round again (Chromium goes on to its own toolbar, then back to the page)
        seen.add(marker)
        stops.append(page.evaluate(STOP))
    return stops


def test_the_tab_order_reads_the_page_top_to_bottom_with_a_ring_on_every_stop(page, live_server):
    page.set_viewport_size({"width": 1024, "height": 800})
    live_server.add_many(55, start=START)
    first = live_server.add("A thread with replies", author="Maya Chen", posted=START + timedelta(days=1))
    for i in range(5):
        live_server.add(f"Reply {i}", author="Tom Ellis", parent=first,
                        posted=START + timedelta(days=1, minutes=i + 1))
    board = open_board(page)
    stops = tab_stops(board)
    names = [stop["what"] for stop in stops]
    # The masthead, then the form, then the threads, then "Load older comments".
    form = next(i for i, name in enumerate(names) if name.startswith("input#author"))
    masthead = names[:form]
    assert masthead[0].startswith("a.title") and masthead[1].startswith("a.boards-link")
    assert "button.to-dark Dark theme" in masthead
    assert names[form + 1].startswith("textarea#content")
    assert names[-1].startswith("a.older")
    assert any(name.startswith("a.more-replies") for name in names)
    # Top to bottom (left to right on one line), never back up the page; every stop in view
    # when it has focus, with a ring; no stop placed out of order by a tabindex.
    for before, after in zip(stops, stops[1:]):
        same_line = abs(after["top"] - before["top"]) < 8
        assert (after["left"] > before["left"]) if same_line else after["top"] > before["top"], \
            (before["what"], after["what"])
    assert [stop["what"] for stop in stops if not stop["inView"]] == []
    assert [stop["what"] for stop in stops if not stop["ring"]] == []
    assert [stop["what"] for stop in stops if stop["tabIndex"] > 0] == []


def test_post_from_the_keyboard_leaves_focus_in_the_emptied_box(board):
    tab_to(board, board.locator("#content"))
    board.keyboard.type("Typed, tabbed and posted")
    tab_to(board, board.locator("#post-button"))
    board.keyboard.press("Enter")
    expect(board.locator("#comments article.comment .content").first).to_have_text(
        "Typed, tabbed and posted")
    expect(board.locator("#content")).to_be_focused()
    expect(board.locator("#content")).to_have_value("")
    # Space on the button posts too.
    board.keyboard.type("And another, with Space")
    tab_to(board, board.locator("#post-button"))
    board.keyboard.press(" ")
    expect(board.locator("#comments article.comment .content").first).to_have_text(
        "And another, with Space")
    expect(board.locator("#content")).to_be_focused()


def test_reply_from_the_keyboard_and_escape_back_to_reply(page, live_server):
    first = live_server.add("Where shall we meet?", author="Maya Chen", posted=START)
    board = open_board(page)
    reply = board.locator(f"#comment-{first} a.reply")
    tab_to(board, reply)
    board.keyboard.press("Enter")
    form = board.locator(f"#reply-form-{first}")
    box = form.locator("textarea")
    expect(box).to_be_focused()
    board.keyboard.type("By the fountain.")
    tab_to(board, form.locator("button:text-is('Reply')"))
    board.keyboard.press("Enter")
    expect(board.locator(f"#thread-{first} > article.reply .content")).to_have_text(["By the fountain."])
    expect(box).to_be_focused()
    expect(box).to_have_value("")
    # Escape closes the form; focus goes back to the Reply that opened it.
    board.keyboard.press("Escape")
    expect(form).to_have_count(0)
    expect(reply).to_be_focused()
    # Open again; Cancel, with Enter, closes it the same way.
    board.keyboard.press("Enter")
    expect(box).to_be_focused()
    tab_to(board, form.locator("a.cancel"))
    board.keyboard.press("Enter")
    expect(form).to_have_count(0)
    expect(reply).to_be_focused()


def test_edit_and_delete_from_the_keyboard(board):
    tab_to(board, board.locator("#content"))
    board.keyboard.type("Fix me")
    board.keyboard.press("Control+Enter")
    comment = board.locator("#comments article.comment").first
    expect(comment.locator(".content")).to_have_text("Fix me")
    mine = comment.get_attribute("id")
    edit, delete = comment.locator("a.edit"), comment.locator("a.delete")

    tab_to(board, edit)
    board.keyboard.press("Enter")
    box = board.locator(f"form#{mine} textarea")
    expect(box).to_be_focused()
    assert box.evaluate("b => [b.selectionStart, b.selectionEnd]") == [6, 6]  # at the end
    board.keyboard.type(", please")
    tab_to(board, board.locator(f"form#{mine} button:text-is('Save')"))
    board.keyboard.press(" ")
    expect(comment.locator(".content")).to_have_text("Fix me, please")
    expect(edit).to_be_focused()
    # Escape gives up an edit.
    board.keyboard.press("Enter")
    expect(box).to_be_focused()
    board.keyboard.press("Escape")
    expect(edit).to_be_focused()

    # Delete asks first, its question focused; Cancel goes back to Delete.
    tab_to(board, delete)
    board.keyboard.press("Enter")
    question = board.locator(f"form#{mine}")
    expect(question).to_be_focused()
    tab_to(board, question.locator("a.cancel"))
    board.keyboard.press("Enter")
    expect(delete).to_be_focused()
    board.keyboard.press("Enter")
    expect(question).to_be_focused()
    tab_to(board, question.locator("button.danger"))
    board.keyboard.press("Enter")
    placeholder = board.locator(f"article#{mine}")
    expect(placeholder).to_have_text("This comment was removed.")
    expect(placeholder).to_be_focused()


def test_load_older_and_show_more_replies_from_the_keyboard(page, live_server):
    first = live_server.add("The oldest thread, with replies", author="Maya Chen", posted=START)
    replies = [live_server.add(f"Reply {i}", author="Tom Ellis", parent=first,
                               posted=START + timedelta(minutes=i + 1)) for i in range(6)]
    live_server.add_many(50, start=START + timedelta(hours=1))
    board = open_board(page)
    older = board.locator("a.older")
    tab_to(board, older)
    board.keyboard.press("Enter")
    loaded = board.locator(f"#comment-{first}")
    expect(loaded).to_be_focused()  # the first comment it loaded
    expect(older).to_have_count(0)
    board.keyboard.press("Tab")
    expect(loaded.locator("a.permalink")).to_be_focused()  # and Tab goes on from there

    more = board.locator(f"#thread-{first} a.more-replies")
    tab_to(board, more)
    board.keyboard.press("Enter")
    expect(board.locator(f"#comment-{replies[3]}")).to_be_focused()  # the first reply it loaded
    expect(board.locator(f"#thread-{first} > article.reply")).to_have_count(6)


def test_new_comments_and_a_folded_comment_from_the_keyboard(page, live_server):
    page.set_viewport_size({"width": 1024, "height": 700})
    live_server.add_many(20, start=START)
    live_server.add(" ".join(["A long comment, folded behind Show more."] * 25), author="Lena",
                    posted=START + timedelta(days=1))
    board = open_board(page)
    toggle = board.locator("button.show-more")
    tab_to(board, toggle)
    board.keyboard.press(" ")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(toggle).to_be_focused()
    board.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()

    # Further down the page, new comments wait behind the button; from the keyboard it is the
    # next stop back up (it sits at the top of the list) and shows them, focus on the newest.
    board.keyboard.press("End")
    live_server.add("Arrived while you read", author="Tom Ellis")
    button = board.locator("#new-comments")
    expect(button).to_have_text("1 new comment", timeout=POLL_WAIT)
    tab_to(board, button, backwards=True)
    board.keyboard.press("Enter")
    newest = board.locator("#comments article.comment").first
    expect(newest).to_contain_text("Arrived while you read")
    expect(newest).to_be_focused()


def test_the_theme_toggle_from_the_keyboard(board):
    dark, light = board.locator("button.to-dark"), board.locator("button.to-light")
    tab_to(from_the_top(board), dark)
    board.keyboard.press("Enter")
    expect(board.locator("html")).to_have_attribute("data-theme", "dark")
    expect(light).to_be_focused()  # the button that shows now
    assert page_theme(board) == "dark"
    assert light.evaluate("e => e.matches(':focus-visible')")
    board.keyboard.press(" ")
    expect(board.locator("html")).to_have_attribute("data-theme", "light")
    expect(dark).to_be_focused()
    assert page_theme(board) == "light"


def test_a_moderator_from_the_keyboard(page, live_server, moderator):
    first = live_server.add("Something to hide", author="Maya Chen", posted=START)
    log_in(page)
    row = page.locator(f"#moderate-{first}")
    hide = row.locator("form[action$='/hide'] button")
    tab_to(from_the_top(page), hide)
    page.keyboard.press("Enter")
    expect(row).to_have_class("comment moderation hidden")
    unhide = row.locator("form[action$='/unhide'] button")
    expect(unhide).to_be_focused()  # the row's first button
    page.keyboard.press("Enter")
    expect(row).to_have_class("comment moderation visible")
    expect(hide).to_be_focused()
    # Delete asks first, in the row's place: the question has focus; Cancel goes back to Delete.
    tab_to(page, row.locator("button.danger"))
    page.keyboard.press("Enter")
    question = page.locator(f"form#moderate-{first}")
    expect(question).to_be_focused()
    expect(question).to_have_accessible_name("Delete this comment? "
                                             "Deleted comments disappear for everyone; this cannot be undone.")
    tab_to(page, question.locator("a:has-text('Cancel')"))
    page.keyboard.press("Enter")
    expect(row.locator("button.danger")).to_be_focused()
    page.keyboard.press("Enter")
    expect(question).to_be_focused()
    tab_to(page, question.locator("button.danger"))
    page.keyboard.press("Enter")
    expect(row).to_have_class("comment moderation deleted")
    expect(page.locator(f"article#moderate-{first} :focus, article#moderate-{first}:focus")).to_have_count(1)
    wait_ready(page)
