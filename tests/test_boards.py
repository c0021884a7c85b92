"""Many boards: two boards side by side never show each other's comments (pages, polls, feeds),
closed and archived boards refuse what they should with a clear message, counts stay equal to a
recount under concurrent load on every database, /boards and /recent, the CLI and the moderator's
boards page."""

import random
import threading
import time
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from board import boards, models
from board.extensions import db
from board.rules import ARCHIVED_MESSAGE, CLOSED_MESSAGE
from tests.helpers import HTMX, csrf_token, error_message, soup

PASSWORD = "correct horse battery staple"
ATOM = "{http://www.w3.org/2005/Atom}"


def make_board(app, slug, title=None, state=None):
    with app.app_context():
        boards.create(slug, title or slug.title())
        if state:
            boards.set_state(slug, state)


def post_on(client, slug, content, htmx=True, **fields):
    base = f"/b/{slug}" if slug else ""
    return client.post(f"{base}/comments", headers=HTMX if htmx else {},
                       data={"csrf_token": csrf_token(client), "content": content, **fields})


def texts(response):
    return [tag.get_text(strip=True) for tag in soup(response).select("article.comment .content")]


def poller_url(response):
    return soup(response).find(id="poller")["data-hx-get"]


def board_row(app, slug):
    with app.app_context():
        return boards.find(slug)


def counts_differ(app):
    """Boards whose count, last activity, newest id or newest revision differs from a recount of
    their rows."""
    def kept(row):
        return row.comments, row.last_activity, row.last_id, row.last_revision
    with app.app_context():
        before = {row.slug: kept(row) for row in boards.every()}
        models.recount_boards()
        after = {row.slug: kept(row) for row in boards.every()}
        db.session.rollback()
    return {slug: (before[slug], after[slug]) for slug in before if before[slug] != after[slug]}


# --- Side by side ------------------------------------------------------------------------------

def test_two_boards_side_by_side_never_show_each_others_comments(app, client):
    make_board(app, "garden", "The garden")
    make_board(app, "kitchen", "The kitchen")
    garden, kitchen = client.get("/b/garden"), client.get("/b/kitchen")
    assert garden.status_code == kitchen.status_code == 200
    assert soup(garden).h1.get_text() == "The garden"
    assert soup(garden).title.get_text() == "The garden · Board"
    polls = {"garden": poller_url(garden), "kitchen": poller_url(kitchen)}
    assert polls["garden"].startswith("/b/garden/comments?")

    assert post_on(client, "garden", "Tomatoes are in").status_code == 201
    assert post_on(client, "kitchen", "Bread is baking").status_code == 201
    assert post_on(client, None, "On the default board").status_code == 201

    assert texts(client.get("/b/garden")) == ["Tomatoes are in"]
    assert texts(client.get("/b/kitchen")) == ["Bread is baking"]
    assert texts(client.get("/")) == ["On the default board"]
    # Each board's poll brings its own comment, and only that.
    assert texts(client.get(polls["garden"], headers=HTMX)) == ["Tomatoes are in"]
    assert texts(client.get(polls["kitchen"], headers=HTMX)) == ["Bread is baking"]
    # The form on a board posts to that board.
    assert soup(garden).find(id="comment-form")["action"] == "/b/garden/comments"
    assert [row.comments for row in map(lambda s: board_row(app, s), ("garden", "kitchen"))] == [1, 1]


def test_a_reply_goes_to_its_threads_board_and_its_poll(app, client):
    make_board(app, "garden")
    page = client.get("/b/garden")
    thread = soup(post_on(client, "garden", "Who has seeds?")).article["id"].removeprefix("comment-")
    # Even posted through the default board's URL, a reply joins its thread's board.
    assert post_on(client, None, "I do", parent=thread).status_code == 201
    assert texts(client.get(poller_url(page), headers=HTMX)) == ["I do", "Who has seeds?"]
    assert texts(client.get("/")) == []
    assert board_row(app, "garden").comments == 2


def test_an_unknown_board_is_404_and_the_default_board_has_one_address(app, client):
    assert client.get("/b/nowhere").status_code == 404
    assert post_on(client, "nowhere", "Hello?").status_code == 404
    assert client.get("/b/nowhere/feed.atom").status_code == 404
    redirect = client.get("/b/main?before=5")
    assert redirect.status_code == 308 and redirect.location == "/?before=5"
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT COUNT(*) FROM comments")) == 0


def test_the_default_board_is_made_by_its_first_comment(app, client):
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM boards"))  # a new installation
        db.session.commit()
    assert client.get("/").status_code == 200
    assert board_row(app, "main") is None  # a page view writes nothing
    assert post_on(client, None, "First!", htmx=False).status_code == 303
    assert board_row(app, "main").comments == 1


# --- Closed and archived ---------------------------------------------------------------------

@pytest.mark.parametrize("state, message", [("closed", CLOSED_MESSAGE),
                                            ("archived", ARCHIVED_MESSAGE)])
def test_a_closed_or_archived_board_refuses_posts_and_replies_with_a_clear_message(
        app, client, state, message):
    make_board(app, "old")
    thread = soup(post_on(client, "old", "Still here")).article["id"].removeprefix("comment-")
    with app.app_context():
        boards.set_state("old", state)
    page = client.get("/b/old")
    assert page.status_code == 200 and texts(page) == ["Still here"]
    assert soup(page).find(id="comment-form") is None
    assert soup(page).select_one(".board-state").get_text() == message
    refused = post_on(client, "old", "Let me in", htmx=False)
    assert refused.status_code == 422
    assert soup(refused).select_one(".board-state").get_text() == message
    refused = post_on(client, "old", "A reply", parent=thread)
    assert refused.status_code == 422 and message in error_message(refused)
    assert board_row(app, "old").comments == 1
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT COUNT(*) FROM comments")) == 1


def test_an_archived_board_is_read_only_for_authors_but_not_for_moderators(app, client):
    make_board(app, "old")
    mine = soup(post_on(client, "old", "My words")).article["id"].removeprefix("comment-")
    assert "edit" in str(client.get(f"/comments/{mine}", headers=HTMX).data)
    with app.app_context():
        boards.set_state("old", "archived")
    page = client.get("/b/old")
    assert soup(page).select(f"#comment-{mine} a.edit") == []
    edit = client.post(f"/comments/{mine}/edit", headers=HTMX,
                       data={"csrf_token": csrf_token(client), "content": "Changed"})
    assert edit.status_code == 403 and ARCHIVED_MESSAGE in error_message(edit)
    with app.app_context():
        models.moderate(int(mine), "hide")
    assert board_row(app, "old").comments == 0


# --- Listings ----------------------------------------------------------------------------------

def test_boards_lists_open_boards_newest_activity_first_a_page_at_a_time(app, client, clock):
    for n in range(5):
        make_board(app, f"b{n}")
    make_board(app, "shut", state="closed")
    make_board(app, "gone", state="archived")
    for n in (3, 1, 4):  # b4 is the most recently active
        clock.advance(seconds=60)
        post_on(client, f"b{n}", f"On b{n}")
    page = soup(client.get("/boards?limit=2"))
    assert [a.get_text() for a in page.select(".board-title")] == ["B4", "B1"]
    assert page.select(".board-count")[0].get_text() == "1 comment"
    more = client.get(page.select_one("a.older")["href"], headers=HTMX)
    assert [a.get_text() for a in soup(more).select(".board-title")] == ["B3", "B2", "B0"]
    assert soup(more).select_one("a.older") is None


def test_recent_lists_the_newest_comments_of_open_boards_with_their_boards(app, client, clock):
    make_board(app, "open-one", "Open one")
    make_board(app, "old", "Old")
    post_on(client, "old", "Archived soon")
    clock.advance(seconds=1)
    post_on(client, "open-one", "Fresh")
    clock.advance(seconds=1)
    post_on(client, None, "Default")
    with app.app_context():
        boards.set_state("old", "archived")
    page = soup(client.get("/recent"))
    assert [tag.get_text(strip=True) for tag in page.select(".content")] == ["Default", "Fresh"]
    assert [a["href"] for a in page.select(".on-board a")] == ["/", "/b/open-one"]
    feed = ET.fromstring(client.get("/recent.atom").data)
    assert [e.find(f"{ATOM}content").text for e in feed.iter(f"{ATOM}entry")] == [
        "<p>Default</p>", "<p>Fresh</p>"]


def test_each_board_has_its_own_feed(app, client):
    make_board(app, "garden", "The garden")
    post_on(client, "garden", "Tomatoes")
    post_on(client, None, "Default")
    garden = ET.fromstring(client.get("/b/garden/feed.atom").data)
    assert garden.find(f"{ATOM}title").text == "The garden · Board: newest comments"
    assert garden.find(f"{ATOM}id").text.endswith(":board-garden")
    assert [e.find(f"{ATOM}content").text for e in garden.iter(f"{ATOM}entry")] == ["<p>Tomatoes</p>"]
    default = ET.fromstring(client.get("/feed.atom").data)
    assert default.find(f"{ATOM}id").text.endswith(":feed")
    assert [e.find(f"{ATOM}content").text for e in default.iter(f"{ATOM}entry")] == ["<p>Default</p>"]


# --- Counts under concurrency (every database) -------------------------------------------------

WORKERS, SECONDS = 4, 2.0


def test_board_counts_match_a_recount_after_concurrent_posts_edits_hides_and_deletions(
        app_factory):
    app = app_factory(BOARD_EDIT_LIMIT="100000 per minute")
    make_board(app, "one")
    make_board(app, "two")
    seeder = app.test_client()
    seeds = [soup(post_on(seeder, slug, f"Seed on {slug}")).article["id"].removeprefix("comment-")
             for slug in ("one", "two", "one", "two")]
    deadline, errors, done = [0.0], [], []

    def start():
        deadline[0] = time.monotonic() + SECONDS

    barrier = threading.Barrier(WORKERS + 1, action=start)

    def poster(n):
        rng, client = random.Random(n), app.test_client()
        token = csrf_token(client)
        barrier.wait(timeout=30)
        i = 0
        while time.monotonic() < deadline[0]:
            i += 1
            fields = {"csrf_token": token, "content": f"Worker {n}, post {i}"}
            if i % 2:
                fields["parent"] = rng.choice(seeds)
            response = client.post(f"/b/{rng.choice(['one', 'two'])}/comments", headers=HTMX,
                                   data=fields)
            if response.status_code == 422:  # the seed answered was hidden meanwhile
                continue
            assert response.status_code == 201, response.status_code
            done.append("post")
            mine = soup(response).article["id"].removeprefix("comment-")
            if i % 3 == 0:
                assert client.post(f"/comments/{mine}/edit", headers=HTMX, data={
                    "csrf_token": token, "content": "edited"}).status_code in (200, 404)
            if i % 4 == 0:
                assert client.post(f"/comments/{mine}/delete", headers=HTMX,
                                   data={"csrf_token": token}).status_code in (200, 404)

    def moderator():
        rng = random.Random(99)
        barrier.wait(timeout=30)
        while time.monotonic() < deadline[0]:
            with app.app_context():
                try:
                    models.moderate(int(rng.choice(seeds)), rng.choice(["hide", "unhide"]))
                    done.append("moderate")
                except models.Refused:
                    db.session.rollback()

    def guarded(work, *args):
        try:
            work(*args)
        except Exception as error:  # reported by the test, not lost in a thread
            errors.append(repr(error))

    workers = [threading.Thread(target=guarded, args=(poster, n)) for n in range(WORKERS)]
    workers.append(threading.Thread(target=guarded, args=(moderator,)))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    assert done.count("post") > WORKERS and "moderate" in done
    assert counts_differ(app) == {}


# --- The CLI and the moderator's page -------------------------------------------------------

def test_cli_creates_lists_renames_closes_opens_and_archives_boards(app, runner):
    def board(*args):
        return runner.invoke(args=["board", "boards", *args])

    created = board("create", "book-club", "--title", "Book club")
    assert created.exit_code == 0 and created.output == "board book-club: created, open\n"
    assert board("create", "book-club").exit_code == 1  # taken
    bad = board("create", "Book Club")
    assert bad.exit_code == 1 and "lowercase letters" in bad.output
    assert board("rename", "book-club", "Readers").exit_code == 0
    assert board("close", "book-club").output == "board book-club: closed\n"
    assert board("archive", "book-club").exit_code == 0
    assert board("open", "book-club").exit_code == 0
    missing = board("close", "nowhere")
    assert missing.exit_code == 1 and "there is no board nowhere" in missing.output
    listed = board("list").output.splitlines()
    assert listed[0].split() == ["slug", "state", "comments", "last", "active", "(UTC)", "title"]
    assert listed[1].split()[:3] == ["book-club", "open", "0"] and listed[1].endswith("Readers")


def test_a_moderator_creates_renames_and_closes_boards_from_the_page(app_factory):
    app = app_factory(BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(PASSWORD))
    client = app.test_client()
    token = soup(client.get("/moderate/login")).find("input", {"name": "csrf_token"})["value"]
    assert client.post("/moderate/login", data={"password": PASSWORD,
                                                "csrf_token": token}).status_code == 303
    page = soup(client.get("/moderate/boards"))
    token = page.find("input", {"name": "csrf_token"})["value"]

    created = client.post("/moderate/boards", data={"csrf_token": token, "slug": "news",
                                                    "title": "News"})
    assert created.status_code == 303 and board_row(app, "news").title == "News"
    taken = client.post("/moderate/boards", data={"csrf_token": token, "slug": "news"})
    assert taken.status_code == 422 and "already a board news" in error_message(taken)
    assert soup(taken).find(id="new-slug")["value"] == "news"  # what was typed stays
    bad = client.post("/moderate/boards", data={"csrf_token": token, "slug": "No Spaces"})
    assert bad.status_code == 422 and "lowercase" in error_message(bad)

    assert client.post("/moderate/boards/news", data={"csrf_token": token,
                                                      "title": "Local news"}).status_code == 303
    assert client.post("/moderate/boards/news", data={"csrf_token": token,
                                                      "step": "close"}).status_code == 303
    assert board_row(app, "news")[3:5] == ("Local news", "closed")
    # The comments list says which board each comment is on.
    post_on(client, None, "On the default board")
    row = soup(client.get("/moderate/")).select_one("article.moderation .on-board")
    assert (row.get_text(), row["href"]) == ("on main", "/")
    assert client.post("/moderate/boards/news", data={"csrf_token": token,
                                                      "step": "explode"}).status_code == 400
    assert client.post("/moderate/boards/nowhere", data={"csrf_token": token,
                                                         "step": "close"}).status_code == 404
    assert client.post("/moderate/boards/news", data={"csrf_token": token,
                                                      "title": " "}).status_code == 422
    assert board_row(app, "news")[3:5] == ("Local news", "closed")


def test_export_and_import_keep_each_comments_board_and_make_missing_boards(app, client, runner,
                                                                          tmp_path):
    make_board(app, "garden")
    post_on(client, "garden", "Tomatoes")
    post_on(client, None, "Default")
    exported = tmp_path / "board.jsonl"
    assert runner.invoke(args=["board", "export", str(exported)]).exit_code == 0
    assert [line.rsplit('"board": ', 1)[1] for line in exported.read_text().splitlines()] == [
        '"garden"}', '"main"}']
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM comments"))
        db.session.execute(sa.text("DELETE FROM boards"))
        db.session.commit()
    assert runner.invoke(args=["board", "import", str(exported)]).exit_code == 0
    assert texts(client.get("/b/garden")) == ["Tomatoes"]
    assert texts(client.get("/")) == ["Default"]
    assert (board_row(app, "garden").comments, board_row(app, "main").comments) == (1, 1)
    assert counts_differ(app) == {}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(exported.read_text().replace('"garden"', '"No Such Slug"'))
    refused = runner.invoke(args=["board", "import", str(bad)])
    assert refused.exit_code == 1 and "line 1: board must be a board's slug" in refused.output


def test_the_first_comment_that_makes_the_default_board_keeps_its_email(app, client):
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM boards"))  # a new installation
        db.session.commit()
    assert post_on(client, None, "First, with an email", email="ann@example.org").status_code == 201
    with app.app_context():
        address = db.session.scalar(sa.select(models.Comment.address_id))
        assert db.session.scalar(sa.select(models.ADDRESSES.c.email)
                                 .where(models.ADDRESSES.c.id == address)) == "ann@example.org"


def test_replies_go_to_an_address_confirmed_elsewhere_only_from_its_own_browser(app, client):
    with app.app_context():
        db.session.execute(sa.insert(models.ADDRESSES).values(
            email="ann@example.org", created=models.clock(), confirmed=models.clock()))
        db.session.commit()
    post_on(client, None, "Typed someone else's address", email="ann@example.org", notify="y")
    post_on(client, None, "A new address of my own", email="bob@example.org", notify="y")
    with app.app_context():
        assert dict(db.session.execute(sa.select(models.Comment.content,
                                                 models.Comment.notify_replies)).all()) == {
            "Typed someone else's address": False, "A new address of my own": True}
