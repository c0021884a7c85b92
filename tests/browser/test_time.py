"""A comment's time reads at a glance, "6 hours ago", with the full date in the reader's own time
zone on hover, wherever the comment came from; it keeps itself current."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import POLL_SECONDS, RELATIVE, wait_ready

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
    """The permalink's time says how long ago; its title, the full date and time in Tokyo."""
    time = article.locator("a.permalink time.posted")
    expect(time).to_have_attribute("datetime", moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    expect(time).to_have_text(RELATIVE)
    expect(time).to_have_attribute("title", tokyo_clock(moment))
    expect(time).to_have_attribute("title", re.compile(f"{moment.astimezone(TOKYO):%Y}"))
    # Not UTC, as the server wrote it, and not in the server's words either.
    expect(time).not_to_have_attribute("title", re.compile(f"{moment:%H:%M}|UTC"))


def test_times_are_relative_with_the_local_date_on_hover_in_every_comment(new_context, live_server):
    page = new_context(timezone_id="Asia/Tokyo").new_page()
    # 18:47 UTC on Thursday 4 March is 03:47 on Friday 5 March in Tokyo.
    first = datetime(2021, 3, 4, 18, 47, tzinfo=timezone.utc)
    live_server.add_many(51, start=first - timedelta(days=51), step=timedelta(days=1))
    live_server.add("Rendered by the server", author="Kenji", posted=first)
    page.goto("/")
    wait_ready(page)
    # Swapped-in comments are localised in the task that swaps them in, before any paint: an
    # observer (which runs before the browser paints) never sees the server's time, which ends
    # in its zone, in the page.
    page.evaluate("""() => {
        window.unlocalised = 0;
        new MutationObserver(() => {
            window.unlocalised += Array.from(document.querySelectorAll("time.posted"))
                .filter((t) => t.textContent.endsWith("UTC")).length;
        }).observe(document.body, { childList: true, subtree: true });
    }""")

    top = page.locator("#comments article.comment").first
    check_localised(top, first)
    expect(top.locator("time.posted")).to_have_attribute("title", re.compile(r"^Friday\b"))
    expect(top.locator("time.posted")).to_have_attribute("title", re.compile(r"\b0?5\b"))
    expect(top.locator("time.posted")).to_have_text(re.compile(r"^\d+ years ago$"))

    # A comment that arrives by the poll.
    polled = datetime(2022, 6, 1, 12, 0, tzinfo=timezone.utc)  # 21:00 in Tokyo
    live_server.add("Arrived by the poll", author="Yuki", posted=polled)
    arrived = page.locator("article.comment", has_text="Arrived by the poll")
    expect(arrived).to_have_count(1, timeout=(POLL_SECONDS + 4) * 1000)
    check_localised(arrived, polled)
    expect(arrived.locator("time.posted")).to_have_text(re.compile(r"^(\d+ years ago|last year)$"))

    # A comment posted from this page: the answer to its POST.
    page.fill("#content", "Posted just now from Tokyo")
    page.click("#post-button")
    mine = page.locator("article.comment", has_text="Posted just now from Tokyo")
    expect(mine.locator("time.posted")).to_have_text("just now")
    posted = datetime.fromisoformat(mine.locator("time.posted").get_attribute("datetime"))
    check_localised(mine, posted)

    # The oldest comment, only reachable through "Load older comments".
    page.click("a.older")
    oldest = page.locator("article.comment").last
    expect(oldest.locator(".content")).to_have_text("Comment 0")
    check_localised(oldest, first - timedelta(days=51))
    expect(oldest.locator("time.posted")).to_have_text(re.compile(r"^\d+ years ago$"))

    # Every comment's time was rewritten, in place (no separate "ago"), and the datetime
    # attributes were left alone.
    count = page.locator("article.comment").count()
    assert count == 54
    expect(page.locator("article.comment time.posted")).to_have_text([RELATIVE] * count)
    expect(page.locator("article.comment time.posted[datetime$='Z']")).to_have_count(count)
    expect(page.locator(".ago")).to_have_count(0)
    assert page.evaluate("window.unlocalised") == 0


def test_edited_says_so_small_after_the_time_with_when_on_hover(new_context, live_server):
    from board import models
    from board.extensions import db

    page = new_context(timezone_id="Asia/Tokyo").new_page()
    posted = datetime(2021, 3, 4, 18, 47, tzinfo=timezone.utc)
    comment = live_server.add("Typo", author="Kenji", posted=posted)
    with live_server.app.app_context():
        models.change(db.session.get(models.Comment, comment), content="Fixed",
                      edited=posted + timedelta(hours=1))
    page.goto("/")
    wait_ready(page)
    edited = page.locator(f"#comment-{comment} .edited time")
    expect(edited).to_have_text("edited")
    expect(edited).to_have_attribute("title", re.compile(r"^Edited Friday\b.*\b0?4:47\b"))
    # After the time, and smaller.
    assert page.eval_on_selector(f"#comment-{comment} .edited", """(e) =>
        e.previousElementSibling.matches("a.permalink") &&
        parseFloat(getComputedStyle(e).fontSize) <
            parseFloat(getComputedStyle(e.previousElementSibling).fontSize)""")


def test_relative_time_keeps_itself_current(new_context, live_server):
    page = new_context(timezone_id="Asia/Tokyo").new_page()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    page.clock.install(time=now)
    live_server.add("Ticking", posted=now - timedelta(seconds=10))
    # Posted "in the future" for a reader whose clock is two minutes slow.
    live_server.add("From a server ahead of the reader", posted=now + timedelta(minutes=2))
    page.goto("/")
    wait_ready(page)
    ahead, ticking = page.locator("article.comment time.posted").all()
    expect(ticking).to_have_text("just now")
    expect(ahead).to_have_text("just now")
    page.clock.run_for(3 * 60 * 1000)
    expect(ticking).to_have_text("3 minutes ago")
    expect(ahead).to_have_text("1 minute ago")
