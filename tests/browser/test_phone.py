"""A phone-sized layout: the first comment on the first screen of a 390×844 phone (the form starts
as one line and opens when used, with or without JavaScript), touch targets of at least 44 px, a
comment's line that never wraps, and no sideways scroll at 400 % zoom (a 320 CSS px viewport) on
the board, a thread's page and the moderator's page."""

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from werkzeug.security import generate_password_hash

from tests.browser.conftest import open_board, post_comment, settle, wait_ready

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
ZOOMED = {"width": 320, "height": 640}  # a 1280 px wide window at 400 %
START = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)
LONG_NAME = "Bartholomew Fitzwilliam-Montgomery-Saint-Clair of Upper Wallop"
MODERATOR_PASSWORD = "a password for the phone tests"


@pytest.fixture
def busy_board(live_server):
    """Everything a page can hold: 50 older threads (so "Load older"), a thread with "Show N
    more replies" and a reply to a reply by a long name, a long word, a long link, a code block
    with a long line, and a long (folded) comment. Returns the busy thread's id."""
    live_server.add_many(50, start=START)
    later = START + timedelta(hours=2)
    first = live_server.add("Who is coming to the book sale on Saturday?", author="Maya Chen",
                            posted=later)
    answer = live_server.add("I am, with a bag.", author=LONG_NAME, parent=first,
                             posted=later + timedelta(minutes=1))
    live_server.add("Bring two.", author="Tom Ellis", parent=answer,
                    posted=later + timedelta(minutes=2))
    for n in range(2):
        live_server.add(f"Answer {n}", author="Sam", parent=first,
                        posted=later + timedelta(minutes=3 + n))
    live_server.add("Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherung" * 4
                    + " and https://example.com/" + "a-very-long-path/" * 12,
                    author=LONG_NAME, posted=later + timedelta(minutes=10))
    live_server.add("```\n" + "print('a line of code that is much wider than a phone') " * 3
                    + "\n```", author="Lena", posted=later + timedelta(minutes=11))
    live_server.add(" ".join(["A long comment that goes on."] * 40), author=None,
                    posted=later + timedelta(minutes=12))
    return first


def phone(new_context, viewport=PHONE, **options):
    return new_context(viewport=viewport, has_touch=True, **options).new_page()


def no_sideways_scroll(page):
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_the_first_comment_is_on_the_first_screen_and_the_form_opens_when_used(
        new_context, busy_board, live_server, javascript):
    page = phone(new_context, java_script_enabled=javascript)
    page.goto("/")
    if javascript:
        wait_ready(page)
    first = page.locator("#comments article.comment").first
    box = first.bounding_box()
    assert box["y"] + 120 <= PHONE["height"], box  # its line and the start of its text
    box = page.locator("#content")
    name = page.locator("#author")
    assert box.bounding_box()["height"] <= 48  # one line
    expect(name).to_be_hidden()

    box.click()
    expect(name).to_be_visible()
    assert box.bounding_box()["height"] >= 80
    box.fill("Posted from a phone")
    page.locator("h1").click()  # focus leaves the form: with text in it, it stays open
    expect(name).to_be_visible()
    name.fill("Pat")
    if javascript:
        page.click("#post-button")
        expect(page.locator("#comments article.comment .content").first).to_have_text(
            "Posted from a phone")
    else:
        settle(page)
        with page.expect_navigation():
            page.click("#post-button")
        expect(page.locator("#comments article.comment .content").first).to_have_text(
            "Posted from a phone")
    page.locator("h1").click()
    if javascript:
        # Used once, it stays open: nothing under it moves when focus goes elsewhere.
        expect(name).to_be_visible()
    else:
        # A new page after the redirect: one line again until it is used.
        expect(name).to_be_hidden()
        expect(page.locator("#content")).to_have_css("height", "44px")
    assert live_server.count() == 59


INTERACTIVE = """() => Array.from(document.querySelectorAll(
        "a[href], button, input:not([type=hidden]), textarea, select, summary"))
    .filter((e) => e.getClientRects().length && !e.closest(".content"))
    .map((e) => {
        const box = e.getBoundingClientRect();
        const name = e.id ? "#" + e.id : e.localName + "." + [...e.classList].join(".");
        return [name + " " + (e.textContent || e.name).trim().slice(0, 30), box.width, box.height];
    })"""


def test_a_tap_below_the_open_form_lands_where_it_aimed(new_context, busy_board, live_server):
    """A form once used stays open, so leaving it moves nothing under it: the tap lands."""
    page = phone(new_context)
    open_board(page)
    mine = post_comment(page, "Mine")  # the box keeps focus, empty: the form is open
    expect(page.locator("#author")).to_be_visible()
    top = page.locator(f"#comment-{mine}").bounding_box()["y"]
    page.locator(f"#comment-{mine} a.edit").tap()
    expect(page.locator(f"form#comment-{mine} textarea")).to_be_focused()
    expect(page.locator("#author")).to_be_visible()  # used once, it stays open
    assert page.locator(f"#comment-{mine}").bounding_box()["y"] == top


def test_touch_targets_are_at_least_44px(new_context, busy_board, live_server):
    page = phone(new_context)
    open_board(page)
    post_comment(page, "Mine, with Edit and Delete")
    mine = post_comment(page, "Mine, being edited")
    page.click(f"#comment-{busy_board} a.reply")  # a reply form open
    page.click(f"#comment-{mine} a.edit")  # and an edit form
    expect(page.locator(f"form#comment-{mine} textarea")).to_be_focused()
    page.evaluate("""() => {  // the new-comments button, as a held arrival shows it
        const button = document.getElementById("new-comments");
        button.textContent = "2 new comments";
        button.hidden = false;
    }""")
    targets = page.evaluate(INTERACTIVE)
    names = " ".join(name for name, *_ in targets)
    for kind in ("a.title", "#new-comments", "a.permalink", "a.in-reply-to", "a.reply",
                 "a.more-replies", "button.show-more", "a.older", "a.cancel", "Save",
                 "#post-button", "preview-button", "a.delete"):
        assert kind in names, kind
    small = [(name, round(w), round(h)) for name, w, h in targets if w < 44 or h < 44]
    assert not small, small


def test_a_comments_line_never_wraps_on_a_phone(new_context, busy_board, live_server):
    for viewport in (PHONE, ZOOMED):
        page = phone(new_context, viewport)
        open_board(page)
        mine = post_comment(page, "Mine")
        page.click(f"#comment-{mine} a.edit")
        page.fill(f"form#comment-{mine} textarea", "Mine, edited")
        page.click(f"form#comment-{mine} button:text-is('Save')")
        expect(page.locator(f"#comment-{mine} .edited")).to_be_visible()
        lines = page.eval_on_selector_all("article.comment > header.comment-meta", """(metas) =>
            metas.map((meta) => {
                const middles = Array.from(meta.children).map((e) => {
                    const box = e.getBoundingClientRect();
                    return box.top + box.height / 2;
                });
                const time = meta.querySelector("a.permalink");
                return { id: meta.parentElement.id, spread: Math.max(...middles) - Math.min(...middles),
                         timeCut: time.scrollWidth > time.clientWidth,
                         overflow: meta.scrollWidth - meta.clientWidth };
            })""")
        assert len(lines) >= 50
        wrapped = [line for line in lines if line["spread"] > 2 or line["timeCut"]]
        assert not wrapped, (viewport, wrapped)
        # The long name and "in reply to" give way, with an ellipsis; the time never does.
        name = page.locator("article.comment .author", has_text=LONG_NAME).first
        assert name.evaluate("e => e.scrollWidth > e.clientWidth")
        expect(name).to_have_css("text-overflow", "ellipsis")
        assert no_sideways_scroll(page)


@pytest.fixture
def moderator(live_server):
    config = live_server.app.config
    old = config["BOARD_MODERATOR_PASSWORD_HASH"]
    config["BOARD_MODERATOR_PASSWORD_HASH"] = generate_password_hash(MODERATOR_PASSWORD)
    yield
    config["BOARD_MODERATOR_PASSWORD_HASH"] = old


def test_no_sideways_scroll_at_400_percent_zoom(new_context, busy_board, live_server, moderator):
    page = phone(new_context, ZOOMED)
    open_board(page)
    assert no_sideways_scroll(page)
    # With forms open, and the rest of a thread, and the older comments.
    mine = post_comment(page, "Mine, to edit")
    page.click(f"#comment-{busy_board} a.reply")
    page.click(f"#comment-{mine} a.edit")
    page.click(f"#thread-{busy_board} a.more-replies")
    page.click("a.older")
    expect(page.locator("a.older")).to_have_count(0)
    assert no_sideways_scroll(page)
    # Another page: a thread's own.
    settle(page)
    page.goto(f"/comments/{busy_board}")
    wait_ready(page)
    assert no_sideways_scroll(page)
    # Without JavaScript (the server's long dates, which may wrap there).
    plain = phone(new_context, ZOOMED, java_script_enabled=False)
    plain.goto("/")
    assert no_sideways_scroll(plain)
    # The moderator's page, with its filters, search and bulk buttons.
    page.goto("/moderate/login")
    page.fill("input[type=password]", MODERATOR_PASSWORD)
    with page.expect_navigation():
        page.click("button:text-is('Log in')")
    wait_ready(page)
    expect(page.locator("h1")).to_have_text("Moderate")
    expect(page.locator("article.moderation").first).to_be_visible()
    assert no_sideways_scroll(page)
    # Asking before a delete, in place.
    page.locator("article.moderation button.danger").first.click()
    expect(page.locator("form.confirm")).to_be_visible()
    assert no_sideways_scroll(page)
    # And the destructive ones look it there too.
    expect(page.locator("form.confirm button.danger")).to_have_css(
        "background-color", "rgb(164, 22, 26)")
    expect(page.locator("#bulk button[value=hide]")).not_to_have_css(
        "background-color", "rgb(164, 22, 26)")
    settle(page)
