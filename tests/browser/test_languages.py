"""The board in each language it ships, in Chromium: the page says its language and direction,
its words are the catalog's, and board.js writes dates and "ago" with Intl in that language."""

from datetime import datetime, timedelta, timezone

import pytest
from babel.dates import format_datetime
from playwright.sync_api import expect

from board.rules import LANGUAGES, RIGHT_TO_LEFT
from tests.browser.conftest import choose, wait_ready

pytestmark = pytest.mark.browser

ENGLISH_POST = "Post"


@pytest.mark.parametrize("code", LANGUAGES)
def test_each_language_s_page(new_context, live_server, code):
    posted = datetime.now(timezone.utc) - timedelta(hours=3)
    live_server.add("Hello", author="Ann", posted=posted)
    context = choose(new_context(), live_server.url, language=code)
    page = context.new_page()
    page.goto("/")
    wait_ready(page)
    tag = code.replace("_", "-")
    expect(page.locator("html")).to_have_attribute("lang", tag)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if code in RIGHT_TO_LEFT else "ltr")
    button = page.locator("#post-button")
    if code == "en":
        expect(button).to_have_text(ENGLISH_POST)
    else:
        expect(button).not_to_have_text(ENGLISH_POST)
    # "3 hours ago" by the browser's Intl in the page's language, the full date on hover.
    time = page.locator("article.comment time.posted")
    ago = page.evaluate("(tag) => new Intl.RelativeTimeFormat(tag, {numeric: 'auto'}).format(-3, 'hour')",
                        tag)
    expect(time).to_have_text(ago)
    full = page.evaluate("""([tag, when]) => new Intl.DateTimeFormat(tag, {weekday: "long",
        day: "numeric", month: "long", year: "numeric", hour: "numeric", minute: "2-digit"})
        .format(new Date(when))""", [tag, posted.isoformat()])
    expect(time).to_have_attribute("title", full)
    expect(time).to_have_attribute("datetime", posted.strftime("%Y-%m-%dT%H:%M:%SZ"))


@pytest.mark.parametrize("code", ["de", "ar"])
def test_without_javascript_the_server_writes_the_date_in_the_page_s_language(new_context,
                                                                              live_server, code):
    posted = datetime(2026, 3, 6, 14, 5, tzinfo=timezone.utc)
    live_server.add("Hallo", author="Ann", posted=posted)
    context = choose(new_context(java_script_enabled=False), live_server.url, language=code)
    page = context.new_page()
    page.goto("/")
    weekday = format_datetime(posted, "EEEE", locale=code)
    expect(page.locator("article.comment time.posted")).to_contain_text(weekday)
    expect(page.locator("article.comment time.posted")).to_contain_text("UTC")
