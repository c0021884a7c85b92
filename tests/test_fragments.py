"""What workers keep rendered (board/fragments.py) never shows an old edit, a hidden comment or
another person's controls. Two apps on one database stand in for two workers: each keeps its own
pages, and learns of the other's writes from the board's row."""

import pytest

from board import boards, models, transfer
from board.extensions import db
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
