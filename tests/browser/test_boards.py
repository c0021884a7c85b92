"""Two boards side by side in Chromium: what is posted on one arrives on its open pages, never on
the other's; a closed board says so and offers no form, without a request failing."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from board import boards, models
from tests.browser.conftest import comment_texts, wait_ready
from tests.browser.test_live import COPY_COUNTER, count_polls, wait_for_polls

pytestmark = pytest.mark.browser


def make_board(live_server, slug, title, state=None):
    with live_server.app.app_context():
        boards.create(slug, title)
        if state:
            boards.set_state(slug, state)


def open_at(context, path):
    page = context.new_page()
    page.goto(path)
    wait_ready(page)
    page.evaluate(COPY_COUNTER)
    count_polls(page)
    return page


def test_two_boards_side_by_side_each_sees_only_its_own(new_context, live_server):
    make_board(live_server, "garden", "The garden")
    make_board(live_server, "kitchen", "The kitchen")
    garden_writer = open_at(new_context(), "/b/garden")
    garden_reader = open_at(new_context(), "/b/garden")
    kitchen_reader = open_at(new_context(), "/b/kitchen")
    expect(garden_writer.locator("h1")).to_have_text("The garden")
    expect(kitchen_reader).to_have_title("The kitchen · Board")

    garden_writer.fill("#content", "Tomatoes are in")
    garden_writer.click("#post-button")
    expect(garden_writer.locator("article.comment .content")).to_have_text(["Tomatoes are in"])
    # The other garden tab gets it by its poll; the kitchen polls too, and gets nothing.
    expect(garden_reader.locator("article.comment .content")).to_have_text(
        ["Tomatoes are in"], timeout=15_000)
    wait_for_polls(kitchen_reader, 2)
    assert comment_texts(kitchen_reader) == []
    kitchen_reader.reload()
    wait_ready(kitchen_reader)
    assert comment_texts(kitchen_reader) == []
    assert garden_reader.evaluate("window.mostCopies") == 1
    with live_server.app.app_context():
        assert [boards.find(slug).comments for slug in ("garden", "kitchen")] == [1, 0]


def test_a_closed_board_says_so_and_offers_no_form(new_context, live_server):
    make_board(live_server, "attic", "The attic", state="closed")
    page = open_at(new_context(), "/b/attic")
    expect(page.locator(".board-state")).to_have_text(
        "This board is closed: it takes no new comments.")
    expect(page.locator("#comment-form")).to_have_count(0)
    wait_for_polls(page, 1)  # it still polls, quietly


@pytest.fixture
def holding(live_server):
    """The live board holds every comment for the test's duration."""
    live_server.app.config["BOARD_MODERATION"] = "all"
    yield live_server
    live_server.app.config["BOARD_MODERATION"] = "off"


def test_a_held_comment_shows_to_its_author_and_reaches_open_boards_once_approved(
        new_context, holding):
    author = open_at(new_context(), "/")
    reader = open_at(new_context(), "/")
    author.fill("#content", "Please let me in")
    author.click("#post-button")
    mine = author.locator("article.held-comment")
    expect(mine.locator(".awaiting")).to_have_text(
        "Awaiting approval: only you can see this until a moderator approves it.")
    expect(mine.locator("a.reply")).to_have_count(0)
    wait_for_polls(reader, 2)
    assert comment_texts(reader) == []

    with holding.app.app_context():
        held = models.db.session.scalar(sa.select(models.Comment.id))
        models.moderate(held, "approve")
    # The reader's open page gets it by its poll; the author's copy loses its mark.
    expect(reader.locator("article.comment .content")).to_have_text(
        ["Please let me in"], timeout=15_000)
    expect(author.locator(f"#comment-{held} .awaiting")).to_have_count(0, timeout=15_000)
    assert reader.evaluate("window.mostCopies") == 1 and author.evaluate("window.mostCopies") == 1


def test_the_lists_of_boards_and_recent_comments_load_cleanly_and_page_on(new_context, live_server):
    make_board(live_server, "garden", "The garden")
    live_server.add("On the default board")
    with live_server.app.app_context():
        models.add("Gardener", "Tomatoes are in", slug="garden")
    page = new_context().new_page()  # watched: a CSP violation or console error fails the test
    page.goto("/boards")
    wait_ready(page)
    expect(page.locator(".board-title")).to_have_text(["The garden", "Comments"])
    page.locator(".board-title").first.click()
    expect(page.locator("h1")).to_have_text("The garden")
    page.goto("/recent")
    wait_ready(page)
    expect(page.locator(".recent-comment .content")).to_have_text(
        ["Tomatoes are in", "On the default board"])
    expect(page.locator(".recent-comment .on-board a")).to_have_text(["The garden", "Comments"])
    expect(page.locator(".recent-comment time.posted").first).to_have_text("just now")
