"""Actions that say what they do: Edit and Delete say how long they still work and go when the time
is up; a refusal says why inside the comment it is about; focus follows every step of an edit or
a deletion; Escape cancels and Ctrl/Cmd+Enter saves; destructive actions look it; the focus
ring shows on every background; "or Ctrl+Enter" shows only where it works."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from board import models
from board.extensions import db
from tests.browser.conftest import open_board, post_comment, wait_ready

pytestmark = pytest.mark.browser

EXPIRED = "Comments can be changed for 15 minutes after posting; this one no longer can."
DANGER = "rgb(164, 22, 26)"  # board.css --danger
ACCENT = "rgb(43, 95, 171)"  # board.css --accent


def backdate(live_server, comment_id, minutes):
    """Move a comment's posting time back, as if `minutes` had passed since (the page that shows
    it does not know)."""
    with live_server.app.app_context():
        comment = db.session.get(models.Comment, comment_id)
        comment.posted -= timedelta(minutes=minutes)
        db.session.commit()


def refused_by_the_server(problems, status=403):
    problems.allow(rf"response {status}: (GET|POST) .*/comments/\d+")
    problems.allow(rf"console error: Failed to load resource: .* {status}")
    problems.allow(rf"console error: Response Status Error Code {status} from /comments/\d+")


def test_edit_and_delete_say_how_long_they_still_work_and_go_when_the_time_is_up(page,
                                                                                   live_server):
    page.clock.install(time=datetime.now(timezone.utc))
    board = open_board(page)
    mine = post_comment(board, "Counting down")
    comment = board.locator(f"#comment-{mine}")
    edit = comment.locator("a.edit")
    expect(edit).to_have_text("Edit your comment · 15 min")
    expect(edit).to_have_accessible_name("Edit your comment · 15 min")
    expect(comment.locator(".you")).to_have_text("you")

    board.clock.run_for(61 * 1000)
    expect(edit).to_have_text("Edit your comment · 14 min")
    board.clock.fast_forward("12:00")
    expect(edit).to_have_text("Edit your comment · 2 min")
    # Focus on Edit when it goes moves to the comment's Reply, not to the top of the page.
    edit.focus()
    board.clock.fast_forward("02:00")
    expect(comment.locator(".own-actions")).to_have_count(0)
    expect(comment.locator("a.reply")).to_be_focused()
    expect(comment.locator(".you")).to_have_text("you")  # still yours, no longer changeable


def test_a_poll_that_brings_a_fresh_copy_of_a_comment_keeps_focus_on_it(page, live_server):
    """The poll replaces a changed comment with its new copy; focus on its Edit stays there."""
    board = open_board(page)
    mine = post_comment(board, "Before")
    edit = board.locator(f"#comment-{mine} a.edit")
    edit.focus()
    with live_server.app.app_context():
        models.change(db.session.get(models.Comment, mine), content="After",
                      edited=models.clock())
    expect(board.locator(f"#comment-{mine} .content")).to_have_text("After", timeout=20_000)
    expect(edit).to_be_focused()
    # The poll's copy is everyone's (a shared cache may hand it out): the page keeps its own parts.
    expect(board.locator(f"#comment-{mine} .you")).to_have_text("you")
    expect(board.locator(f"#comment-{mine} .own-actions a")).to_have_count(2)


@pytest.mark.parametrize("off_by", [timedelta(minutes=20), -timedelta(minutes=20)],
                         ids=["reader-ahead", "reader-behind"])
def test_a_readers_clock_that_is_off_changes_neither_the_countdown_nor_ago(page, live_server,
                                                                          off_by):
    """Counted on the server's clock (the page's server-time): 20 minutes ahead would hide Edit
    at once, 20 minutes behind would show "in 20 minutes"."""
    page.clock.install(time=datetime.now(timezone.utc) + off_by)
    board = open_board(page)
    mine = post_comment(board, "Whose clock?")
    comment = board.locator(f"#comment-{mine}")
    expect(comment.locator("a.edit")).to_have_text(re.compile(r"· 1[45] min$"))
    expect(comment.locator("time.posted")).to_have_text("just now")


def test_edit_refused_after_the_time_is_up_says_why_in_the_comment(page, live_server, problems):
    refused_by_the_server(problems)
    board = open_board(page)
    other = live_server.add("Someone else's", author="Lena")
    mine = post_comment(board, "Too late to change")
    backdate(live_server, mine, 16)  # the page still offers Edit: its clock may be behind
    comment = board.locator(f"#comment-{mine}")
    comment.locator("a.edit").click()

    message = comment.locator(".error-message")
    expect(message).to_contain_text(EXPIRED)
    expect(message).to_have_attribute("role", "alert")
    expect(message).to_be_focused()  # Edit, which had focus, is gone
    expect(comment.locator(".own-actions")).to_have_count(0)
    expect(comment.locator(".content")).to_have_text("Too late to change")
    # Not at the top of the list, not in general words.
    expect(board.locator("#board-status")).to_be_hidden()
    expect(board.locator("text=Something went wrong")).to_have_count(0)
    expect(board.locator(f"#comment-{other} .error-message")).to_have_count(0)


def test_save_and_delete_refused_after_the_time_is_up_keep_the_form_and_say_why(
        page, live_server, problems):
    refused_by_the_server(problems)
    board = open_board(page)
    first = post_comment(board, "Edit me slowly")
    second = post_comment(board, "Delete me slowly")

    board.locator(f"#comment-{first} a.edit").click()
    box = board.locator(f"#comment-{first} textarea")
    box.fill("Edited, but too late")
    board.locator(f"#comment-{second} a.delete").click()
    expect(board.locator(f"form#comment-{second}")).to_be_visible()
    backdate(live_server, first, 16)
    backdate(live_server, second, 16)

    board.locator(f"#comment-{first} button", has_text="Save").click()
    expect(board.locator(f"form#comment-{first} .error-message")).to_contain_text(EXPIRED)
    expect(box).to_have_value("Edited, but too late")  # the text stays, to copy
    expect(board.locator(f"#comment-{first} button", has_text="Save")).to_be_enabled()

    board.locator(f"#comment-{second} button", has_text="Delete").click()
    expect(board.locator(f"form#comment-{second} .error-message")).to_contain_text(EXPIRED)
    expect(board.locator("#board-status")).to_be_hidden()
    assert live_server.count() == 2


def test_a_comment_removed_meanwhile_says_so_in_itself(page, live_server, problems):
    refused_by_the_server(problems, 404)
    board = open_board(page)
    mine = post_comment(board, "Hidden by a moderator in a moment")
    with live_server.app.app_context():
        models.moderate(mine, "hide")
    board.locator(f"#comment-{mine} a.delete").click()
    expect(board.locator(f"#comment-{mine} .error-message")).to_contain_text(
        "There is no such comment.")
    expect(board.locator("#board-status")).to_be_hidden()


def test_focus_follows_edit_save_cancel_and_delete(page, live_server):
    board = open_board(page)
    mine = post_comment(board, "Fix me")
    comment = board.locator(f"#comment-{mine}")
    edit = comment.locator("a.edit")

    # Edit: focus in the box, at the end of the text.
    edit.focus()
    board.keyboard.press("Enter")
    box = board.locator(f"form#comment-{mine} textarea")
    expect(box).to_be_focused()
    assert box.evaluate("b => [b.selectionStart, b.selectionEnd]") == [6, 6]
    expect(board.locator(f"form#comment-{mine} .keys")).to_be_visible()
    # Escape cancels: the comment as it was, focus on its Edit.
    board.keyboard.type(", please")
    board.keyboard.press("Escape")
    expect(comment.locator(".content")).to_have_text("Fix me")
    expect(edit).to_be_focused()

    # Ctrl+Enter saves: the new text, "edited", focus on Edit.
    board.keyboard.press("Enter")
    expect(box).to_be_focused()
    box.fill("Fixed")
    board.keyboard.press("Control+Enter")
    expect(comment.locator(".content")).to_have_text("Fixed")
    expect(comment.locator(".edited")).to_have_text("edited")
    expect(edit).to_be_focused()

    # Cmd+Enter too; and Save and Cancel, clicked, land on Edit as well.
    edit.click()
    box.fill("Fixed again")
    board.keyboard.press("Meta+Enter")
    expect(comment.locator(".content")).to_have_text("Fixed again")
    expect(edit).to_be_focused()
    edit.click()
    board.locator(f"form#comment-{mine} a.cancel").click()
    expect(edit).to_be_focused()
    edit.click()
    board.locator(f"form#comment-{mine} button", has_text="Save").click()
    expect(edit).to_be_focused()

    # Delete: the question, focused and named by itself; Cancel goes back to Delete.
    delete = comment.locator("a.delete")
    delete.click()
    question = board.locator(f"form#comment-{mine}")
    expect(question).to_be_focused()
    expect(question).to_have_accessible_name(re.compile(r"^Delete this comment\?"))
    board.keyboard.press("Tab")
    expect(question.get_by_role("button", name="Delete")).to_be_focused()
    question.get_by_role("link", name="Cancel").click()
    expect(delete).to_be_focused()
    # And a deletion leaves focus on what stays of the comment.
    delete.click()
    board.locator(f"form#comment-{mine} button", has_text="Delete").click()
    placeholder = board.locator(f"article#comment-{mine}")
    expect(placeholder).to_have_text("This comment was removed.")
    expect(placeholder).to_be_focused()
    expect(placeholder).not_to_have_class(re.compile(r"\bnew\b"))  # not news


def test_destructive_actions_look_destructive(page, live_server):
    board = open_board(page)
    mine = post_comment(board, "Soon gone")
    comment = board.locator(f"#comment-{mine}")
    expect(comment.locator("a.delete")).to_have_css("color", DANGER)
    expect(comment.locator("a.edit")).to_have_css("color", ACCENT)
    for button in ("#post-button", "#comment-form button.preview-button"):
        expect(board.locator(button)).not_to_have_css("background-color", DANGER)
    comment.locator("a.edit").click()
    expect(board.locator(f"form#comment-{mine} button", has_text="Save")).to_have_css(
        "background-color", ACCENT)
    board.locator(f"form#comment-{mine} a.cancel").click()
    comment.locator("a.delete").click()
    confirm = board.locator(f"form#comment-{mine} button", has_text="Delete")
    expect(confirm).to_have_css("background-color", DANGER)
    expect(confirm).to_have_css("color", "rgb(255, 255, 255)")

    # Without JavaScript, the author's page that asks first is the same form.
    plain = board.context.browser.new_context(
        java_script_enabled=False, base_url=board.url.rstrip("/"),
        storage_state=board.context.storage_state())
    try:
        asking = plain.new_page()
        asking.goto(f"/comments/{mine}/delete")
        expect(asking.get_by_role("button", name="Delete")).to_have_css("background-color", DANGER)
    finally:
        plain.close()


def contrast(one, two):
    """WCAG contrast ratio of two "rgb(r, g, b)" colours."""
    def luminance(colour):
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# The focused element's ring, and the colour it is drawn on: the ring lies outside the element
# (outline-offset), so on the first opaque background among its ancestors.
RING = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    let under = el.parentElement, background = "rgb(255, 255, 255)";
    while (under) {
        const colour = getComputedStyle(under).backgroundColor;
        if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") { background = colour; break; }
        under = under.parentElement;
    }
    const name = el.id ? "#" + el.id : el.localName + "." + [...el.classList].join(".");
    return { name, visible: el.matches(":focus-visible"), style: style.outlineStyle,
             width: parseFloat(style.outlineWidth), colour: style.outlineColor, background };
}"""


def test_the_focus_ring_shows_on_every_background(page, live_server):
    """Tab through a board with everything on it (the masthead, the form, the new-comments
    button, a folded comment, a thread and its replies, your own comment's Edit and Delete, "Load
    older"): every
    stop shows a ring of at least 2px that stands out 3:1 from what is around it."""
    live_server.add_many(50, start=datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc))
    first = live_server.add("A thread", author="Maya Chen")
    answer = live_server.add("An answer with a [link](https://example.com)", author="Tom Ellis",
                             parent=first)
    live_server.add("An answer to the answer", author="Lena", parent=answer)
    for n in range(2):  # four replies: "Show 1 more reply"
        live_server.add(f"Answer {n}", author="Sam", parent=first)
    live_server.add(" ".join(["A long comment."] * 50), author="Lena")
    board = open_board(page)
    post_comment(board, "Mine")
    board.evaluate("""() => {  // the button, as a held arrival shows it
        const button = document.getElementById("new-comments");
        button.textContent = "1 new comment";
        button.hidden = false;
    }""")
    board.focus("#author")
    while board.evaluate(RING)["name"] != "a.title":  # from the keyboard, back to the first
        board.keyboard.press("Shift+Tab")  # stop: the masthead's title
    seen = []
    for _ in range(300):
        ring = board.evaluate(RING)
        if ring["name"].startswith("body"):
            break  # past the last stop
        seen.append(ring["name"])
        assert ring["visible"] and ring["style"] != "none", ring
        assert ring["width"] >= 2, ring
        assert contrast(ring["colour"], ring["background"]) >= 3, ring
        board.keyboard.press("Tab")
    assert seen[0] == "a.title"
    for expected in ("a.boards-link", "#author", "#content", "#post-button", "#new-comments", "button.show-more",
                     "a.edit", "a.delete", "a.in-reply-to", "a.reply", "a.older.button",
                     "a.permalink", "a.more-replies"):
        assert expected in seen, expected
    # The masthead's ring is white on its accent, where the accent's own would vanish: on its
    # title, its link to the boards and its choices (the theme, the language).
    board.focus("#author")
    masthead = []
    while not masthead or masthead[-1] != "a.title":
        board.keyboard.press("Shift+Tab")
        ring = board.evaluate(RING)
        assert ring["colour"] == "rgb(255, 255, 255)", ring
        masthead.append(ring["name"])
    assert "a.boards-link" in masthead and "button.to-dark" in masthead
    # A comment given focus by the script (after "Load older", a deletion) shows it too.
    board.eval_on_selector("#comments article.comment", "e => { e.tabIndex = -1; e.focus(); }")
    ring = board.evaluate(RING)
    assert ring["style"] != "none" and contrast(ring["colour"], ring["background"]) >= 3, ring


def test_the_ctrl_enter_hint_shows_only_where_the_key_works(new_context, live_server):
    first = live_server.add("Answer me", author="Maya Chen")
    desktop = open_board(new_context().new_page())
    expect(desktop.locator("#comment-form .keys")).to_have_text("or Ctrl+Enter")
    expect(desktop.locator("#comment-form .keys")).to_be_visible()
    desktop.click(f"#comment-{first} a.reply")
    expect(desktop.locator(f"#reply-form-{first} .keys")).to_be_visible()
    # No key to press on a touch screen.
    phone = new_context(has_touch=True, viewport={"width": 390, "height": 844}).new_page()
    open_board(phone)
    expect(phone.locator("#comment-form .keys")).to_be_hidden()
    # The reply page's plain form: the script sends it with the key too (a normal submit).
    reply_page = new_context().new_page()
    reply_page.goto(f"/comments/{first}/reply")
    wait_ready(reply_page)
    expect(reply_page.locator(f"#reply-form-{first} .keys")).to_be_visible()
    reply_page.fill(f"#reply-{first}-content", "Sent with the key")
    with reply_page.expect_navigation():
        reply_page.press(f"#reply-{first}-content", "Control+Enter")
    expect(reply_page.locator("article.comment.marked .content")).to_have_text("Sent with the key")


@pytest.mark.parametrize("action", ["edit", "delete", "reply"])
def test_an_action_out_while_a_poll_brings_a_fresh_copy_still_lands(page, live_server, action):
    """Edit, Delete and Reply answer into their comment's place. A poll that brings the comment's
    fresh copy while the action is out must not take that place from under it (the reader's
    press would do nothing); the fresh copy goes in after, or the server's own copy does."""
    board = open_board(page)
    mine = post_comment(board, "Before")
    comment = board.locator(f"#comment-{mine}")
    held = []
    board.route(re.compile(rf"/comments/{mine}/{action}$"), lambda route: held.append(route))
    with board.expect_request(re.compile(rf"/comments/{mine}/{action}$")):
        comment.locator(f"a.{action}").click()
    with live_server.app.app_context():
        models.change(db.session.get(models.Comment, mine), content="After",
                      edited=models.clock())
    for _ in range(20):  # polls until one brings the fresh copy
        with board.expect_response(lambda r: "/comments?after=" in r.url) as poll:
            pass
        if poll.value.status == 200 and "data-change" in poll.value.text():
            break
    else:
        pytest.fail("no poll brought the fresh copy")
    board.wait_for_timeout(200)  # the poll's answer is swapped in
    held[0].continue_()

    if action == "reply":
        expect(board.locator(f"#reply-form-{mine} textarea")).to_be_focused()
        expect(comment.locator(".content")).to_have_text("After")
        return
    form = board.locator(f"form#comment-{mine}")
    expect(form).to_be_visible()
    form.locator("a.cancel").click()
    expect(board.locator(f"article#comment-{mine} .content")).to_have_text("After")
    expect(board.locator(f"article#comment-{mine} a.{action}")).to_be_focused()
