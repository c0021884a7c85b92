"""Every change reaches open boards once, whatever the clocks say; ids are never reused; the right
to change a comment rests on the poster's author key, not on an id."""

import re
from datetime import timedelta

import pytest

from board import models, reads
from board.extensions import db
from tests.helpers import HTMX, add_comments, csrf_token, post, soup


def poll_url(html):
    return html.select_one("#poller")["data-hx-get"]


def ids_in(html, changed=False):
    selector = "article.comment[data-change]" if changed else "article.comment:not([data-change])"
    return [int(a["id"].removeprefix("comment-")) for a in html.select(selector)]


def posted_id(client, content, **fields):
    response = post(client, content, htmx=True, **fields)
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(soup(response).select_one("article.comment")["id"].removeprefix("comment-"))


def moderate(app, comment_id, verb):
    with app.app_context():
        models.moderate(comment_id, verb)


def test_purging_the_newest_comment_does_not_give_its_id_to_the_next_post(app, client, runner):
    first = posted_id(client, "Posted, then purged")
    assert runner.invoke(args=["board", "purge", "--yes", str(first)]).exit_code == 0
    stranger = app.test_client()
    second = posted_id(stranger, "A stranger's comment")
    assert second > first
    # The purged comment's author cannot edit what a stranger posted after it.
    token = csrf_token(client)
    response = client.post(f"/comments/{second}/edit", data={"csrf_token": token, "content": "x"})
    assert response.status_code in (403, 404)


def test_a_stale_cookie_cannot_edit_a_comment_that_reuses_nothing(app, client):
    """Ownership is the poster's key: a cookie that owned comment N owns nothing else."""
    mine = posted_id(client, "Mine")
    theirs = posted_id(app.test_client(), "Theirs")
    token = csrf_token(client)
    for comment_id, status in ((theirs, 403), (mine, 200)):
        response = client.post(f"/comments/{comment_id}/edit", headers=HTMX,
                               data={"csrf_token": token, "content": "Edited"})
        assert response.status_code == status


def test_two_tabs_posting_at_the_same_moment_both_keep_their_edit_rights(app):
    """Both tabs loaded the page (and so the same cookie) before either posted; each answer sets
    the cookie, and the browser keeps whichever came last: both comments stay editable."""
    tab_one = app.test_client()
    token = csrf_token(tab_one)
    cookie = tab_one.get_cookie("session").value
    tab_two = app.test_client()
    tab_two.set_cookie("session", cookie)
    one = posted_id(tab_one, "From the first tab", csrf_token=token)
    two = posted_id(tab_two, "From the second tab", csrf_token=token)
    # The browser ends up with the second answer's cookie (or the first's): either way, both.
    for survivor in (tab_one, tab_two):
        for comment_id in (one, two):
            response = survivor.get(f"/comments/{comment_id}/edit", headers=HTMX)
            assert response.status_code == 200, (survivor, comment_id)


def test_a_purge_reaches_open_boards_like_a_deletion(app, client, runner):
    kept = posted_id(client, "Stays")
    purged = posted_id(client, "Goes for good")
    board = soup(app.test_client().get("/"))
    assert runner.invoke(args=["board", "purge", "--yes", str(purged)]).exit_code == 0
    answer = soup(app.test_client().get(poll_url(board), headers=HTMX))
    removed = answer.select_one(f"#comment-{purged}")
    assert removed is not None and "removed" in removed["class"] and removed.has_attr("data-change")
    assert answer.select_one(f"#comment-{kept}") is None
    assert app.test_client().get(poll_url(answer), headers=HTMX).status_code == 204


def test_an_unhidden_comment_reaches_boards_that_loaded_while_it_was_hidden(app, client):
    shown = posted_id(client, "Always shown")
    hidden = posted_id(client, "Hidden for a while")
    newest = posted_id(client, "Newest")
    moderate(app, hidden, "hide")
    board = soup(app.test_client().get("/"))
    assert ids_in(board) == [newest, shown]
    moderate(app, hidden, "unhide")
    answer = soup(app.test_client().get(poll_url(board), headers=HTMX))
    assert ids_in(answer, changed=True) == [hidden]
    assert answer.select_one(f"#comment-{hidden} .content").get_text() == "Hidden for a while"


@pytest.mark.parametrize("skew", [timedelta(hours=-3), timedelta(seconds=-11), timedelta(hours=5)])
def test_a_change_arrives_whatever_its_time_stamp_says(app, client, clock, skew):
    """A change is found by its revision, not its time: a host whose clock is off, or a change
    that commits long after it was stamped, is delivered all the same."""
    comment_id = posted_id(client, "Before")
    board = soup(app.test_client().get("/"))
    clock.advance(seconds=skew.total_seconds())
    with app.app_context():
        models.change(db.session.get(models.Comment, comment_id), content="After",
                      edited=models.clock())
    answer = soup(app.test_client().get(poll_url(board), headers=HTMX))
    assert ids_in(answer, changed=True) == [comment_id]
    assert answer.select_one(f"#comment-{comment_id} .content").get_text() == "After"


def test_every_change_arrives_once_across_polls(app, client):
    ids = [posted_id(client, f"Comment {n}") for n in range(4)]
    board = soup(app.test_client().get("/"))
    url, seen = poll_url(board), []
    for step, comment_id in enumerate(ids):
        moderate(app, comment_id, "hide" if step % 2 else "delete")
        answer = app.test_client().get(url, headers=HTMX)
        assert answer.status_code == 200
        html = soup(answer)
        seen += ids_in(html, changed=True)
        url = poll_url(html)
    assert seen == ids
    assert app.test_client().get(url, headers=HTMX).status_code == 204


def test_a_poll_answer_is_bounded_and_a_board_far_behind_is_told_to_reload(app, client):
    """`since` far in the past (a made-up cursor, or a tab asleep through a sweep): the board
    gets no pile of changes but a 409 that makes htmx reload the page, which costs one page."""
    ids = add_comments(app, reads.CHANGES_MAX + 1)
    with app.app_context():
        for comment_id in ids:
            models.moderate(comment_id, "hide")
    after = max(ids)
    answer = client.get(f"/comments?after={after}&since=0&limit=100", headers=HTMX)
    assert answer.status_code == 409
    assert answer.headers["HX-Refresh"] == "true"
    assert "reload" in answer.get_data(as_text=True)
    # One change short of the bound is still served, and bounded.
    board_since = int(re.search(r"since=(\d+)", poll_url(soup(client.get("/")))).group(1))
    answer = client.get(f"/comments?after={after}&since={board_since - reads.CHANGES_MAX + 1}",
                        headers=HTMX)
    assert answer.status_code == 200
    assert len(soup(answer).select("article.comment")) == reads.CHANGES_MAX - 1


def test_a_change_to_a_comment_that_first_came_by_its_posts_answer_still_comes(app, client):
    """The author's page shows their comment from the post's answer; an edit made before the
    next poll comes as a change at the poll after it, though the poll that brought the comment
    as new already carried the edited copy (the page keeps the copy it shows)."""
    page = soup(client.get("/"))
    comment_id = posted_id(client, "Before")
    with app.app_context():
        models.change(db.session.get(models.Comment, comment_id), content="After",
                      edited=models.clock())
    first = soup(client.get(poll_url(page), headers=HTMX))
    assert ids_in(first) == [comment_id]  # as new: the page drops it, it has one
    second = soup(client.get(poll_url(first), headers=HTMX))
    assert ids_in(second, changed=True) == [comment_id]
    assert second.select_one(f"#comment-{comment_id} .content").get_text(strip=True) == "After"
    assert client.get(poll_url(second), headers=HTMX).status_code == 204
