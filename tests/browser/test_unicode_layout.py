"""Unicode tricks stay inside their comment: a letter under thousands of combining marks (refused
by rules.validate today, but an import of old data may still hold one) never widens the page or
spills over its neighbours, and a visitor's text direction cannot leak into the page around it."""

import pytest

from tests.browser.conftest import open_board

pytestmark = pytest.mark.browser

# One letter and 4,000 combining marks, of each kind: nonspacing (Mn, stacked above and below),
# spacing (Mc, each as wide as a letter: one unbreakable grapheme 38,000px wide on the old
# stylesheet), enclosing (Me), and all of them at once.
TOWERS = {
    "nonspacing": "a" + "\u0301\u0316\u0353\u035c" * 1000,
    "spacing": "\u0915" + "\u0903" * 4000,
    "enclosing": "a" + "\u20dd" * 4000,
    "mixed": "a" + "\u0301\u0903\u20dd\u0316" * 1000,
}
WIDTHS = [1280, 360]  # a desktop and a phone


def page_overflow(page):
    """How far the page reaches beyond the viewport, across and down, in CSS pixels."""
    return page.evaluate("""() => {
        const root = document.documentElement;
        return [root.scrollWidth - root.clientWidth, root.scrollHeight];
    }""")


def spill(page, selector):
    """How far anything inside `selector` is drawn outside its comment's box, in CSS pixels."""
    return page.eval_on_selector(selector, """(el) => {
        const box = el.closest("article.comment").getBoundingClientRect();
        const range = document.createRange();
        range.selectNodeContents(el);
        const clip = el.getBoundingClientRect();
        // what is drawn is the text's extent, cut by the element's clip when it has one
        const ink = range.getBoundingClientRect();
        const clipped = getComputedStyle(el).overflowX !== "visible";
        const left = clipped ? Math.max(ink.left, clip.left) : ink.left;
        const right = clipped ? Math.min(ink.right, clip.right) : ink.right;
        return Math.max(0, box.left - left, right - box.right);
    }""")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind", TOWERS)
def test_a_letter_with_4000_combining_marks_does_not_widen_the_page(page, live_server, kind,
                                                                    width):
    page.set_viewport_size({"width": width, "height": 800})
    tower = TOWERS[kind]
    live_server.add("Before")
    live_server.add(tower, author=tower[:64])  # as old data would be: no validation
    live_server.add("After")
    open_board(page)
    assert page.locator("#comments article.comment").count() == 3
    across, _ = page_overflow(page)
    assert across <= 0, f"the page is {across}px wider than the viewport"
    # (each comment is the first of its own thread: the middle thread holds the tower)
    for selector in ("section.thread:nth-of-type(2) article.comment .content",
                     "section.thread:nth-of-type(2) article.comment .author"):
        assert spill(page, selector) <= 1, selector


def test_author_and_content_are_isolated_and_clipped_by_the_stylesheet(page, live_server):
    live_server.add("\u202eThe moderator approved this comment!", author="\u202eAnn")
    open_board(page)
    for selector in (".author", ".content"):
        style = page.eval_on_selector(f"article.comment {selector}", """(el) => {
            const s = getComputedStyle(el);
            return [s.unicodeBidi, s.overflowX, s.overflowWrap];
        }""")
        bidi, overflow, wrap = style
        assert bidi == "isolate", selector
        assert overflow in ("hidden", "clip"), selector
        assert wrap == "anywhere", selector
