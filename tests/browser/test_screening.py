"""Keeping spam out, in Chromium: a post a block list refuses says why in the form and keeps its
text; a post it holds shows "Awaiting approval" to its author alone (board/screening.py)."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from board import models, screening
from board.extensions import db
from tests.browser.conftest import open_board

pytestmark = pytest.mark.browser


@pytest.fixture
def blocks(live_server):
    """Add entries for this test; the lists and their decisions are emptied afterwards."""
    def add(kind, value, action):
        with live_server.app.app_context():
            return screening.add_block(kind, value, action)[0]

    yield add
    with live_server.app.app_context():
        for table in (models.BLOCKS, models.DECISIONS):
            db.session.execute(sa.delete(table))
        db.session.commit()


def test_a_refused_post_shows_why_in_the_form_and_keeps_the_text(page, live_server, problems,
                                                                 blocks):
    problems.allow(r"response 422: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    blocks("word", "casino", "refuse")
    board = open_board(page)
    board.evaluate("window.sameDocument = 'still here'")

    board.fill("#author", "Gambler")
    board.fill("#content", "Tonight at the Casino: free chips")
    board.click("#post-button")

    expect(board.locator("#comment-form .form-error")).to_have_text(screening.REFUSALS["word"])
    expect(board.locator("#content")).to_have_value("Tonight at the Casino: free chips")
    expect(board.locator("#author")).to_have_value("Gambler")
    assert board.evaluate("window.sameDocument") == "still here"
    expect(board.locator("#comments article.comment")).to_have_count(0)
    assert live_server.count() == 0

    # Changed, it goes through, and the message goes.
    board.fill("#content", "Tonight at the theatre: free tickets")
    board.click("#post-button")
    expect(board.locator("#comments article.comment .content")).to_have_text(
        ["Tonight at the theatre: free tickets"])
    expect(board.locator("#comment-form .form-error")).to_have_count(0)


def test_a_held_post_awaits_approval_for_its_author_and_is_not_shown_to_others(
        page, new_context, live_server, blocks):
    blocks("word", "cheap pills", "hold")
    board = open_board(page)
    board.fill("#content", "Cheap   PILLS, and a question about the engine")
    board.click("#post-button")

    mine = board.locator("#comments article.comment")
    expect(mine).to_have_count(1)
    expect(mine.locator(".awaiting")).to_have_text(
        "Awaiting approval: only you can see this until a moderator approves it.")
    assert live_server.count() == 1
    # Still there, and still marked, after a reload: the author's browser remembers it.
    board.reload()
    expect(board.locator("article.comment .awaiting")).to_have_count(1)
    expect(board.locator("article.comment", has_text="question about the engine")).to_have_count(1)

    other = open_board(new_context().new_page())
    expect(other.locator("#comments")).to_be_attached()
    expect(other.locator("#comments article.comment")).to_have_count(0)
    expect(other.get_by_text("question about the engine")).to_have_count(0)
    expect(other.locator(".awaiting")).to_have_count(0)


@pytest.mark.parametrize("kind, value, action, author", [
    ("name", "Spam King", "hold", "SPAM-king"),
    ("network", "127.0.0.0/8", "refuse", "Ann"),  # the live server's client is on loopback
    ("network", "::ffff:127.0.0.0/104", "hold", "Ann"),  # an IPv6 entry does not match IPv4
])
def test_names_and_networks_hold_or_refuse_from_the_page(page, live_server, problems, blocks,
                                                         kind, value, action, author):
    problems.allow(r"response 422: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    blocks(kind, value, action)
    board = open_board(page)
    board.fill("#author", author)
    board.fill("#content", "A few words about the engine")
    board.click("#post-button")
    if action == "refuse":
        expect(board.locator("#comment-form .form-error")).to_have_text(screening.REFUSALS[kind])
        expect(board.locator("#content")).to_have_value("A few words about the engine")
        assert live_server.count() == 0
    elif kind == "name":
        expect(board.locator("#comments article.comment .awaiting")).to_have_count(1)
    else:
        expect(board.locator("#comments article.comment .content")).to_have_text(
            ["A few words about the engine"])
        expect(board.locator("#comments article.comment .awaiting")).to_have_count(0)


def links(n):
    return "My shops: " + " ".join(f"https://shop{i}.example.com/" for i in range(n))


@pytest.mark.parametrize("count, outcome", [(2, "published"), (3, "held"), (4, "refused")])
def test_the_spam_score_of_a_post_sent_at_once_holds_at_5_and_refuses_at_10(
        page, live_server, problems, count, outcome):
    """Links count 2 points each after the first; a text sent within 3 s of the page loading,
    faster than anyone types, 4 more. 3 links sent at once: 4 + 4 = 8, held; 4 links: 6 + 4 =
    10, refused; 2 links sent after a person's pause: 2, published."""
    problems.allow(r"response 422: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    board = open_board(page)
    if outcome == "published":
        board.wait_for_timeout(3200)  # past FAST_SECONDS: 2 points only
    board.fill("#content", links(count))
    board.click("#post-button")
    if outcome == "refused":  # 6 + 4 = 10
        expect(board.locator("#comment-form .form-error")).to_contain_text("looks like spam")
        expect(board.locator("#content")).to_have_value(links(count))
        assert live_server.count() == 0
    else:  # 2, or 4 + 4 = 8
        expect(board.locator("#comments article.comment")).to_have_count(1)
        expect(board.locator("#comments article.comment .awaiting")).to_have_count(
            1 if outcome == "held" else 0)


def test_akismet_that_does_not_answer_in_time_holds_the_post(page, live_server):
    from tests.test_screening import KEY, akismet_stand_in

    config = live_server.app.config
    saved = {name: config[name] for name in
             ("BOARD_AKISMET_KEY", "BOARD_AKISMET_URL", "BOARD_AKISMET_TIMEOUT")}
    with akismet_stand_in() as akismet:
        config.update(BOARD_AKISMET_KEY=KEY, BOARD_AKISMET_URL=akismet.url,
                      BOARD_AKISMET_TIMEOUT=0.5)
        try:
            board = open_board(page)
            board.wait_for_timeout(3200)
            board.fill("#content", "A calm comment [slow]")
            with board.expect_response(lambda r: r.request.method == "POST") as answer:
                board.click("#post-button")
            assert answer.value.status == 201
            assert answer.value.request.timing["responseEnd"] < 1500  # ms, for a 0.5 s timeout
            expect(board.locator("#comments article.comment .awaiting")).to_have_count(1)
        finally:
            config.update(saved)
    assert len(akismet.calls) == 1
