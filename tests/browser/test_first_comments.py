"""BOARD_MODERATION=first in Chromium, with the email a person gives: their first comment waits,
the link mailed to them confirms the address (a page with a button, under the board's CSP), a
moderator's approval lets their next comment straight up, and the one-click unsubscribe page
stops the replies."""

import json

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from board import models, notifications
from board.extensions import db
from tests.browser.conftest import comment_texts, wait_ready
from tests.browser.test_live import COPY_COUNTER, count_polls, wait_for_polls

pytestmark = pytest.mark.browser

SETTINGS = {"BOARD_MODERATION": "first", "BOARD_SMTP_URL": "smtp://127.0.0.1:9",
            "BOARD_MAIL_FROM": "board@example.org"}


@pytest.fixture
def first_comments(live_server):
    before = {name: live_server.app.config[name] for name in SETTINGS}
    live_server.app.config.update(SETTINGS)
    yield live_server
    live_server.app.config.update(before)


def opened(context):
    page = context.new_page()
    page.goto("/")
    wait_ready(page)
    page.evaluate(COPY_COUNTER)
    count_polls(page)
    return page


def confirmation(live_server):
    """The address and the link of the confirmation email waiting in the outbox."""
    with live_server.app.test_request_context():
        payload = json.loads(db.session.scalar(sa.select(models.OUTBOX.c.payload)))
        address = db.session.get(models.Address, payload["address_id"])
        return address, "/confirm/" + notifications.confirm_token(address.id, address.email)


def test_a_first_comment_waits_the_address_is_confirmed_and_the_next_goes_straight_up(
        new_context, first_comments):
    ann, reader = opened(new_context()), opened(new_context())
    ann.fill("#content", "Hello, I am new here")
    ann.click("details.notify-fields summary")
    ann.fill("#email", "ann@example.org")
    ann.check("#notify")
    ann.click("#post-button")
    expect(ann.locator("article.held-comment .awaiting")).to_be_visible()
    wait_for_polls(reader, 1)
    assert comment_texts(reader) == []

    # The link in the confirmation email: a page with a button (mail scanners open links).
    address, link = confirmation(first_comments)
    ann.goto(link)
    ann.get_by_role("button", name="Confirm my address").click()
    expect(ann.locator("main [role=status]")).to_contain_text("your address is confirmed")
    with first_comments.app.app_context():
        assert db.session.get(models.Address, address.id).confirmed is not None
        held = db.session.scalar(sa.select(models.Comment.id))
        models.moderate(held, "approve")

    ann.goto("/")
    wait_ready(ann)
    ann.fill("#content", "Straight up this time")
    ann.click("#post-button")
    expect(ann.locator("article.comment .content").first).to_have_text("Straight up this time")
    expect(ann.locator("article.held-comment")).to_have_count(0)
    expect(reader.locator("article.comment .content")).to_have_text(
        ["Straight up this time", "Hello, I am new here"], timeout=15_000)

    # One click stops the replies; no login, no form token.
    with first_comments.app.test_request_context():
        stop = "/unsubscribe/" + notifications.unsubscribe_token(address.id, address.email,
                                                                 "replies")
    ann.goto(stop)
    ann.get_by_role("button", name="Unsubscribe").click()
    expect(ann.locator("main [role=status]")).to_have_text(
        "Done: no more emails about replies to your comments.")
    with first_comments.app.app_context():
        assert db.session.scalars(sa.select(models.Comment.notify_replies)).all() == [False, False]
