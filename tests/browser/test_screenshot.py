"""The board looks right on a desktop and on a phone.

The tests write their pictures to temporary folders only. The README's picture is made on
purpose, by the same test with an option:

    python -m pytest tests/browser/test_screenshot.py --save-screenshot docs/screenshot.png
"""

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import wait_ready

pytestmark = pytest.mark.browser

# A fixed "now" in the browser, so the relative times, and so the picture, are the same every run.
NOW = datetime(2026, 3, 14, 16, 20, tzinfo=timezone.utc)
CONVERSATION = [
    ("Maya Chen", 95, ("Does anyone know if the library is open on Saturday? The website still "
                       "shows the winter hours.")),
    ("Tom Ellis", 71, "It is, 10 to 4. They changed it last week, the site just hasn't caught up."),
    (None, 38, "Thanks! Also: the book sale is in the back room this time, not the lobby."),
    ("Priya Raman", 6, ("Good to know. I'll bring a bag this time.\nLast year I carried twelve "
                        "paperbacks home in my arms.")),
]


@pytest.fixture
def conversation(live_server):
    for author, minutes_ago, content in CONVERSATION:
        live_server.add(content, author=author, posted=NOW - timedelta(minutes=minutes_ago))


def open_at(new_context, width, height):
    context = new_context(
        viewport={"width": width, "height": height}, device_scale_factor=1,
        timezone_id="Europe/London", reduced_motion="reduce",
    )
    page = context.new_page()
    page.clock.set_fixed_time(NOW)
    page.goto("/")
    wait_ready(page)
    expect(page.locator("article.comment .ago")).to_have_count(len(CONVERSATION))
    page.locator("#content").blur()
    return page


def no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_desktop_screenshot(new_context, conversation, tmp_path, pytestconfig):
    page = open_at(new_context, 1024, 900)
    assert no_horizontal_scroll(page)
    picture = tmp_path / "desktop.png"
    page.screenshot(path=picture, full_page=True, animations="disabled", caret="hide")
    png = picture.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == 1024 and height >= 900  # the whole page, at one pixel per CSS pixel
    if destination := pytestconfig.getoption("save_screenshot"):
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if not destination.exists() or destination.read_bytes() != png:
            shutil.copyfile(picture, destination)


def test_phone_layout_fits_the_screen(new_context, conversation, tmp_path):
    page = open_at(new_context, 390, 844)
    assert no_horizontal_scroll(page)
    # The form and the comments use the width they have, with a small margin.
    for selector in ("#comment-form", "article.comment"):
        box = page.locator(selector).first.bounding_box()
        assert box["x"] >= 4 and box["x"] + box["width"] <= 390 - 4, selector
        assert box["width"] >= 390 - 40, selector
    page.screenshot(path=tmp_path / "phone.png", full_page=True, animations="disabled")
