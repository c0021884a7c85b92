"""Conversations on the page: replies in place, replies arriving by the poll into their thread,
"Show N more replies", Preview, Markdown, and replying from the keyboard alone.

Every test here runs under the board's Content-Security-Policy, and the conftest's watcher fails
it on any CSP violation, console error or failed request it did not expect."""

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from board import models
from board.extensions import db
from tests.browser.conftest import (
    POLL_SECONDS,
    RELATIVE,
    is_post_url,
    open_board,
    record_announcements,
    settle,
    wait_held,
    wait_ready,
)
from tests.browser.test_live import COPY_COUNTER, count_polls, wait_for_polls

pytestmark = pytest.mark.browser

POLL_WAIT = (POLL_SECONDS + 4) * 1000
START = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)


def stored(live_server, comment_id):
    """(parent_id, thread_id, content) of a stored comment."""
    with live_server.app.app_context():
        comment = db.session.get(models.Comment, comment_id)
        return comment.parent_id, comment.thread_id, comment.content


def last_id(live_server):
    with live_server.app.app_context():
        return db.session.scalar(sa.select(sa.func.max(models.Comment.id)))


def thread_with_replies(live_server, n, author="Maya Chen"):
    """A thread started at START and `n` replies to it, a minute apart. Returns (first, replies)."""
    first = live_server.add("Who is coming to the book sale?", author=author, posted=START)
    replies = [live_server.add(f"Reply {i}", author="Seeder", parent=first,
                               posted=START + timedelta(minutes=i + 1)) for i in range(n)]
    return first, replies


def reply_texts(page, thread_id):
    return page.eval_on_selector_all(f"#thread-{thread_id} > article.reply .content",
                                     "els => els.map(e => e.textContent)")


def reply_ids(page, thread_id):
    return page.eval_on_selector_all(f"#thread-{thread_id} > article.reply",
                                     "els => els.map(e => e.id)")


def open_reply_form(page, comment_id):
    page.click(f"#comment-{comment_id} a.reply")
    form = page.locator(f"#reply-form-{comment_id}")
    expect(form).to_be_visible()
    return form


def send_reply(form):
    form.get_by_role("button", name="Reply", exact=True).click()


# --- Replying in place -----------------------------------------------------------------------

def test_reply_opens_under_the_comment_and_lands_at_the_end_of_its_thread(page, live_server):
    first = live_server.add("Where shall we meet on Saturday?", author="Maya Chen")
    other = live_server.add("Unrelated: the lift is fixed.", author="Caretaker")
    board = count_polls(open_board(page))
    board.evaluate(COPY_COUNTER)
    board.evaluate("window.sameDocument = true")
    record_announcements(board)
    thread = board.locator(f"#thread-{first}")
    expect(thread.locator(".reply-count")).to_be_hidden()  # no replies yet, no "0 replies"

    form = open_reply_form(board, first)
    # Right under the comment it answers, its box ready to type in.
    assert board.eval_on_selector(f"#comment-{first}", "e => e.nextElementSibling.id") \
        == f"reply-form-{first}"
    box = form.locator("textarea")
    expect(box).to_be_focused()
    form.get_by_label("Name").fill("Tom Ellis")
    box.fill("By the fountain, at ten.")
    send_reply(form)

    replies = board.locator(f"#thread-{first} > article.reply")
    expect(replies.locator(".content")).to_have_text(["By the fountain, at ten."])
    expect(replies.locator(".author")).to_have_text(["Tom Ellis"])
    expect(thread.locator(".reply-count")).to_have_text("1 reply")
    expect(replies.locator("time.posted")).to_have_text([RELATIVE])  # localised like the rest
    # The box empties and keeps focus; the form stays open for the next reply.
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    expect(form).to_be_visible()
    expect(board.locator("#announcer")).to_have_text("Your reply was posted.")
    expect(board.locator(f"#thread-{other} article.reply")).to_have_count(0)
    reply_id = int(replies.first.get_attribute("id").removeprefix("comment-"))
    assert stored(live_server, reply_id) == (first, first, "By the fountain, at ten.")

    # A reply to the reply: its form opens under the reply, and the answer joins the same thread
    # (one level deep), saying whom it answers.
    form2 = open_reply_form(board, reply_id)
    assert board.eval_on_selector(f"#comment-{reply_id}", "e => e.nextElementSibling.id") \
        == f"reply-form-{reply_id}"
    expect(form2.locator("textarea")).to_be_focused()
    form2.get_by_label("Name").fill("Maya Chen")
    form2.locator("textarea").fill("Ten is early for a Saturday.")
    send_reply(form2)
    expect(replies.locator(".content")).to_have_text(
        ["By the fountain, at ten.", "Ten is early for a Saturday."])
    expect(replies.nth(1).locator(".author")).to_have_text("Maya Chen")
    expect(replies.nth(1).locator(".in-reply-to")).to_have_text("in reply to Tom Ellis")
    expect(replies.nth(1).locator(".in-reply-to")).to_have_attribute(
        "href", f"/comments/{reply_id}")
    expect(replies.first.locator(".in-reply-to")).to_have_count(0)  # it answers the first comment
    expect(thread.locator(".reply-count")).to_have_text("2 replies")
    second_id = int(replies.nth(1).get_attribute("id").removeprefix("comment-"))
    assert stored(live_server, second_id) == (reply_id, first, "Ten is early for a Saturday.")

    # The poll brings both replies back: neither shows twice, nor counts twice, nor is news.
    wait_for_polls(board, 2)
    expect(replies).to_have_count(2)
    expect(thread.locator(".reply-count")).to_have_text("2 replies")
    assert board.evaluate("window.mostCopies") == 1
    assert board.evaluate("window.announced") == ["Your reply was posted."] * 2
    assert board.evaluate("window.sameDocument") is True
    assert board.url.rstrip("/") == live_server.url
    assert live_server.count() == 4


def test_reply_again_goes_back_to_the_open_form_and_cancel_closes_it(page, live_server):
    first = live_server.add("Any news about the lift?", author="Maya Chen")
    board = open_board(page)
    opened = []
    board.on("request", lambda r: r.url.endswith(f"/comments/{first}/reply") and opened.append(r))

    form = open_reply_form(board, first)
    form.locator("textarea").fill("Half a thought")
    board.focus("#content")
    board.click(f"#comment-{first} a.reply")
    # No second form, no second request: focus goes back to the open one, text and all.
    expect(form.locator("textarea")).to_be_focused()
    expect(board.locator("form.reply-form")).to_have_count(1)
    expect(form.locator("textarea")).to_have_value("Half a thought")
    assert len(opened) == 1

    form.get_by_role("link", name="Cancel").click()
    expect(board.locator("form.reply-form")).to_have_count(0)
    expect(board.locator(f"#comment-{first} a.reply")).to_be_focused()
    assert board.url.rstrip("/") == live_server.url  # Cancel stayed on the board
    assert live_server.count() == 1


def test_a_reply_form_answered_late_leaves_focus_in_the_step_taken_after_it(page, live_server):
    first = live_server.add("Who has the key to the shed?", author="Maya Chen")
    second = live_server.add("And the one to the gate?", author="Sam Ortiz")
    board = open_board(page)
    held = []
    board.route(re.compile(r"/comments/\d+/reply$"), lambda route: held.append(route))

    # Reply, then Reply to another comment before the first form came; the answers arrive in
    # either order, and the form asked for last has the focus.
    for order in ([0, 1], [1, 0]):
        board.click(f"#comment-{first} a.reply")
        board.click(f"#comment-{second} a.reply")
        wait_held(board, held, 2)
        for i in order:
            held[i].continue_()
            expect(board.locator("form.reply-form")).to_have_count(order.index(i) + 1)
        expect(board.locator(f"#reply-form-{second} textarea")).to_be_focused()
        for comment_id in (first, second):
            board.locator(f"#reply-form-{comment_id}").get_by_role("link", name="Cancel").click()
        expect(board.locator("form.reply-form")).to_have_count(0)
        held.clear()

    # Reply, then Edit of one's own comment: the edit box keeps focus.
    board.fill("#content", "My own words")
    board.click("#post-button")
    mine = board.locator("article.comment", has_text="My own words")
    expect(mine).to_be_visible()
    board.click(f"#comment-{first} a.reply")
    wait_held(board, held, 1)
    mine.locator("a.edit").click()
    expect(board.locator("form.edit-form textarea")).to_be_focused()
    held[0].continue_()
    expect(board.locator(f"#reply-form-{first}")).to_be_visible()
    expect(board.locator("form.edit-form textarea")).to_be_focused()


def test_keyboard_only_reply(page, live_server):
    first = live_server.add("Can anyone lend me a ladder?", author="Maya Chen")
    board = open_board(page)
    reply_link = board.locator(f"#comment-{first} a.reply")

    # Tab through the page until the Reply link has focus, as a keyboard user would.
    for _ in range(40):
        board.keyboard.press("Tab")
        if board.evaluate("(sel) => document.activeElement.matches(sel)",
                          f"#comment-{first} a.reply"):
            break
    expect(reply_link).to_be_focused()
    expect(reply_link).to_have_accessible_name("Reply to Maya Chen")

    board.keyboard.press("Enter")
    form = board.locator(f"#reply-form-{first}")
    box = form.locator("textarea")
    expect(box).to_be_focused()
    board.keyboard.type("Mine is in the shed, come by.")
    board.keyboard.press("Control+Enter")

    expect(board.locator(f"#thread-{first} > article.reply .content")).to_have_text(
        ["Mine is in the shed, come by."])
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    assert live_server.count() == 2

    board.keyboard.press("Escape")
    expect(board.locator("form.reply-form")).to_have_count(0)
    expect(reply_link).to_be_focused()
    # And Enter opens it again.
    board.keyboard.press("Enter")
    expect(board.locator(f"#reply-form-{first} textarea")).to_be_focused()


def test_rejected_reply_shows_the_message_in_its_form_and_keeps_the_text(
        page, live_server, problems):
    problems.allow(r"response 422: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    first = live_server.add("What time does the sale open?", author="Maya Chen")
    board = open_board(page)
    form = open_reply_form(board, first)
    form.get_by_label("Name").fill("Tom Ellis")
    form.locator("textarea").fill("   ")  # passes `required`, fails on the server
    send_reply(form)

    box = board.locator(f"#reply-{first}-content")
    expect(board.locator(f"#reply-{first}-content-error")).to_have_text(
        "Write a comment before posting.")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_be_focused()
    expect(board.locator(f"#reply-{first}-author")).to_have_value("Tom Ellis")
    expect(board.locator("form.reply-form")).to_have_count(1)  # in place of the old one
    assert live_server.count() == 1

    box.fill("At nine, I think.")
    send_reply(board.locator(f"#reply-form-{first}"))
    expect(board.locator(f"#thread-{first} > article.reply .content")).to_have_text(
        ["At nine, I think."])
    expect(board.locator(".field-error")).to_have_count(0)
    expect(box).to_have_value("")


def test_rejected_reply_keeps_the_typed_text_exactly(page, live_server, problems):
    problems.allow(r"response 422: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    first = live_server.add("Paste your config here", author="Maya Chen")
    board = open_board(page)
    typed = "    indented code, then a bell \x07 in the middle of a sentence\n"
    form = open_reply_form(board, first)
    form.locator("textarea").fill(typed)
    send_reply(form)
    expect(board.locator(f"#reply-{first}-content-error")).to_contain_text("control characters")
    # (expect().to_have_value() cannot match a control character: compare the value itself)
    assert board.input_value(f"#reply-{first}-content") == typed
    assert live_server.count() == 1


def test_reply_to_a_comment_removed_meanwhile_is_refused_in_its_form(page, live_server, problems):
    problems.allow(r"response 422: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    first = live_server.add("This will be hidden in a moment", author="Maya Chen")
    board = open_board(page)
    form = open_reply_form(board, first)
    form.locator("textarea").fill("Answering too late")
    with live_server.app.app_context():
        models.moderate(first, "hide")
    send_reply(form)
    expect(board.locator(f"#reply-form-{first} .form-error")).to_have_text(
        "The comment you are replying to does not exist or was removed.")
    expect(board.locator(f"#reply-form-{first} textarea")).to_have_value("Answering too late")
    assert live_server.count() == 1


# --- Replies arriving by the poll ------------------------------------------------------------

def open_watched(context):
    page = count_polls(open_board(context.new_page()))
    page.evaluate(COPY_COUNTER)
    page.evaluate("window.sameDocument = true")
    record_announcements(page)
    return page


def test_reply_posted_on_one_board_arrives_in_its_thread_on_another_once(new_context, live_server):
    meet = live_server.add("Where shall we meet?", author="Maya Chen", posted=START)
    live_server.add("Earlier answer", author="Tom Ellis", parent=meet,
                    posted=START + timedelta(minutes=1))
    lift = live_server.add("The lift is fixed.", author="Caretaker",
                           posted=START + timedelta(minutes=2))
    alice = open_watched(new_context())
    bob = open_watched(new_context())
    for page in (alice, bob):
        expect(page.locator(f"#thread-{meet} .reply-count")).to_have_text("1 reply")

    form = open_reply_form(alice, meet)
    form.get_by_label("Name").fill("Alice Martin")
    form.locator("textarea").fill("I'll be there at ten.")
    send_reply(form)
    expect(alice.locator(f"#thread-{meet} > article.reply .content")).to_have_text(
        ["Earlier answer", "I'll be there at ten."])

    # Bob's board: in the right thread, after the reply it already had, announced, counted.
    bob_replies = bob.locator(f"#thread-{meet} > article.reply")
    expect(bob_replies.locator(".content")).to_have_text(
        ["Earlier answer", "I'll be there at ten."], timeout=POLL_WAIT)
    expect(bob_replies.nth(1).locator(".author")).to_have_text("Alice Martin")
    expect(bob_replies.nth(1).locator("time.posted")).to_have_text(RELATIVE)
    expect(bob.locator(f"#thread-{meet} .reply-count")).to_have_text("2 replies")
    expect(bob.locator(f"#thread-{lift} article.reply")).to_have_count(0)
    expect(bob.locator(f"#thread-{lift} .reply-count")).to_be_hidden()
    expect(bob.locator("#announcer")).to_have_text("1 new reply")
    # No new thread on top: the threads are as they were.
    assert bob.eval_on_selector_all("#comments > section.thread", "els => els.map(e => e.id)") \
        == [f"thread-{lift}", f"thread-{meet}"]

    # Later polls (Alice's included, which bring her own reply back): once each, counted once.
    wait_for_polls(alice, 2)
    wait_for_polls(bob, 2)
    for page in (alice, bob):
        expect(page.locator(f"#thread-{meet} > article.reply")).to_have_count(2)
        expect(page.locator(f"#thread-{meet} .reply-count")).to_have_text("2 replies")
        assert page.evaluate("window.mostCopies") == 1
        assert page.evaluate("window.sameDocument") is True
    assert alice.evaluate("window.announced") == ["Your reply was posted."]
    assert bob.evaluate("window.announced") == ["1 new reply"]
    assert live_server.count() == 4

    # The reply that arrived works like any other: Bob answers it in place, Alice gets that.
    arrived = int(bob_replies.nth(1).get_attribute("id").removeprefix("comment-"))
    form = open_reply_form(bob, arrived)
    expect(form.locator("textarea")).to_be_focused()
    form.locator("textarea").fill("See you then.")
    send_reply(form)
    expect(alice.locator(f"#thread-{meet} > article.reply .content")).to_have_text(
        ["Earlier answer", "I'll be there at ten.", "See you then."], timeout=POLL_WAIT)
    expect(alice.locator(f"#thread-{meet} > article.reply").nth(2).locator(".in-reply-to")) \
        .to_have_text("in reply to Alice Martin")
    expect(alice.locator(f"#thread-{meet} .reply-count")).to_have_text("3 replies")
    expect(bob.locator(f"#thread-{meet} .reply-count")).to_have_text("3 replies")


def test_replies_and_threads_arriving_together_each_go_to_their_place(board, live_server):
    board.evaluate(COPY_COUNTER)
    first = live_server.add("First thread", author="Maya Chen")
    expect(board.locator(f"#thread-{first}")).to_be_visible(timeout=POLL_WAIT)

    live_server.add("A new thread", author="Tom Ellis")
    live_server.add("An answer to the first", author="Priya Raman", parent=first)
    live_server.add("Another answer", author="Lena", parent=first)
    expect(board.locator(f"#thread-{first} > article.reply .content")).to_have_text(
        ["An answer to the first", "Another answer"], timeout=POLL_WAIT)
    expect(board.locator("#comments > section.thread > article.comment:not(.reply) .content")) \
        .to_have_text(["A new thread", "First thread"])
    expect(board.locator(f"#thread-{first} .reply-count")).to_have_text("2 replies")
    expect(board.locator("#announcer")).to_have_text("1 new comment and 2 new replies")
    assert board.evaluate("window.mostCopies") == 1


def test_a_reply_to_a_thread_this_page_does_not_show_is_not_shown(page, live_server):
    live_server.add_many(51, start=START)  # the oldest thread is on the second page
    oldest = last_id(live_server) - 50
    board = count_polls(open_board(page))
    board.evaluate(COPY_COUNTER)
    expect(board.locator(f"#thread-{oldest}")).to_have_count(0)

    live_server.add("An answer to an old thread", author="Tom Ellis", parent=oldest)
    wait_for_polls(board, 2)
    expect(board.locator("article.reply")).to_have_count(0)
    # It comes with its thread when the older comments are loaded.
    board.click("a.older")
    expect(board.locator(f"#thread-{oldest} > article.reply .content")).to_have_text(
        ["An answer to an old thread"])
    expect(board.locator(f"#thread-{oldest} .reply-count")).to_have_text("1 reply")
    wait_for_polls(board, 1)
    expect(board.locator("article.reply")).to_have_count(1)
    assert board.evaluate("window.mostCopies") == 1


# --- Show N more replies ---------------------------------------------------------------------

def test_show_more_replies_loads_the_rest_in_order_once(page, live_server):
    first, replies = thread_with_replies(live_server, 7)
    board = open_board(page)
    board.evaluate(COPY_COUNTER)
    record_announcements(board)
    assert reply_texts(board, first) == ["Reply 0", "Reply 1", "Reply 2"]
    expect(board.locator(f"#thread-{first} .reply-count")).to_have_text("7 replies")
    more = board.locator(f"#thread-{first} a.more-replies")
    expect(more).to_have_text("Show 4 more replies")

    more.click()
    expect(board.locator(f"#thread-{first} > article.reply")).to_have_count(7)
    assert reply_texts(board, first) == [f"Reply {i}" for i in range(7)]
    assert reply_ids(board, first) == [f"comment-{i}" for i in replies]
    expect(more).to_have_count(0)
    expect(board.locator(f"#thread-{first} > article.reply time.posted")).to_have_text(
        [RELATIVE] * 7)
    expect(board.locator(f"#thread-{first} .new")).to_have_count(0)  # loaded, not new
    expect(board.locator(f"#thread-{first} .reply-count")).to_have_text("7 replies")
    expect(board.locator("#announcer")).to_have_text("4 more replies loaded")
    assert board.url.rstrip("/") == live_server.url
    assert board.evaluate("window.mostCopies") == 1


def test_show_more_replies_pages_through_a_long_thread(page, live_server):
    first, replies = thread_with_replies(live_server, 3 + 100 + 2)
    board = open_board(page)
    board.evaluate(COPY_COUNTER)
    more = board.locator(f"#thread-{first} a.more-replies")
    expect(more).to_have_text("Show 102 more replies")

    more.click()
    expect(board.locator(f"#thread-{first} > article.reply")).to_have_count(103)
    expect(more).to_have_text("Show 2 more replies")
    more.click()
    expect(board.locator(f"#thread-{first} > article.reply")).to_have_count(105)
    expect(more).to_have_count(0)
    assert reply_ids(board, first) == [f"comment-{i}" for i in replies]
    assert board.evaluate("window.mostCopies") == 1


def test_show_more_replies_from_the_keyboard_focuses_the_first_loaded(page, live_server):
    first, replies = thread_with_replies(live_server, 5)
    board = open_board(page)
    board.focus(f"#thread-{first} a.more-replies")
    board.keyboard.press("Enter")
    expect(board.locator(f"#thread-{first} > article.reply")).to_have_count(5)
    expect(board.locator(f"#comment-{replies[3]}")).to_be_focused()
    board.keyboard.press("Tab")
    expect(board.locator(f"#comment-{replies[3]} a.permalink")).to_be_focused()


def test_a_reply_arriving_before_show_more_is_not_loaded_twice(page, live_server):
    first, replies = thread_with_replies(live_server, 5)
    board = count_polls(open_board(page))
    board.evaluate(COPY_COUNTER)
    late = live_server.add("Arrived by the poll", author="Lena", parent=first)
    expect(board.locator(f"#comment-{late}")).to_be_visible(timeout=POLL_WAIT)
    expect(board.locator(f"#thread-{first} .reply-count")).to_have_text("6 replies")

    board.click(f"#thread-{first} a.more-replies")
    expect(board.locator(f"#comment-{replies[4]}")).to_be_visible()
    expect(board.locator(f"#thread-{first} a.more-replies")).to_have_count(0)
    assert reply_ids(board, first) == [f"comment-{i}" for i in replies + [late]]
    wait_for_polls(board, 1)
    assert reply_ids(board, first) == [f"comment-{i}" for i in replies + [late]]
    assert board.evaluate("window.mostCopies") == 1


def test_own_reply_posted_before_show_more_is_not_loaded_twice(page, live_server):
    first, replies = thread_with_replies(live_server, 4)
    board = open_board(page)
    board.evaluate(COPY_COUNTER)
    form = open_reply_form(board, first)
    form.locator("textarea").fill("Mine, while one is still folded away")
    send_reply(form)
    mine = board.locator(f"#thread-{first} > article.reply").last
    expect(mine.locator(".content")).to_have_text("Mine, while one is still folded away")
    expect(board.locator(f"#thread-{first} .reply-count")).to_have_text("5 replies")
    mine_id = mine.get_attribute("id")

    board.click(f"#thread-{first} a.more-replies")
    expect(board.locator(f"#comment-{replies[3]}")).to_be_visible()
    assert reply_ids(board, first) == [f"comment-{i}" for i in replies] + [mine_id]
    assert board.evaluate("window.mostCopies") == 1


# --- Preview and Markdown --------------------------------------------------------------------

def test_preview_shows_the_rendered_comment_and_posts_nothing(board, live_server):
    posts = []
    board.on("request", lambda r: r.method == "POST" and is_post_url(r.url) and posts.append(r))
    board.evaluate("window.sameDocument = true")
    typed = "**bold** and `code`\n\n> quoted"
    board.fill("#content", typed)
    board.click("button.preview-button")

    preview = board.locator("#preview")
    expect(preview.locator("strong")).to_have_text("bold")
    expect(preview.locator("code")).to_have_text("code")
    expect(preview.locator("blockquote")).to_have_text("quoted")
    expect(preview.locator(".preview-label")).to_have_text("Preview")
    expect(board.locator("#content")).to_have_value(typed)  # nothing taken from the box
    expect(board.locator("#comments article.comment")).to_have_count(0)
    assert posts == []
    assert live_server.count() == 0
    assert board.evaluate("window.sameDocument") is True

    # Posting it: the comment shows the same HTML, and the preview goes.
    board.click("#post-button")
    expect(board.locator("#comments article.comment .content strong")).to_have_text("bold")
    expect(preview).to_be_empty()
    expect(preview).to_be_hidden()
    assert live_server.count() == 1


def test_preview_of_an_empty_comment_says_why(board, live_server, problems):
    problems.allow(r"response 422: POST .*/preview$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    board.fill("#content", "  ")
    board.click("button.preview-button")
    expect(board.locator("#preview .form-error")).to_have_text("Write a comment before posting.")
    assert live_server.count() == 0


def test_preview_in_a_reply_form(page, live_server):
    first = live_server.add("Markdown works here too?", author="Maya Chen")
    board = open_board(page)
    form = open_reply_form(board, first)
    form.locator("textarea").fill("*Yes*, see https://example.com/help")
    form.get_by_role("button", name="Preview").click()
    preview = board.locator(f"#preview-{first}")
    expect(preview.locator("em")).to_have_text("Yes")
    expect(preview.locator("a")).to_have_attribute("href", "https://example.com/help")
    expect(board.locator("#preview")).to_be_empty()  # the main form's preview is untouched
    expect(board.locator("article.reply")).to_have_count(0)
    expect(form.locator("textarea")).to_have_value("*Yes*, see https://example.com/help")
    assert live_server.count() == 1

    # Ctrl+Enter sends the reply (the form's first button), not another preview.
    form.locator("textarea").press("Control+Enter")
    expect(board.locator(f"#thread-{first} > article.reply .content em")).to_have_text("Yes")
    expect(preview).to_be_empty()
    assert live_server.count() == 2


def test_markdown_is_rendered_after_posting(board, live_server):
    board.fill("#content", "**bold** and a link http://example.com\n\n<b>raw</b> stays text")
    board.click("#post-button")
    content = board.locator("#comments article.comment .content")
    expect(content.locator("strong")).to_have_text("bold")
    link = content.locator("a")
    expect(link).to_have_text("http://example.com")
    expect(link).to_have_attribute("href", "http://example.com")
    expect(link).to_have_attribute("rel", "nofollow ugc noopener")
    expect(content).to_contain_text("<b>raw</b> stays text")
    expect(content.locator("b")).to_have_count(0)
    # The same HTML on the comment's own page (in a second tab: leaving this one could cut a
    # poll short, which the watcher would report as a failed request).
    own_page = board.context.new_page()
    own_page.goto(board.get_attribute("#comments article.comment a.permalink", "href"))
    expect(own_page.locator("article.comment .content a")).to_have_attribute(
        "rel", "nofollow ugc noopener")
    expect(own_page.locator("article.comment .content strong")).to_have_text("bold")
    settle(own_page)


# --- The thread page -------------------------------------------------------------------------

def test_thread_page_marks_the_reply_and_replies_in_place(page, live_server):
    first, replies = thread_with_replies(live_server, 2)
    page.goto(f"/comments/{replies[1]}")
    wait_ready(page)
    expect(page.locator(f"#thread-{first} > article.comment")).to_have_count(3)
    marked = page.locator("article.comment.marked")
    expect(marked).to_have_count(1)
    expect(marked).to_have_id(f"comment-{replies[1]}")
    expect(marked).to_have_attribute("aria-current", "true")

    form = open_reply_form(page, replies[1])
    form.locator("textarea").fill("Answered from the thread's page")
    send_reply(form)
    expect(page.locator(f"#thread-{first} > article.reply .content")).to_have_text(
        ["Reply 0", "Reply 1", "Answered from the thread's page"])
    expect(page.locator(f"#thread-{first} .reply-count")).to_have_text("3 replies")
    assert page.url.endswith(f"/comments/{replies[1]}")
    assert live_server.count() == 4


# --- The count follows replies that go and come back -----------------------------------------

def moderate(live_server, comment_id, verb):
    with live_server.app.app_context():
        models.moderate(comment_id, verb)


def test_reply_count_follows_replies_hidden_and_unhidden_on_an_open_board(page, live_server):
    first, replies = thread_with_replies(live_server, 3)
    moderate(live_server, replies[1], "hide")
    board = open_board(page)
    board.evaluate(COPY_COUNTER)
    count = board.locator(f"#thread-{first} .reply-count")
    expect(count).to_have_text("2 replies")

    # Hidden while shown: what stays of it says so, and the count goes down.
    moderate(live_server, replies[0], "hide")
    expect(board.locator(f"#comment-{replies[0]}")).to_contain_text(
        "This comment was removed.", timeout=POLL_WAIT)
    expect(count).to_have_text("1 reply")
    # Unhidden, never shown on this page: it takes its place in the thread, and counts.
    moderate(live_server, replies[1], "unhide")
    expect(board.locator(f"#comment-{replies[1]} .content")).to_have_text(
        "Reply 1", timeout=POLL_WAIT)
    assert reply_ids(board, first) == [f"comment-{i}" for i in replies]
    expect(count).to_have_text("2 replies")
    # Unhidden while shown as removed: back, and counted.
    moderate(live_server, replies[0], "unhide")
    expect(board.locator(f"#comment-{replies[0]} .content")).to_have_text(
        "Reply 0", timeout=POLL_WAIT)
    expect(count).to_have_text("3 replies")
    assert board.evaluate("window.mostCopies") == 1

    board.reload()  # the server's count agrees
    expect(board.locator(f"#thread-{first} .reply-count")).to_have_text("3 replies")


def test_a_reply_unhidden_among_the_folded_ones_comes_with_them_in_order(page, live_server):
    first, replies = thread_with_replies(live_server, 6)
    moderate(live_server, replies[4], "hide")
    board = count_polls(open_board(page))
    board.evaluate(COPY_COUNTER)
    more = board.locator(f"#thread-{first} a.more-replies")
    expect(more).to_have_text("Show 2 more replies")

    moderate(live_server, replies[4], "unhide")
    expect(board.locator(f"#thread-{first} .reply-count")).to_have_text(
        "6 replies", timeout=POLL_WAIT)
    expect(board.locator(f"#comment-{replies[4]}")).to_have_count(0)  # not after the link
    more.click()
    expect(more).to_have_count(0)
    assert reply_ids(board, first) == [f"comment-{i}" for i in replies]
    assert board.evaluate("window.mostCopies") == 1


def test_deleting_your_own_reply_counts_it_out(page, live_server):
    first = live_server.add("Anyone selling a bike?", author="Maya Chen")
    board = open_board(page)
    form = open_reply_form(board, first)
    form.locator("textarea").fill("Me! Oh wait, no.")
    send_reply(form)
    mine = board.locator(f"#thread-{first} > article.reply").first
    expect(board.locator(f"#thread-{first} .reply-count")).to_have_text("1 reply")
    mine_id = mine.get_attribute("id")

    mine.get_by_role("link", name="Delete your comment").click()
    board.get_by_role("button", name="Delete").click()
    expect(board.locator(f"#{mine_id}")).to_contain_text("This comment was removed.")
    expect(board.locator(f"#thread-{first} .reply-count")).to_be_hidden()
    wait_for_polls(count_polls(board), 2)  # the poll's copy of the deletion changes nothing
    expect(board.locator(f"#thread-{first} .reply-count")).to_be_hidden()


# --- Every new page under the Content-Security-Policy ----------------------------------------

def test_conversation_pages_load_without_csp_violations_or_errors(context, live_server, problems):
    """The watcher (conftest) fails any test on a CSP violation; here, explicitly, every page and
    state this change added, each in a fresh tab, with JavaScript on."""
    first, replies = thread_with_replies(live_server, 5)
    live_server.add("**Bold**, `code`, > and https://example.com", author="Lena", parent=first)
    board = open_board(context.new_page())
    board.fill("#content", "*Preview* me")
    board.click("#comment-form button.preview-button")
    expect(board.locator("#preview em")).to_have_text("Preview")
    open_reply_form(board, first)
    board.click(f"#thread-{first} a.more-replies")
    expect(board.locator(f"#thread-{first} > article.reply")).to_have_count(6)
    settle(board)
    for url in (f"/comments/{replies[2]}", f"/comments/{first}/reply",
                f"/comments/{first}/replies?after={replies[2]}"):
        tab = context.new_page()
        tab.goto(url)
        wait_ready(tab)
        expect(tab.locator(f"#thread-{first}, #reply-form-{first}").first).to_be_visible()
        settle(tab)
    assert not [p for p in problems.found if "CSP" in p or "Content Security Policy" in p]
