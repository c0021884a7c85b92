"""Read-only outputs: the JSON API and the Atom feed, both showing visible comments only."""

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest

from board import models, rules
from board.extensions import db
from tests.helpers import add_comments, post, soup
from tests.test_posting import XSS_PAYLOADS

ATOM = "{http://www.w3.org/2005/Atom}"


def hide(app, comment_id, state=rules.HIDDEN):
    with app.app_context():
        models.change(db.session.get(models.Comment, comment_id), state=state)


def test_api_pages_through_every_visible_comment_with_next_cursors(app, client):
    ids = add_comments(app, 25)
    hide(app, ids[3])
    hide(app, ids[4], rules.DELETED)
    seen, url = [], "/api/comments?limit=10"
    while url:
        body = client.get(url).get_json()
        assert len(body["comments"]) <= 10
        seen += [comment["id"] for comment in body["comments"]]
        url = body["next"]
    assert seen == [i for i in ids[::-1] if i not in (ids[3], ids[4])]


def test_api_comment_fields(app, client, clock):
    clock.now = datetime(2017, 7, 7, 18, 47, 5, 123456, tzinfo=timezone.utc)
    post(client, "Hello <api> 😀", author="Ada")
    [comment] = client.get("/api/comments").get_json()["comments"]
    assert comment["author"] == "Ada"
    assert comment["content"] == "Hello <api> 😀"
    assert comment["posted"] == "2017-07-07T18:47:05.123456Z"
    assert comment["edited"] is None
    assert comment["url"] == f"http://localhost/comments/{comment['id']}"


def test_api_after_returns_newer_comments_oldest_first_with_a_cursor(app, client):
    ids = add_comments(app, 7)
    body = client.get(f"/api/comments?after={ids[1]}&limit=3").get_json()
    assert [c["id"] for c in body["comments"]] == ids[2:5]
    rest = client.get(body["next"]).get_json()
    assert [c["id"] for c in rest["comments"]] == ids[5:7]
    assert rest["next"] is None


def test_api_json_is_inert_for_markup(client):
    for payload in XSS_PAYLOADS:
        post(client, payload, author=payload[:64])
    response = client.get("/api/comments")
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<" not in response.get_data(as_text=True)  # sent as \u003c, read back as <
    comments = response.get_json()["comments"]
    assert [c["content"] for c in comments] == XSS_PAYLOADS[::-1]
    assert [c["author"] for c in comments] == [p[:64] for p in XSS_PAYLOADS[::-1]]


@pytest.mark.one_database
@pytest.mark.parametrize("query", ["before=x", "limit=0", "after=-1", "before=1&after=1"])
def test_api_refuses_bad_cursors_with_400(client, query):
    assert client.get(f"/api/comments?{query}").status_code == 400


def test_atom_feed_is_valid_and_lists_the_latest_visible_comments(app, client):
    ids = add_comments(app, 55)
    hide(app, ids[-1])
    page = soup(client.get("/"))
    link = page.find("link", rel="alternate", type="application/atom+xml")
    response = client.get(link["href"])
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}").text
    assert feed.find(f"{ATOM}link[@rel='self']") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 50
    first = entries[0]
    for required in ("id", "title", "updated", "published", "content"):
        assert first.find(f"{ATOM}{required}").text
    assert first.find(f"{ATOM}author/{ATOM}name").text == "Seeder"
    # A tag: URI, not a URL built from the request's Host (tests/test_hosts.py).
    assert first.find(f"{ATOM}id").text == f"tag:localhost,2026:comment-{ids[-2]}"
    link = first.find(f"{ATOM}link[@rel='alternate']").get("href")
    assert link == f"http://localhost/comments/{ids[-2]}"
    assert first.find(f"{ATOM}content").text == "Comment 53"
    datetime.fromisoformat(feed.find(f"{ATOM}updated").text.replace("Z", "+00:00"))


def test_atom_feed_escapes_markup_and_keeps_unicode(client):
    post(client, "<b>bold</b> & 𝕏 ]]>", author="<i>me</i>")
    entry = ET.fromstring(client.get("/feed.atom").data).find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}content").text == "<b>bold</b> & 𝕏 ]]>"
    assert entry.find(f"{ATOM}author/{ATOM}name").text == "<i>me</i>"


@pytest.mark.one_database
def test_empty_feed_is_still_valid(client):
    feed = ET.fromstring(client.get("/feed.atom").data)
    assert feed.findall(f"{ATOM}entry") == [] and feed.find(f"{ATOM}updated").text
