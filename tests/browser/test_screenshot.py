"""The board looks right on a desktop and on a phone.

The tests write their pictures to temporary folders only. The README's pictures are made on
purpose, by the same tests with an option, which writes the desktop's to the path given and the
phone's next to it (docs/screenshot-phone.png):

    python -m pytest tests/browser/test_screenshot.py --save-screenshot docs/screenshot.png

and the dark, Arabic one (right to left) as docs/screenshot-dark-ar.png.
"""

import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import expect

from board import models
from tests.browser.conftest import RELATIVE, wait_ready

pytestmark = pytest.mark.browser

# A fixed "now" in the browser, so the relative times, and so the picture, are the same every run.
NOW = datetime(2026, 3, 14, 16, 20, tzinfo=timezone.utc)
# Threads, oldest first: (author, minutes ago, text, replies); a reply is (author, minutes ago,
# text, the index of the reply it answers or None for the thread's first comment). The picture
# shows replies, a reply to a reply ("in reply to ..."), and Markdown: bold, code, a link, a quote.
CONVERSATION = [
    ("Maya Chen", 95, ("Does anyone know if the library is open on **Saturday**? The website "
                       "still shows the winter hours."), [
        ("Tom Ellis", 71, ("It is, 10 to 4. They changed it last week; the "
                           "[opening hours page](https://example.org/library/hours) just hasn't "
                           "caught up."), None),
        ("Maya Chen", 64, "> They changed it last week\n\nThat explains it. Thanks, Tom!", 0),
        (None, 38, "Also: the book sale is in the **back room** this time, not the lobby.", None),
    ]),
    ("Priya Raman", 6, ("Good to know. I'll bring a bag this time: last year I carried twelve "
                        "paperbacks home in my arms.\nThe bike shed code is still `4711`."), []),
]
COMMENTS = sum(1 + len(replies) for *_, replies in CONVERSATION)


BASE_URL = []  # the live server's, for cookies set before a page opens


@pytest.fixture
def conversation(live_server, monkeypatch):
    BASE_URL[:] = [live_server.url]
    # The server's clock too (the page's server-time, which "ago" counts from), or the picture
    # would say how long ago NOW was.
    monkeypatch.setattr(models, "clock", lambda: NOW)
    for author, minutes_ago, content, replies in CONVERSATION:
        first = live_server.add(content, author=author, posted=NOW - timedelta(minutes=minutes_ago))
        ids = []
        for who, ago, text, answers in replies:
            ids.append(live_server.add(text, author=who, posted=NOW - timedelta(minutes=ago),
                                       parent=first if answers is None else ids[answers]))


def open_at(new_context, width, height, touch=False, language="en", **options):
    context = new_context(
        viewport={"width": width, "height": height}, device_scale_factor=1,
        timezone_id="Europe/London", reduced_motion="reduce", has_touch=touch, **options,
    )
    if language != "en":  # as the masthead's switcher keeps it
        context.add_cookies([{"name": "language", "value": language, "url": BASE_URL[0]}])
    page = context.new_page()
    page.clock.set_fixed_time(NOW)
    page.goto("/")
    wait_ready(page)
    english = language == "en"
    if english:
        expect(page.locator("article.comment time.posted")).to_have_text([RELATIVE] * COMMENTS)
    else:  # rewritten by board.js in the page's language: not the server's date, which ends "UTC"
        expect(page.locator("article.comment time.posted")).not_to_have_text([re.compile("UTC$")] * COMMENTS)
    # What the picture is meant to show.
    expect(page.locator("article.reply")).to_have_count(COMMENTS - len(CONVERSATION))
    expect(page.locator(".in-reply-to")).to_have_text(
        ["in reply to Tom Ellis" if english else re.compile("Tom Ellis")])
    for markup in ("strong", "code", "a[href^=https]", "blockquote"):
        expect(page.locator(f".content {markup}").first).to_be_visible()
    page.locator("#content").blur()
    return page


def no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def save(picture, pytestconfig, suffix=""):
    """Copy `picture` to the --save-screenshot path (with `suffix` before its extension), when
    asked and when it changed."""
    if destination := pytestconfig.getoption("save_screenshot"):
        destination = Path(destination)
        destination = destination.with_name(destination.stem + suffix + destination.suffix)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if not destination.exists() or destination.read_bytes() != picture.read_bytes():
            shutil.copyfile(picture, destination)


def png_size(picture):
    png = picture.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_desktop_screenshot(new_context, conversation, tmp_path, pytestconfig):
    page = open_at(new_context, 1024, 900)
    assert no_horizontal_scroll(page)
    picture = tmp_path / "desktop.png"
    page.screenshot(path=picture, full_page=True, animations="disabled", caret="hide")
    width, height = png_size(picture)
    assert width == 1024 and height >= 900  # the whole page, at one pixel per CSS pixel
    save(picture, pytestconfig)


def test_dark_arabic_screenshot(new_context, conversation, tmp_path, pytestconfig):
    """The same board in Arabic, right to left, in the dark theme (the system's): mirrored, not
    a second stylesheet."""
    page = open_at(new_context, 1024, 900, language="ar", color_scheme="dark")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    assert no_horizontal_scroll(page)
    # Mirrored: the avatar stands to the right of the name, replies are indented from the right.
    first = page.locator("article.comment").first
    assert first.locator(".avatar").bounding_box()["x"] > first.locator(".author").bounding_box()["x"]
    thread, reply = page.locator("section.thread").first, page.locator("article.reply").first
    thread_box, reply_box = thread.bounding_box(), reply.bounding_box()
    assert reply_box["x"] + reply_box["width"] < thread_box["x"] + thread_box["width"] - 4
    # Dark: light text on a dark background.
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert sum(int(n) for n in re.findall(r"\d+", background)[:3]) < 3 * 80, background
    picture = tmp_path / "dark-ar.png"
    page.screenshot(path=picture, full_page=True, animations="disabled", caret="hide")
    assert png_size(picture)[0] == 1024
    save(picture, pytestconfig, "-dark-ar")


def test_phone_screenshot(new_context, conversation, tmp_path, pytestconfig):
    """The first screen of a phone (390×844, a touch screen): the form as one line, then the
    comments."""
    page = open_at(new_context, 390, 844, touch=True)
    assert no_horizontal_scroll(page)
    expect(page.locator("#comments article.comment").first).to_be_in_viewport()
    picture = tmp_path / "phone.png"
    page.screenshot(path=picture, animations="disabled", caret="hide")
    assert png_size(picture) == (390, 844)
    save(picture, pytestconfig, "-phone")


def test_phone_layout_fits_the_screen(new_context, conversation, tmp_path):
    page = open_at(new_context, 390, 844)
    assert no_horizontal_scroll(page)
    # The form and the comments use the width they have, with a small margin.
    for selector in ("#comment-form", "article.comment", "article.reply"):
        box = page.locator(selector).first.bounding_box()
        assert box["x"] >= 4 and box["x"] + box["width"] <= 390 - 4, selector
        assert box["width"] >= 390 - 40, selector
    # A thread without replies says nothing about them (the phone's bigger targets must not
    # bring back a hidden "0 replies").
    expect(page.locator("article.comment .reply-count").first).to_be_hidden()
    expect(page.locator("article.comment .reply-count").last).to_have_text("3 replies")
    page.screenshot(path=tmp_path / "phone.png", full_page=True, animations="disabled")
