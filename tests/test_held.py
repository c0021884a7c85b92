"""Pre-moderation: BOARD_MODERATION off|first|all and a board's own mode; a held comment is shown
to its author alone (nowhere else: pages, polls, feeds, the API, /recent) until a moderator
approves it, and then arrives on open boards at their next poll; rejected is deleted; counts
follow; every decision is recorded and listed; the queue and its count; the CLI."""

import json
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from board import boards, models, screening
from board.extensions import db
from tests.helpers import HTMX, csrf_token, soup

PASSWORD = "correct horse battery staple"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def moderated(app_factory):
    def make(mode="all", **settings):
        return app_factory(BOARD_MODERATION=mode,
                           BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(PASSWORD),
                           **settings)
    return make


def post(client, content, htmx=True, slug=None, **fields):
    base = f"/b/{slug}" if slug else ""
    return client.post(f"{base}/comments", headers=HTMX if htmx else {},
                       data={"csrf_token": csrf_token(client), "content": content, **fields})


def posted_id(response):
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(soup(response).article["id"].removeprefix("comment-"))


def texts(response):
    return [tag.get_text(strip=True) for tag in soup(response).select("article.comment .content")]


def state_of(app, comment_id):
    with app.app_context():
        return db.session.get(models.Comment, comment_id).state


def moderator(app):
    client = app.test_client()
    token = soup(client.get("/moderate/login")).find("input", {"name": "csrf_token"})["value"]
    assert client.post("/moderate/login", data={"password": PASSWORD,
                                                "csrf_token": token}).status_code == 303
    return client


def act(client, comment_id, verb):
    token = soup(client.get("/moderate/")).find("input", {"name": "csrf_token"})["value"]
    return client.post(f"/moderate/{comment_id}/{verb}", headers=HTMX,
                       data={"csrf_token": token, "show": "held"})


def test_a_held_comment_is_its_authors_alone_until_approved_then_arrives_by_the_poll(moderated):
    app = moderated("all")
    author, reader = app.test_client(), app.test_client()
    reader_page = reader.get("/")
    poll = soup(reader_page).find(id="poller")["data-hx-get"]

    answer = post(author, "Wait for me")
    held = posted_id(answer)
    assert "Awaiting approval" in soup(answer).select_one(".awaiting").get_text()
    assert soup(answer).select("a.reply, a.edit") == []  # nothing to do with it yet
    assert state_of(app, held) == "held"
    # Its author sees it, marked, after a reload too; nobody else sees it anywhere.
    mine = soup(author.get("/"))
    assert [a["id"] for a in mine.select(".awaiting-list article")] == [f"comment-{held}"]
    assert texts(reader.get("/")) == []
    # The open board's poll shows nothing; its cursors move past the held comment (every tab of
    # a board that is up to date asks the same URL), whose approval then comes as a change.
    polled = reader.get(poll, headers=HTMX)
    assert polled.status_code == 200 and texts(polled) == []
    poll = soup(polled).find(id="poller")["data-hx-get"]
    assert reader.get(poll, headers=HTMX).status_code == 204
    assert reader.get("/api/comments").get_json()["comments"] == []
    assert list(ET.fromstring(reader.get("/feed.atom").data).iter(f"{ATOM}entry")) == []
    assert soup(reader.get("/recent")).select("article") == []
    assert reader.get(f"/comments/{held}").status_code == 404
    with app.app_context():
        assert boards.find("main").comments == 0

    moderating = moderator(app)
    approved = act(moderating, held, "approve")
    assert approved.status_code == 200 and "visible" in soup(approved).article["class"]
    # The open board gets it at its next poll; the page shows it; counts follow.
    assert texts(reader.get(poll, headers=HTMX)) == ["Wait for me"]
    assert texts(reader.get("/")) == ["Wait for me"]
    assert soup(author.get("/")).select(".awaiting-list") == []
    with app.app_context():
        assert boards.find("main").comments == 1


def test_rejected_is_deleted_and_the_decisions_say_why(moderated):
    app = moderated("all")
    author = app.test_client()
    held = posted_id(post(author, "Buy now"))
    moderating = moderator(app)
    queue = soup(moderating.get("/moderate/"))  # opens on the queue while comments wait
    assert queue.find(id="moderation-heading").get_text() == "Waiting for approval, oldest first"
    assert queue.select_one("#queue-count").get_text() == "(1 waiting)"
    row = queue.select_one(f"#moderate-{held}")
    assert [b.get_text() for b in row.select(".actions button")] == [
        f"Approve comment {held}", f"Reject comment {held}"]
    assert "every comment waits for a moderator (moderation: all)" in row.select_one(
        ".decisions").get_text()

    rejected = act(moderating, held, "reject")
    assert rejected.status_code == 200 and state_of(app, held) == "deleted"
    decisions = [li.get_text(" ", strip=True) for li in soup(rejected).select(".decisions li")]
    assert decisions[0].startswith("held by board") and decisions[1].startswith(
        "rejected by moderator")
    assert moderating.get("/moderate/queue-count").get_data(as_text=True).count("(0") == 1
    assert soup(author.get("/")).select(".awaiting-list") == []
    assert "Nothing waits" not in moderating.get("/moderate/").get_data(as_text=True)  # all now


def test_first_holds_a_persons_first_comment_and_trusts_them_once_one_is_approved(moderated):
    app = moderated("first")
    ann, bob = app.test_client(), app.test_client()
    first = posted_id(post(ann, "Hello, new here"))
    assert state_of(app, first) == "held"
    assert state_of(app, posted_id(post(ann, "Still waiting"))) == "held"
    act(moderator(app), first, "approve")
    assert state_of(app, posted_id(post(ann, "Straight up now"))) == "visible"
    assert state_of(app, posted_id(post(bob, "Bob's first"))) == "held"  # another person


def test_a_board_may_hold_everything_while_the_default_is_off(moderated, runner):
    app = moderated("off")
    client = app.test_client()
    with app.app_context():
        boards.create("strict", "Strict")
    result = app.test_cli_runner().invoke(args=["board", "boards", "moderation", "strict", "all"])
    assert result.exit_code == 0, result.output
    assert state_of(app, posted_id(post(client, "Open door"))) == "visible"
    assert state_of(app, posted_id(post(client, "Checked", slug="strict"))) == "held"
    app.test_cli_runner().invoke(args=["board", "boards", "moderation", "strict", "default"])
    assert state_of(app, posted_id(post(client, "Open again", slug="strict"))) == "visible"


def test_a_held_reply_counts_only_once_approved(moderated):
    app = moderated("off")
    client = app.test_client()
    thread = posted_id(post(client, "A thread"))
    with app.app_context():
        boards.set_moderation("main", "all")
    reply = posted_id(post(client, "A held reply", parent=str(thread)))

    def counts():
        with app.app_context():
            return (db.session.get(models.Comment, thread).replies, boards.find("main").comments)

    assert counts() == (0, 1)
    act(moderator(app), reply, "approve")
    assert counts() == (1, 2)


def test_without_javascript_a_held_post_comes_back_to_the_page_that_shows_it(moderated):
    app = moderated("all")
    client = app.test_client()
    response = post(client, "No script here", htmx=False)
    assert response.status_code == 303
    page = soup(client.get(response.location))
    assert page.select_one(".awaiting-list .content").get_text(strip=True) == "No script here"


def test_cli_lists_the_queue_and_approves_and_rejects(moderated):
    app = moderated("all")
    client, runner = app.test_client(), app.test_cli_runner()
    ids = [posted_id(post(client, f"Held {n}")) for n in range(3)]
    listed = runner.invoke(args=["board", "queue"])
    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.output.splitlines()[1:4]] == list(map(str, ids))
    assert listed.output.endswith("3 held comments in all\n")
    approved = runner.invoke(args=["board", "approve", str(ids[0]), str(ids[1])])
    assert approved.exit_code == 0
    assert approved.output == f"comment {ids[0]}: held -> visible\ncomment {ids[1]}: held -> visible\n"
    again = runner.invoke(args=["board", "reject", str(ids[0]), str(ids[2])])
    assert again.exit_code == 1
    assert f"comment {ids[2]}: held -> deleted" in again.output
    assert f"comment {ids[0]} is already visible" in again.output or \
        f"comment {ids[0]} is visible" in again.output
    assert runner.invoke(args=["board", "queue"]).output == "no held comments\n"


def test_bulk_approve_from_the_queue(moderated):
    app = moderated("all")
    client = app.test_client()
    ids = [posted_id(post(client, f"Held {n}")) for n in range(2)]
    moderating = moderator(app)
    token = soup(moderating.get("/moderate/")).find("input", {"name": "csrf_token"})["value"]
    done = moderating.post("/moderate/bulk", data={"csrf_token": token, "verb": "approve",
                                                   "show": "held", "ids": [str(i) for i in ids]})
    assert done.status_code == 303
    assert {state_of(app, i) for i in ids} == {"visible"}
    with app.app_context():
        rows = db.session.execute(sa.select(models.DECISIONS.c.action)
                                  .order_by(models.DECISIONS.c.id)).scalars().all()
    assert rows == ["held", "held", "approved", "approved"]


def test_a_decided_comment_keeps_nothing_of_its_posters_address_or_browser(moderated):
    app = moderated("off")
    with app.app_context():
        screening.add_block("word", "casino", "hold")
    client = app.test_client()
    held = posted_id(client.post("/comments", headers={**HTMX, "User-Agent": "Spambot/1.0"},
                                 data={"csrf_token": csrf_token(client), "content": "casino"}))

    def detail():
        with app.app_context():
            return json.loads(db.session.scalar(sa.select(models.DECISIONS.c.detail).where(
                models.DECISIONS.c.action == "held")) or "{}")

    assert detail()["user_agent"] == "Spambot/1.0" and "user_ip" in detail()
    act(moderator(app), held, "approve")
    assert not {"user_ip", "user_agent", "referrer"} & set(detail())
