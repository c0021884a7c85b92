"""Older comments load in place, page after page, until there are no more."""

from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import RELATIVE, comment_ids, comment_texts

pytestmark = pytest.mark.browser


def test_load_older_twice_shows_all_120_once_in_order_and_control_disappears(page, live_server):
    ids = live_server.add_many(120, start=datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc))
    page.goto("/")
    page.evaluate("window.sameDocument = true")
    newest_first = [f"Comment {i}" for i in reversed(range(120))]
    older = page.locator("a.older")

    expect(page.locator("#comments article.comment")).to_have_count(50)
    assert comment_texts(page) == newest_first[:50]

    older.click()
    expect(page.locator("#comments article.comment")).to_have_count(100)
    assert comment_texts(page) == newest_first[:100]
    expect(older).to_have_count(1)

    older.click()
    expect(page.locator("#comments article.comment")).to_have_count(120)
    expect(older).to_have_count(0)

    assert comment_texts(page) == newest_first
    assert comment_ids(page) == [f"comment-{i}" for i in reversed(ids)]
    assert page.evaluate("window.sameDocument") is True
    assert page.url.rstrip("/") == live_server.url
    # The poller still heads the list, and the empty-board message never shows.
    assert page.eval_on_selector("#comments > :first-child", "e => e.id") == "poller"
    expect(page.locator(".empty")).to_be_hidden()
    # Loaded comments get relative times like the rest, and do not flash as new: they are old.
    expect(page.locator("#comments article.comment time.posted")).to_have_text([RELATIVE] * 120)
    expect(page.locator("#comments .new")).to_have_count(0)


def test_load_older_works_from_the_keyboard(page, live_server):
    live_server.add_many(60, start=datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc))
    page.goto("/")
    page.focus("a.older")
    page.keyboard.press("Enter")
    expect(page.locator("#comments article.comment")).to_have_count(60)
    expect(page.locator("a.older")).to_have_count(0)
    expect(page.locator("#announcer")).to_have_text("10 older comments loaded")
    # Focus moves to the first comment loaded, not back to the top of the page.
    expect(page.locator("#comments article.comment").nth(50)).to_be_focused()
    expect(page.locator("article.comment:focus .content")).to_have_text("Comment 9")
    page.keyboard.press("Tab")
    expect(page.locator("#comments article.comment").nth(50).locator("a.permalink")).to_be_focused()
