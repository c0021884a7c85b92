"""Who said what: a coloured initial for each author, a muted Anonymous, "you" on your own
comments, the name you typed remembered in this browser, and long comments folded behind a
"Show more" button (with JavaScript; without it the whole text shows)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import open_board, post_comment, settle

pytestmark = pytest.mark.browser

# About 900 characters, with a link in its last, folded-away lines.
LONG = " ".join(f"Sentence {i} of a long story about the library's opening hours." for i in range(14)) \
    + " More at https://example.com/hours"


def test_initials_anonymous_and_you(new_context, live_server):
    live_server.add("From someone else", author="maya Chen")
    live_server.add("From nobody in particular", author=None)
    page = open_board(new_context().new_page())
    mine = post_comment(page, "From me", author="Ada Lovelace")

    comment = page.locator(f"#comment-{mine}")
    expect(comment.locator(".avatar")).to_have_text("A")
    expect(comment.locator(".avatar")).to_have_attribute("aria-hidden", "true")
    expect(comment.locator(".author")).to_have_text("Ada Lovelace")
    expect(comment.locator(".you")).to_have_text("you")
    others = page.locator("#comments article.comment", has_text="From someone else")
    expect(others.locator(".avatar")).to_have_text("M")
    expect(others.locator(".avatar")).to_have_class(re.compile(r"\bavatar-\d\b"))
    expect(others.locator(".you")).to_have_count(0)
    nobody = page.locator("#comments article.comment", has_text="From nobody")
    expect(nobody.locator(".author")).to_have_text("Anonymous")
    expect(nobody.locator(".author")).to_have_class(re.compile(r"\banonymous\b"))
    expect(nobody.locator(".author")).to_have_css("color", "rgb(91, 100, 115)")  # --muted

    # "you" is this browser's: another one sees Ada's comment without it.
    stranger = open_board(new_context().new_page())
    expect(stranger.locator(f"#comment-{mine} .author")).to_have_text("Ada Lovelace")
    expect(stranger.locator(f"#comment-{mine} .you")).to_have_count(0)


def test_the_name_you_typed_is_remembered_for_your_next_comment(new_context, live_server):
    first = live_server.add("Who's coming?", author="Maya Chen")
    context = new_context()
    page = open_board(context.new_page())
    expect(page.locator("#author")).to_have_value("")
    post_comment(page, "Me!", author="Ada Lovelace")
    settle(page)
    page.reload()
    expect(page.locator("#author")).to_have_value("Ada Lovelace")
    # The reply form, in place, and a second tab of the same browser, too.
    page.click(f"#comment-{first} a.reply")
    expect(page.locator(f"#reply-{first}-author")).to_have_value("Ada Lovelace")
    other_tab = open_board(context.new_page())
    expect(other_tab.locator("#author")).to_have_value("Ada Lovelace")
    # Another browser has its own (no) name.
    expect(open_board(new_context().new_page()).locator("#author")).to_have_value("")

    # Without JavaScript too: the name of the last post, whatever it was.
    plain = new_context(java_script_enabled=False).new_page()
    plain.goto("/")
    plain.fill("#author", "Grace Hopper")
    plain.fill("#content", "From a plain form")
    settle(plain)
    with plain.expect_navigation():
        plain.click("#post-button")
    expect(plain.locator("#author")).to_have_value("Grace Hopper")
    plain.goto(f"/comments/{first}/reply")
    expect(plain.locator(f"#reply-{first}-author")).to_have_value("Grace Hopper")


def test_a_long_comment_is_folded_behind_show_more(page, live_server):
    long = live_server.add(LONG, author="Lena")
    short = live_server.add("Short and sweet", author="Sam")
    board = open_board(page)
    comment = board.locator(f"#comment-{long}")
    content = comment.locator(".content")
    expect(comment.get_by_role("button", name="Show more")).to_be_visible()
    toggle = comment.locator("button.show-more")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_attribute("aria-controls", f"comment-{long}-text")
    expect(content).to_have_id(f"comment-{long}-text")
    folded = content.bounding_box()["height"]
    line = float(content.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    assert folded <= 8 * line, folded
    expect(board.locator(f"#comment-{short} button.show-more")).to_have_count(0)

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(toggle).to_have_text("Show less")
    unfolded = content.bounding_box()["height"]
    assert unfolded > folded + 2 * line
    link = content.locator("a").bounding_box()
    assert link["y"] + link["height"] <= content.bounding_box()["y"] + unfolded  # not cut off

    # From the keyboard: a real button after the text, Enter and Space both work.
    toggle.focus()
    board.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    board.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    board.keyboard.press("Enter")
    # Tabbing into the folded-away link unfolds the text, so that what has focus shows.
    comment.locator("a.permalink").focus()
    board.keyboard.press("Tab")
    expect(content.locator("a")).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    board.keyboard.press("Tab")
    expect(toggle).to_be_focused()


def test_long_comments_arriving_or_edited_are_folded_too(page, live_server):
    board = open_board(page)
    mine = post_comment(board, "Short for now")
    expect(board.locator(f"#comment-{mine} button.show-more")).to_have_count(0)
    board.click(f"#comment-{mine} a.edit")
    board.fill(f"form#comment-{mine} textarea", LONG)
    board.click(f"form#comment-{mine} button:text-is('Save')")
    expect(board.locator(f"#comment-{mine} button.show-more")).to_have_text("Show more")
    arrived = live_server.add(LONG, author="Lena")
    expect(board.locator(f"#comment-{arrived} button.show-more")).to_have_text(
        "Show more", timeout=10_000)
