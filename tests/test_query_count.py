"""How many SQL statements each request sends, on every database: not a timing, a shape.

A page is one keyset query (two at most), an idle poll exactly one indexed lookup, whatever the
board's size. A regression to N+1 queries, a COUNT(*) or a per-comment lookup shows up here as a
number that grows with the rows on the page, long before it shows up in bench/.
"""

import contextlib
import re

import pytest
from sqlalchemy import event

from board.extensions import db
from tests.helpers import HTMX, add_comments, csrf_token

ROWS = 120  # more than two pages of 50
PAGE_SIZE = 50


@contextlib.contextmanager
def statements(app):
    """Collects every statement the app's engine sends to the database inside the block.

    `before_cursor_execute` fires for each statement SQLAlchemy executes (an executemany counts
    once). pool_pre_ping's liveness check is sent by the dialect's `do_ping` straight on the
    DBAPI connection, not through this event, so it is not counted; should a driver ever route
    it through here, it is excluded below by its exact text, because it is a property of the
    pool (one per checkout) and not of the request's code.
    """
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if PING.fullmatch(statement):
            return  # pool_pre_ping (see above): not the request's own work
        sent.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


PING = re.compile(r"\s*SELECT 1\s*", re.IGNORECASE)


@pytest.fixture
def board(app, client):
    """A board of ROWS comments, with the pool connected and the dialect initialised before
    counting starts (a first connect runs the dialect's own setup queries)."""
    ids = add_comments(app, ROWS)
    assert client.get("/").status_code == 200
    return ids


def explain(sent):
    return "\n".join(f"  {i + 1}. {statement[:200]}" for i, statement in enumerate(sent))


def test_first_page_is_at_most_two_queries(app, client, board):
    with statements(app) as sent:
        response = client.get("/")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="comment"') == PAGE_SIZE
    assert 1 <= len(sent) <= 2, f"GET / sent {len(sent)} statements:\n{explain(sent)}"


def test_older_page_deep_in_history_is_at_most_two_queries(app, client, board):
    before = board[PAGE_SIZE + 5]  # 55 older comments: a full page and a next link
    with statements(app) as sent:
        response = client.get(f"/comments?before={before}", headers=HTMX)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="comment"') == PAGE_SIZE
    assert 1 <= len(sent) <= 2, f"the older page sent {len(sent)} statements:\n{explain(sent)}"


def test_older_page_without_htmx_is_at_most_two_queries(app, client, board):
    before = board[PAGE_SIZE + 5]
    with statements(app) as sent:
        response = client.get(f"/?before={before}")
    assert response.status_code == 200
    assert 1 <= len(sent) <= 2, f"GET /?before= sent {len(sent)} statements:\n{explain(sent)}"


def test_idle_poll_is_exactly_one_query(app, client, board):
    with statements(app) as sent:
        response = client.get(f"/comments?after={board[-1]}", headers=HTMX)
    assert response.status_code == 204
    assert len(sent) == 1, f"the idle poll sent {len(sent)} statements:\n{explain(sent)}"


def test_poll_with_news_is_exactly_one_query(app, client, board):
    with statements(app) as sent:
        response = client.get(f"/comments?after={board[-4]}", headers=HTMX)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="comment"') == 3
    assert len(sent) == 1, f"the poll sent {len(sent)} statements:\n{explain(sent)}"


@pytest.mark.parametrize("htmx, status", [(True, 201), (False, 303)], ids=["htmx", "no-js"])
def test_post_is_one_insert_and_nothing_else(app, client, board, htmx, status):
    token = csrf_token(client)
    data = {"csrf_token": token, "author": "Counter", "content": f"Counted post {htmx}"}
    with statements(app) as sent:
        response = client.post("/comments", data=data, headers=HTMX if htmx else {})
    assert response.status_code == status
    inserts = [s for s in sent if s.upper().startswith("INSERT")]
    assert len(inserts) == 1, f"the post sent {len(inserts)} INSERTs:\n{explain(sent)}"
    # The 201's partial is rendered from what was inserted (expire_on_commit=False): no read-back.
    assert len(sent) == 1, f"the post sent {len(sent)} statements:\n{explain(sent)}"
    assert not any("COUNT(" in s.upper() for s in sent), explain(sent)
