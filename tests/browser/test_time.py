"""Times show in the reader's own time zone, with how long ago, wherever the comment came from."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import POLL_SECONDS, wait_ready

pytestmark = pytest.mark.browser

TOKYO = timezone(timedelta(hours=9))  # Japan keeps no daylight saving time


def tokyo_clock(moment):
    """The time of day in Tokyo, in the 24- or the 12-hour style, with or without a leading 0."""
    local = moment.astimezone(TOKYO)
    hour12 = local.hour % 12 or 12
    return re.compile(
        rf"\b(0?{local.hour}:{local:%M}|0?{hour12}:{local:%M}\s?{local:%p})(\b|$)"
    )


def check_localised(article, moment):
    time = article.locator("time.posted")
    expect(time).to_have_attribute("datetime", moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    expect(time).to_have_text(tokyo_clock(moment))
    expect(time).to_contain_text(f"{moment.astimezone(TOKYO):%Y}")
    expect(time).not_to_contain_text(f"{moment:%H:%M}")  # UTC, as the server wrote it
    expect(time).to_have_attribute("title", re.compile(r"GMT$"))


def test_times_are_local_and_relative_in_every_comment(new_context, live_server):
    page = new_context(timezone_id="Asia/Tokyo").new_page()
    # 18:47 UTC on Thursday 4 March is 03:47 on Friday 5 March in Tokyo.
    first = datetime(2021, 3, 4, 18, 47, tzinfo=timezone.utc)
    live_server.add_many(51, start=first - timedelta(days=51), step=timedelta(days=1))
    live_server.add("Rendered by the server", author="Kenji", posted=first)
    page.goto("/")
    wait_ready(page)
    # Swapped-in comments are localised in the task that swaps them in, before any paint: an
    # observer (which runs before the browser paints) never sees a time the script left alone.
    page.evaluate("""() => {
        window.unlocalised = 0;
        new MutationObserver(() => {
            window.unlocalised += document.querySelectorAll("time.posted:not([title])").length;
        }).observe(document.body, { childList: true, subtree: true });
    }""")

    top = page.locator("#comments article.comment").first
    check_localised(top, first)
    expect(top.locator("time.posted")).to_contain_text("Friday")
    expect(top.locator("time.posted")).to_contain_text(re.compile(r"\b0?5\b"))
    expect(top.locator(".ago")).to_have_text(re.compile(r"^\d+ years ago$"))

    # A comment that arrives by the poll.
    polled = datetime(2022, 6, 1, 12, 0, tzinfo=timezone.utc)  # 21:00 in Tokyo
    live_server.add("Arrived by the poll", author="Yuki", posted=polled)
    arrived = page.locator("article.comment", has_text="Arrived by the poll")
    expect(arrived).to_have_count(1, timeout=(POLL_SECONDS + 4) * 1000)
    check_localised(arrived, polled)
    expect(arrived.locator(".ago")).to_have_text(re.compile(r"^\d+ years? ago$"))

    # A comment posted from this page: the answer to its POST.
    page.fill("#content", "Posted just now from Tokyo")
    page.click("#post-button")
    mine = page.locator("article.comment", has_text="Posted just now from Tokyo")
    expect(mine.locator(".ago")).to_have_text("just now")
    posted = datetime.fromisoformat(mine.locator("time.posted").get_attribute("datetime"))
    check_localised(mine, posted)

    # The oldest comment, only reachable through "Load older comments".
    page.click("a.older")
    oldest = page.locator("article.comment").last
    expect(oldest.locator(".content")).to_have_text("Comment 0")
    check_localised(oldest, first - timedelta(days=51))
    expect(oldest.locator(".ago")).to_have_text(re.compile(r"^\d+ years ago$"))

    # Every comment got exactly one "ago", and the datetime attributes were left alone.
    count = page.locator("article.comment").count()
    assert count == 54
    expect(page.locator("article.comment .ago")).to_have_count(count)
    expect(page.locator("article.comment time.posted[datetime$='Z']")).to_have_count(count)
    assert page.evaluate("window.unlocalised") == 0


def test_relative_time_keeps_itself_current(new_context, live_server):
    page = new_context(timezone_id="Asia/Tokyo").new_page()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    page.clock.install(time=now)
    live_server.add("Ticking", posted=now - timedelta(seconds=10))
    # Posted "in the future" for a reader whose clock is two minutes slow.
    live_server.add("From a server ahead of the reader", posted=now + timedelta(minutes=2))
    page.goto("/")
    wait_ready(page)
    ahead, ticking = page.locator("article.comment .ago").all()
    expect(ticking).to_have_text("just now")
    expect(ahead).to_have_text("just now")
    page.clock.run_for(3 * 60 * 1000)
    expect(ticking).to_have_text("3 minutes ago")
    expect(ahead).to_have_text("1 minute ago")
