"""Light and dark, in Chromium: the system's theme until the reader chooses one; the choice
painted from the first frame, without any script; the toggle with JavaScript (at once, no
reload) and without (a post and back to the same page); focus rings that stand out in both; an
embedding site's theme; and reduced motion, which stops everything that moves.

The colour pairs themselves are checked from the stylesheet (tests/test_preferences.py) and on
every page by axe (tests/browser/test_accessibility.py, in both themes)."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    POLL_SECONDS,
    THEMES,
    choose,
    from_the_top,
    open_board,
    page_theme,
    post_comment,
    settle,
    wait_held,
    wait_ready,
)
from tests.browser.test_embed import board_frame, host_site, listed  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

POLL_WAIT = (POLL_SECONDS + 4) * 1000
START = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)
PALETTE = ["--ink", "--muted", "--line", "--paper", "--wash", "--accent", "--accent-ink",
           "--danger", "--danger-ink", "--field-line", "--quiet", "--arrival", "--error-wash",
           "--error-line", "--ok-wash", "--ok-line", "--state-visible", "--state-hidden",
           "--masthead", "--masthead-ink", "--shadow"]


def palette(page):
    return page.evaluate("""(names) => {
        const style = getComputedStyle(document.documentElement);
        return Object.fromEntries(names.map((n) => [n, style.getPropertyValue(n).trim()]));
    }""", PALETTE)


def visible_toggle(page):
    """The theme toggle's button that shows: the one to the other theme."""
    return page.locator("form.theme-switch button:visible")


# --- The system's theme, and the reader's choice over it -------------------------------------

@pytest.mark.parametrize("system", THEMES)
def test_without_a_choice_the_page_follows_the_system(new_context, system):
    page = new_context(color_scheme=system).new_page()
    open_board(page)
    assert page.get_attribute("html", "data-theme") is None
    assert page_theme(page) == system
    expect(visible_toggle(page)).to_have_text("Light theme" if system == "dark" else "Dark theme")


@pytest.mark.parametrize("system", THEMES)
@pytest.mark.parametrize("chosen", THEMES)
def test_a_choice_wins_over_the_system(new_context, live_server, system, chosen):
    page = choose(new_context(color_scheme=system), live_server.url, theme=chosen).new_page()
    open_board(page)
    assert page.get_attribute("html", "data-theme") == chosen
    assert page_theme(page) == chosen
    expect(visible_toggle(page)).to_have_text("Light theme" if chosen == "dark" else "Dark theme")


def test_the_dark_palette_is_one_whether_chosen_or_the_systems(new_context, live_server):
    by_system = new_context(color_scheme="dark").new_page()
    by_choice = choose(new_context(color_scheme="light"), live_server.url, theme="dark").new_page()
    light = new_context(color_scheme="light").new_page()
    for page in (by_system, by_choice, light):
        open_board(page)
    assert palette(by_system) == palette(by_choice)
    assert palette(by_system) != palette(light)
    assert all(palette(light).values()) and all(palette(by_choice).values())


def test_the_first_paint_is_in_the_chosen_theme_without_any_script(new_context, live_server):
    """The page's own HTML names the theme and the stylesheet paints it: nothing waits for a
    script, so nothing flashes (and a page with scripts off is dark too)."""
    context = choose(new_context(color_scheme="light", java_script_enabled=False), live_server.url,
                     theme="dark")
    page = context.new_page()
    response = page.goto("/")
    assert re.search(r'<html [^>]*data-theme="dark"', response.text())
    assert page_theme(page) == "dark"
    # The stylesheet blocks the first paint (in <head>, not async, not media-switched).
    assert page.eval_on_selector("link[rel=stylesheet]", "l => l.media || 'all'") == "all"
    assert page.eval_on_selector("link[rel=stylesheet]", "l => !!l.closest('head')")


# --- The toggle ------------------------------------------------------------------------------

def test_the_toggle_with_javascript_switches_at_once_and_is_remembered(page, live_server):
    page.emulate_media(color_scheme="light")
    board = open_board(page)
    board.evaluate("window.sameDocument = true")
    with board.expect_response(lambda r: r.url.endswith("/preferences")) as answer:
        visible_toggle(board).click()
    assert answer.value.status == 204
    expect(board.locator("html")).to_have_attribute("data-theme", "dark")
    assert page_theme(board) == "dark"
    assert board.evaluate("window.sameDocument") is True  # no reload
    expect(visible_toggle(board)).to_have_text("Light theme")
    expect(visible_toggle(board)).to_be_focused()
    # Remembered: the next page is dark from the server.
    settle(board)
    board.goto("/boards")
    wait_ready(board)
    assert board.get_attribute("html", "data-theme") == "dark"
    # And back.
    visible_toggle(board).click()
    expect(board.locator("html")).to_have_attribute("data-theme", "light")
    settle(board)
    board.reload()
    assert board.get_attribute("html", "data-theme") == "light"
    assert page_theme(board) == "light"


def test_the_toggle_without_javascript_comes_back_to_the_same_page(new_context, live_server):
    live_server.add_many(60, start=START)
    page = new_context(color_scheme="light", java_script_enabled=False).new_page()
    page.goto("/")
    page.click("a.older")  # a page with a query: /?before=<id>
    path = page.url.removeprefix(live_server.url)
    assert path.startswith("/?before=")
    with page.expect_navigation():
        visible_toggle(page).click()
    assert page.url.removeprefix(live_server.url) == path
    assert page.get_attribute("html", "data-theme") == "dark"
    assert page_theme(page) == "dark"
    with page.expect_navigation():
        visible_toggle(page).click()
    assert page.url.removeprefix(live_server.url) == path
    assert page_theme(page) == "light"


# --- Focus rings in both themes --------------------------------------------------------------

RING = """() => {
    const e = document.activeElement;
    const style = getComputedStyle(e);
    let behind = e.parentElement, background = "rgba(0, 0, 0, 0)";
    while (behind) {
        background = getComputedStyle(behind).backgroundColor;
        if (!/rgba\\(.*, 0\\)$/.test(background) && background !== "transparent") break;
        behind = behind.parentElement;
    }
    return { what: e.localName + "." + e.className, ring: style.outlineColor, width: style.outlineWidth,
             line: style.outlineStyle, background: background };
}"""


def rgb(colour):
    return [int(part) for part in re.findall(r"\d+", colour)[:3]]


def contrast(a, b):
    def luminance(channels):
        r, g, b = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
                   for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    high, low = sorted((luminance(rgb(a)), luminance(rgb(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", THEMES)
def test_every_focus_ring_stands_out_from_what_is_around_it(new_context, live_server, theme):
    """Tab through a board with a thread, a reply form open and your own comment: every ring is
    a solid line at least 2 px wide, at least 3:1 against the background it is drawn on (WCAG
    2.2 1.4.11), the masthead's included."""
    first = live_server.add("A thread", author="Maya Chen", posted=START)
    live_server.add("A reply", author="Tom Ellis", parent=first, posted=START + timedelta(minutes=1))
    page = choose(new_context(), live_server.url, theme=theme).new_page()
    board = open_board(page)
    post_comment(board, "Mine")
    board.click(f"#comment-{first} a.reply")
    expect(board.locator(f"#reply-form-{first} textarea")).to_be_focused()
    from_the_top(board)
    rings = []
    for _ in range(60):
        board.keyboard.press("Tab")
        if board.evaluate("document.activeElement === document.body"):
            break
        rings.append(board.evaluate(RING))
    assert len(rings) > 20
    faint = [(r["what"], r["ring"], r["background"], round(contrast(r["ring"], r["background"]), 2))
             for r in rings if contrast(r["ring"], r["background"]) < 3]
    assert faint == []
    assert [r["what"] for r in rings if r["line"] != "solid" or float(r["width"][:-2]) < 2] == []
    # The masthead's ring is its own colour, not the accent that would vanish there.
    assert any(r["what"].startswith("a.title") for r in rings)


# --- An embedding site's theme ---------------------------------------------------------------

@pytest.mark.parametrize("theme", THEMES)
def test_an_embedding_site_passes_its_theme(page, live_server, listed, theme):  # noqa: F811
    listed.page = listed.page.replace('data-board-key="/post/1"',
                                      f'data-board-key="/post/1" data-theme="{theme}"')
    page.emulate_media(color_scheme="light" if theme == "dark" else "dark")  # not the system's
    page.goto(f"{listed.origin()}/post/1")
    board_frame(page)
    src = page.get_attribute("#comments iframe", "src")
    assert f"theme={theme}" in src
    frame = next(f for f in page.frames if "/embed?" in f.url)
    assert frame.evaluate("document.documentElement.dataset.theme") == theme
    assert page_theme(frame) == theme


# --- Reduced motion --------------------------------------------------------------------------

MOVING = """() => document.getAnimations().filter((a) => a.playState === "running")
    .map((a) => (a.animationName || a.transitionProperty) + " on " + a.effect.target.className)"""


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_reduced_motion_stops_every_animation_and_transition(page, live_server, motion):
    page.emulate_media(reduced_motion=motion)
    board = open_board(page)
    # A post on its way (its spinner), and a comment arriving by the poll (its flash).
    waiting = []
    board.route(re.compile(r"/comments$"), lambda route: waiting.append(route))  # held till let go
    board.fill("#content", "Slowly")
    board.click("#post-button")
    # The spinner can show before Playwright has handed the post to the route (CI saw it once).
    wait_held(board, waiting, 1)
    expect(board.locator("#post-spinner")).to_have_css("opacity", "1")
    during_post = board.evaluate(MOVING)
    waiting[0].continue_()
    expect(board.locator("#comments article.comment .content").first).to_have_text("Slowly")
    live_server.add("Arrived by the poll", author="Lena")
    arrived = board.locator("#comments article.comment", has_text="Arrived by the poll")
    expect(arrived).to_have_class(re.compile(r"\bnew\b"), timeout=POLL_WAIT)
    on_arrival = board.evaluate(MOVING)
    styles = board.evaluate("""() => ({
        spinner: getComputedStyle(document.getElementById("post-spinner")).animationName,
        indicator: getComputedStyle(document.getElementById("post-spinner")).transitionDuration,
        scroll: getComputedStyle(document.documentElement).scrollBehavior,
    })""")
    if motion == "reduce":
        assert during_post == [] and on_arrival == []
        assert styles == {"spinner": "none", "indicator": "0s", "scroll": "auto"}
    else:  # the same page moves when motion is fine: the check above can see it
        assert any("spin" in a for a in during_post)
        assert any("arrive" in a for a in on_arrival)
