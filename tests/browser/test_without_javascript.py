"""With JavaScript off, the board is an ordinary form and ordinary links."""

from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import comment_texts, settle

pytestmark = pytest.mark.browser


@pytest.fixture
def plain_page(new_context):
    return new_context(java_script_enabled=False).new_page()


def test_posting_without_javascript_is_post_redirect_get(plain_page, live_server):
    page = plain_page
    live_server.add(
        "Already here", author="Nadia", posted=datetime(2017, 7, 7, 18, 47, 5, tzinfo=timezone.utc)
    )
    page.goto("/")
    assert page.evaluate("1 + 1") == 2  # (the DevTools protocol still evaluates)
    assert page.evaluate("typeof window.htmx") == "undefined"

    page.fill("#author", "Tim Berners-Lee")
    page.fill("#content", "Plain HTML forms still work")
    settle(page)
    with page.expect_response(lambda r: r.request.method == "POST") as posted, \
            page.expect_navigation():
        page.click("#post-button")

    assert posted.value.status == 303
    assert posted.value.headers["location"].endswith("/")
    assert page.url.rstrip("/") == live_server.url
    assert comment_texts(page) == ["Plain HTML forms still work", "Already here"]
    expect(page.locator("#content")).to_have_value("")
    assert live_server.count() == 2
    # Reloading the page after the redirect does not post again.
    settle(page)
    page.reload()
    assert live_server.count() == 2
    # Without the script, times stay as the server wrote them.
    expect(page.locator("time.posted").last).to_have_text("Friday, 07 July 2017 at 18:47")
    expect(page.locator(".ago")).to_have_count(0)


def test_paging_without_javascript_follows_links(plain_page, live_server):
    page = plain_page
    ids = live_server.add_many(120, start=datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc))
    newest_first = [f"Comment {i}" for i in reversed(range(120))]
    page.goto("/")
    assert comment_texts(page) == newest_first[:50]

    older = page.locator("a.older")
    assert older.get_attribute("href") == f"/?before={ids[70]}"
    settle(page)
    with page.expect_navigation():
        older.click()
    assert page.url == f"{live_server.url}/?before={ids[70]}"
    assert comment_texts(page) == newest_first[50:100]

    settle(page)
    with page.expect_navigation():
        page.click("a.older")
    assert page.url == f"{live_server.url}/?before={ids[20]}"
    assert comment_texts(page) == newest_first[100:]
    expect(page.locator("a.older")).to_have_count(0)

    settle(page)
    with page.expect_navigation():
        page.click("text=Back to the newest comments")
    assert comment_texts(page) == newest_first[:50]
