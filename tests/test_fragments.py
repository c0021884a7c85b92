"""What workers keep rendered (board/fragments.py) never shows an old edit, a hidden comment or
another person's controls. Two apps on one database stand in for two workers: each keeps its own
pages, and learns of the other's writes from the board's row."""

import time

import pytest
from flask import g, render_template, request as flask_request, session

from board import authors, boards, fragments, models, reads, screening, transfer, views
from board.extensions import db
from board.forms import CommentForm, listing_args
from tests.helpers import HTMX, post, soup


@pytest.fixture
def workers(app_factory):
    return app_factory(), app_factory()


def posted_id(response):
    return int(soup(response).select_one("article.comment")["id"].removeprefix("comment-"))


def texts(response):
    return [c.get_text(strip=True) for c in soup(response).select("#comments article .content")]


def controls(response, comment_id):
    article = soup(response).select_one(f"#comment-{comment_id}")
    return [a.get_text(" ", strip=True) for a in article.select(".own-actions a, .you")]


def test_each_person_sees_their_own_controls_on_a_page_kept_for_everyone(workers):
    app, _ = workers
    ann, bob, carol = app.test_client(), app.test_client(), app.test_client()
    ann_says = posted_id(post(ann, "Ann's words", htmx=True))
    bob_says = posted_id(post(bob, "Bob's words", htmx=True))
    for first, second in ((ann, bob), (bob, ann)):  # whoever's view the page was kept from
        app.extensions.pop("board_pages", None)
        pages = {client: client.get("/") for client in (first, second, carol)}
        assert controls(pages[ann], ann_says)[0] == "you"
        assert controls(pages[ann], ann_says)[1].startswith("Edit your comment")
        assert controls(pages[ann], bob_says) == []
        assert controls(pages[bob], ann_says) == []
        assert controls(pages[bob], bob_says)[0] == "you"
        assert controls(pages[carol], ann_says) == controls(pages[carol], bob_says) == []
    assert "<!--" not in pages[carol].get_data(as_text=True)


def test_an_edit_or_a_hide_through_another_worker_shows_at_once(workers):
    reading, writing = workers
    reader = reading.test_client()
    kept = posted_id(post(reader, "First words", htmx=True))
    other = posted_id(post(reader, "Other words", htmx=True))
    assert texts(reader.get("/")) == ["Other words", "First words"]  # now kept by `reading`
    with writing.app_context():
        models.change(db.session.get(models.Comment, kept), content="Second thoughts",
                      edited=models.clock())
    assert texts(reader.get("/")) == ["Other words", "Second thoughts"]
    with writing.app_context():
        models.moderate(other, "hide")
    assert texts(reader.get("/")) == ["Second thoughts"]
    assert texts(reader.get(f"/comments?before={kept + 1}", headers=HTMX)) == []
    with writing.app_context():
        models.moderate(other, "unhide")
        reply = models.add("Dan", "A reply", parent_id=kept)
    page = reader.get("/")
    assert texts(page) == ["Other words", "Second thoughts", "A reply"]
    assert soup(page).select_one(f"#comment-{kept} .reply-count").get_text() == "1 reply"
    with writing.app_context():
        models.purge(reply.id)
    assert texts(reader.get("/")) == ["Other words", "Second thoughts"]


def test_a_renamed_closed_or_archived_board_shows_so_at_once(workers):
    reading, writing = workers
    reader = reading.test_client()
    mine = posted_id(post(reader, "Mine", htmx=True))
    assert "Edit" in " ".join(controls(reader.get("/"), mine))
    with writing.app_context():
        boards.rename("main", "Renamed")
    assert soup(reader.get("/")).h1.get_text() == "Renamed"
    with writing.app_context():
        boards.set_state("main", "archived")
    assert controls(reader.get("/"), mine) == ["you"]  # no Edit or Delete on an archived board


def test_the_edit_window_closes_on_a_kept_page(workers, clock):
    app, _ = workers
    author = app.test_client()
    mine = posted_id(post(author, "Mine", htmx=True))
    assert controls(author.get("/"), mine)[1].endswith("15 min")
    clock.advance(minutes=14, seconds=30)
    assert controls(author.get("/"), mine)[1].endswith("1 min")
    clock.advance(minutes=1)
    assert controls(author.get("/"), mine) == ["you"]


def test_html_rendered_again_shows_at_once(workers):
    reading, writing = workers
    reader = reading.test_client()
    comment = posted_id(post(reader, "*Emphasis*", htmx=True))
    with writing.app_context():  # as HTML stored before a change to board/markup.py
        db.session.execute(models.TABLE.update().where(models.TABLE.c.id == comment)
                           .values(html="<p>old rendering</p>"))
        db.session.commit()
    assert "old rendering" in reader.get("/").get_data(as_text=True)  # kept by `reading`
    with writing.app_context():
        transfer.rerender()
    shown = str(soup(reader.get("/")).select_one(f"#comment-{comment}"))
    assert "<em>Emphasis</em>" in shown and "old rendering" not in shown


# --- The page's shell: rendered once, filled per request (fragments.board_page) -------------

def rendered_both_ways(app, path, name=None, **request):
    """Board page `path` as the shell gives it (twice: made, then reused) and as board.html
    renders it for the same request, with the form's stamp held still."""
    with app.test_request_context(path, **request):
        app.preprocess_request()
        if name is not None:
            session[authors.NAME_KEY] = name
        args = listing_args(flask_request.args)
        page, listing = fragments.board_listing(
            views.show_board(reads.board_alone(g.board.slug)), args.before, args.limit)
        direct = render_template("board.html", form=views.new_form(CommentForm), page=page,
                                 before=args.before, listing=listing.for_person(), preview=None,
                                 held=[])
        made = fragments.board_shell(page, listing, args.before, args.limit, [])
        reused = fragments.board_shell(page, listing, args.before, args.limit, [])
        return direct, made, reused


@pytest.mark.one_database
@pytest.mark.parametrize("path, sent", [
    ("/", {}),
    ("/?before=3&utm=x", {}),
    ("/b/garden", {"headers": {"Accept-Language": "fr"}}),
    ("/", {"headers": {"Cookie": "theme=dark"}}),
], ids=["newest", "older", "another board in French", "dark theme"])
def test_a_shell_filled_in_is_the_page_rendered_for_that_request(app, clock, monkeypatch,
                                                                    path, sent):
    monkeypatch.setattr(screening, "form_stamp", lambda: "stamp&<now>")
    client = app.test_client()
    post(client, "Ann's words", author="Ann")
    with app.app_context():
        boards.create("garden", "Garden")
        models.add("Bob", "Bob's words", slug="garden")
    for name in (None, "", " <b>\"Ann\" & 'co'</b>\r\n"):
        direct, made, reused = rendered_both_ways(app, path, name=name, **sent)
        assert made == direct and reused == direct


@pytest.mark.one_database
def test_each_person_gets_their_own_name_token_stamp_and_time_in_a_shared_shell(app, clock):
    ann, bob = app.test_client(), app.test_client()
    post(ann, "Ann's words", author="Ann")
    post(bob, "Bob's words", author="Bob <3")
    shells = app.extensions["board_shells"].entries
    kept_before = len(shells)
    pages = {}
    for client in (ann, bob, ann):
        clock.advance(seconds=1)
        time.sleep(0.11)  # form stamps are to a tenth of a second (screening.form_stamp)
        pages.setdefault(client, []).append(soup(client.get("/")))
    assert len(shells) == kept_before + 1  # one shell made, for the board as it is now
    name = lambda page: page.select_one("#comment-form input[name=author]")["value"]
    token = lambda page: page.select_one("#comment-form input[name=csrf_token]")["value"]
    assert [name(page) for page in pages[ann]] == ["Ann", "Ann"]
    assert name(pages[bob][0]) == "Bob <3"
    assert token(pages[ann][0]) != token(pages[bob][0])
    assert {token(pages[bob][0])} == {field["value"] for field in
                                      pages[bob][0].select("input[name=csrf_token]")} | {
        pages[bob][0].select_one("meta[name=csrf-token]")["content"]}
    times = [page.select_one("meta[name=server-time]")["content"] for page in pages[ann]]
    assert times[0] != times[1]
    stamps = [page.select_one("input[name=started]")["value"] for page in (*pages[ann], *pages[bob])]
    assert len(set(stamps)) >= 2 and not any(fragments.SLOT in str(page) for page in
                                             (*pages[ann], *pages[bob]))
    # Each token is the one its own session accepts.
    answer = bob.post("/comments", data={"content": "Bob again",
                                         "csrf_token": token(pages[bob][0])})
    assert answer.status_code == 303


@pytest.mark.one_database
def test_a_flashed_message_a_theme_and_a_held_comment_each_show_on_the_next_page(app_factory):
    app = app_factory(BOARD_MODERATION="all")
    client = app.test_client()
    client.get("/")  # the shell is made before any of them
    with client.session_transaction() as session_:
        session_["_flashes"] = [("message", "Subscribed: check your inbox")]
    page = soup(client.get("/"))
    assert [p.get_text() for p in page.select("p.flash")] == ["Subscribed: check your inbox"]
    assert soup(client.get("/")).select("p.flash") == []
    client.set_cookie("theme", "dark")
    assert soup(client.get("/")).html.get("data-theme") == "dark"
    client.set_cookie("theme", "light")
    assert soup(client.get("/")).html.get("data-theme") == "light"
    post(client, "Mine, to be approved")
    page = soup(client.get("/"))
    assert "Mine, to be approved" in page.select_one(".awaiting-list").get_text()
