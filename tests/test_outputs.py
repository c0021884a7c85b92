"""Read-only outputs: the JSON API and the Atom feed, both showing visible comments only,
replies too, each saying where it belongs."""

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from board import markup, models, rules
from board.extensions import db
from tests.helpers import add_comments, post, soup
from tests.test_posting import XSS_PAYLOADS

ATOM = "{http://www.w3.org/2005/Atom}"
THREAD = "{http://purl.org/syndication/thread/1.0}"


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
    post(client, "Hello <api> *😀*", author="Ada")
    [comment] = client.get("/api/comments").get_json()["comments"]
    assert comment["author"] == "Ada"
    assert comment["content"] == "Hello <api> *😀*"  # what was written, Markdown and all
    assert comment["html"] == markup.render(comment["content"])  # how the board shows it
    assert "&lt;api&gt; <em>😀</em>" in comment["html"]
    assert comment["posted"] == "2017-07-07T18:47:05.123456Z"
    assert comment["edited"] is None
    assert (comment["parent"], comment["thread"]) == (None, comment["id"])
    assert comment["url"] == f"http://localhost/comments/{comment['id']}"
    assert sorted(comment) == ["author", "content", "edited", "html", "id", "parent", "posted",
                               "thread", "url"]


def make_threads(app, clock):
    """A thread with a reply and a reply to it, a hidden reply, and a deleted thread that has a
    visible reply; each a minute after the one before. Returns their ids by name."""
    with app.app_context():
        def add(name, author, content, parent=None):
            clock.advance(minutes=1)
            ids[name] = models.add(author, content, parent_id=ids.get(parent)).id

        ids = {}
        add("first", "Ann", "A *thread*")
        add("answer", "Bob", "An answer", "first")
        add("deeper", None, "An answer to the answer", "answer")
        add("hidden", "Cy", "Hidden", "first")
        add("removed", "Di", "Deleted thread")
        add("orphan", "Ed", "Still here", "removed")
        models.moderate(ids["hidden"], "hide")
        models.moderate(ids["removed"], "delete")
    return ids


def test_api_lists_replies_too_with_their_parent_thread_and_html(app, client, clock):
    ids = make_threads(app, clock)
    seen, url = [], "/api/comments?limit=2"
    while url:
        body = client.get(url).get_json()
        seen += body["comments"]
        url = body["next"]
    # Every visible comment once, newest first; nothing of a hidden or deleted one.
    assert [(c["id"], c["parent"], c["thread"]) for c in seen] == [
        (ids["orphan"], ids["removed"], ids["removed"]),
        (ids["deeper"], ids["answer"], ids["first"]),
        (ids["answer"], ids["first"], ids["first"]),
        (ids["first"], None, ids["first"]),
    ]
    assert "Deleted thread" not in str(seen) and "Hidden" not in str(seen)
    assert seen[-1]["html"] == markup.render("A *thread*")
    after = client.get(f"/api/comments?after={ids['first']}").get_json()["comments"]
    assert [(c["id"], c["parent"], c["thread"]) for c in after] == [
        (c["id"], c["parent"], c["thread"]) for c in seen[-2::-1]]
    assert [c["html"] for c in after] == [c["html"] for c in seen[-2::-1]]


def test_api_html_of_a_comment_stored_before_markdown_is_its_escaped_text(app, client):
    with app.app_context():
        comment_id = models.add(None, "Old <b>text</b>\nwith *two* lines").id
        db.session.execute(sa.text("UPDATE comments SET html = NULL"))
        db.session.commit()
    [comment] = client.get("/api/comments").get_json()["comments"]
    assert comment["id"] == comment_id
    assert comment["html"] == "<p>Old &lt;b&gt;text&lt;/b&gt;<br>\nwith *two* lines</p>"


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
    assert first.find(f"{ATOM}content").get("type") == "html"
    assert first.find(f"{ATOM}content").text == "<p>Comment 53</p>"
    datetime.fromisoformat(feed.find(f"{ATOM}updated").text.replace("Z", "+00:00"))


def test_atom_feed_escapes_markup_and_keeps_unicode(client):
    post(client, "<b>bold</b> & 𝕏 ]]> **strong**", author="<i>me</i>")
    response = client.get("/feed.atom")
    entry = ET.fromstring(response.data).find(f"{ATOM}entry")
    # The comment's HTML, as text: a reader shows **strong** as strong and <b> as written.
    content = entry.find(f"{ATOM}content").text
    assert content == markup.render("<b>bold</b> & 𝕏 ]]> **strong**")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; 𝕏 ]]&gt; <strong>strong</strong>" in content
    assert entry.find(f"{ATOM}author/{ATOM}name").text == "<i>me</i>"
    assert b"<strong>" not in response.data and b"<b>" not in response.data


def test_atom_feed_lists_replies_and_says_what_they_answer(app, client, clock):
    ids = make_threads(app, clock)
    feed = ET.fromstring(client.get("/feed.atom").data)
    entries = {int(entry.find(f"{ATOM}id").text.rsplit("-", 1)[1]): entry
               for entry in feed.findall(f"{ATOM}entry")}
    assert list(entries) == [ids["orphan"], ids["deeper"], ids["answer"], ids["first"]]
    titles = {comment_id: entry.find(f"{ATOM}title").text
              for comment_id, entry in entries.items()}
    assert titles == {ids["orphan"]: "Reply by Ed to Di", ids["deeper"]: "Reply by Anonymous to Bob",
                      ids["answer"]: "Reply by Bob to Ann", ids["first"]: "Comment by Ann"}
    for name, parent in [("deeper", "answer"), ("answer", "first"), ("orphan", "removed")]:
        entry = entries[ids[name]]
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href") == (
            f"http://localhost/comments/{ids[name]}")
        answered = entry.find(f"{THREAD}in-reply-to")  # RFC 4685
        assert answered.get("ref") == f"tag:localhost,2026:comment-{ids[parent]}"
        assert answered.get("href") == f"http://localhost/comments/{ids[parent]}"
    assert entries[ids["first"]].find(f"{THREAD}in-reply-to") is None
    assert entries[ids["first"]].find(f"{ATOM}content").text == markup.render("A *thread*")


def test_atom_feed_lists_the_newest_50_comments_replies_included(app, client, clock):
    with app.app_context():
        thread = models.add("Ann", "A long thread").id
        replies = []
        for i in range(55):
            clock.advance(seconds=1)
            replies.append(models.add("Bob", f"Reply {i}", parent_id=thread).id)
    entries = ET.fromstring(client.get("/feed.atom").data).findall(f"{ATOM}entry")
    assert [entry.find(f"{ATOM}id").text for entry in entries] == [
        f"tag:localhost,2026:comment-{i}" for i in replies[:-51:-1]]
    assert {entry.find(f"{ATOM}title").text for entry in entries} == {"Reply by Bob to Ann"}


@pytest.mark.one_database
def test_empty_feed_is_still_valid(client):
    feed = ET.fromstring(client.get("/feed.atom").data)
    assert feed.findall(f"{ATOM}entry") == [] and feed.find(f"{ATOM}updated").text
