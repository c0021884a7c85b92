"""The duplicate guard stores a double submit once, and is keyed on the person (the browser's
author key), not on the address: two people behind one address may both say "Thanks!". A
suppressed repeat is answered with the comment that was stored, exactly like the first post."""

from sqlalchemy import text

from board.extensions import db
from tests.helpers import HTMX, csrf_token, soup

SHARED_ADDRESS = {"REMOTE_ADDR": "192.0.2.10"}  # one office, one NAT, several people


def post_from(client, content, htmx=True):
    data = {"content": content, "author": "", "csrf_token": csrf_token(client)}
    return client.post("/comments", data=data, headers=HTMX if htmx else {},
                       environ_base=SHARED_ADDRESS)


def stored(app):
    with app.app_context():
        return db.session.execute(text("SELECT id, content FROM comments ORDER BY id")).all()


def answered_id(response):
    assert response.status_code == 201
    articles = soup(response).select("article.comment")
    assert len(articles) == 1, f"no comment in the answer: {response.get_data(as_text=True)!r}"
    return int(articles[0]["id"].removeprefix("comment-"))


def test_two_people_behind_one_address_both_post_the_same_text(app):
    ann, bob = app.test_client(), app.test_client()
    answers = post_from(ann, "Thanks!"), post_from(bob, "Thanks!")
    assert len(stored(app)) == 2
    ann_id, bob_id = map(answered_id, answers)
    assert ann_id != bob_id
    assert [tuple(row) for row in stored(app)] == [(ann_id, "Thanks!"), (bob_id, "Thanks!")]
    # And each sees Edit on their own comment only.
    for client, own, other in ((ann, ann_id, bob_id), (bob, bob_id, ann_id)):
        page = soup(client.get("/"))
        assert page.select(f"#comment-{own} .own-actions a")
        assert not page.select(f"#comment-{other} .own-actions a")


def test_a_repeat_is_stored_once_and_answered_with_the_stored_comment(app, client):
    first = post_from(client, "Double submit")
    comment_id = answered_id(first)
    again = post_from(client, "Double submit")
    assert answered_id(again) == comment_id
    assert again.get_data(as_text=True) == first.get_data(as_text=True)
    assert [tuple(row) for row in stored(app)] == [(comment_id, "Double submit")]
    # Without JavaScript the repeat goes to the board, like the first post.
    plain = post_from(client, "Double submit", htmx=False)
    assert plain.status_code == 303 and plain.headers["Location"] == "/"
    assert len(stored(app)) == 1


def test_a_repeat_is_answered_with_its_own_text_not_one_that_differs_in_case(app, client):
    # MariaDB compares text regardless of case: the answer must still be the very same text.
    first = answered_id(post_from(client, "Thanks!"))
    louder = answered_id(post_from(client, "THANKS!"))
    assert answered_id(post_from(client, "Thanks!")) == first != louder
    assert [row.content for row in stored(app)] == ["Thanks!", "THANKS!"]
