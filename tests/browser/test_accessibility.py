"""axe-core finds no serious or critical accessibility violation in any state of the board."""

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import POLL_SECONDS, is_post_url, open_board, run_axe

pytestmark = pytest.mark.browser


def serious(page):
    violations = [v for v in run_axe(page) if v["impact"] in ("serious", "critical")]
    return "\n".join(f"{v['impact']} {v['id']}: {v['help']}\n  " + "\n  ".join(v["nodes"])
                     for v in violations)


def test_empty_board_is_accessible(board):
    expect(board.locator(".empty")).to_be_visible()
    assert serious(board) == ""


def test_board_with_comments_is_accessible(page, live_server):
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    live_server.add_many(55, start=start, step=timedelta(minutes=2), author="Priya Raman")
    board = open_board(page)
    board.fill("#author", "Sam")
    board.fill("#content", "A comment posted from the page")
    board.click("#post-button")
    expect(board.locator("article.comment").first).to_contain_text("A comment posted from the page")
    live_server.add("A comment that arrived by the poll", author="Lena")
    expect(board.locator("article.comment").first).to_contain_text(
        "arrived by the poll", timeout=(POLL_SECONDS + 4) * 1000
    )
    expect(board.locator("a.older")).to_be_visible()
    assert serious(board) == ""


def test_validation_error_state_is_accessible(board, problems):
    problems.allow(r"response 422: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 422")
    board.fill("#content", "  ")
    board.click("#post-button")
    expect(board.locator("#content-error")).to_be_visible()
    assert serious(board) == ""


def test_failure_message_state_is_accessible(board, problems):
    problems.allow(r"response 503: POST .*/comments$")
    problems.allow(r"console error: Failed to load resource: .* 503")
    problems.allow(r"console error: Response Status Error Code 503 from /comments")
    board.route(is_post_url, lambda route: route.fulfill(status=503, body="down"))
    board.fill("#content", "The database is having a nap")
    board.click("#post-button")
    expect(board.locator("#form-status")).to_be_visible()
    assert serious(board) == ""


def test_axe_really_runs_and_reports(board):
    """The check above would pass vacuously if axe did not run: show that it finds a fault."""
    board.evaluate("""() => {
        const image = document.createElement("img");
        image.src = "/static/favicon.svg";
        document.querySelector("main").append(image);
    }""")
    assert "critical image-alt" in serious(board)
