"""How many SQL statements each request sends, on every database: not a timing, a shape.

Every page (the board, an older page with or without htmx) is exactly one keyset SELECT, the
cursor's position (and the newest page's change cursor) looked up inside it as a subquery; a
poll, idle or not, is exactly one statement (three index lookups joined by UNION ALL); a post
takes its id from the counter row (one UPDATE ... RETURNING; an UPDATE and a SELECT on
MySQL/MariaDB, which have no UPDATE ... RETURNING) and is one INSERT. Why the counter: ids in
commit order, so that no poll moves past a comment that commits late. A regression to
N+1 queries, a COUNT(*), a second round trip for the cursor or a per-comment lookup shows up here
as a number above one, long before it shows up in bench/.

What is counted (see `statements`): every statement SQLAlchemy executes on a cursor of the app's
engine while the request runs, i.e. SQLAlchemy's `before_cursor_execute` event; an executemany
counts once. A SAVEPOINT would be counted too (SQLAlchemy sends it as a statement); the board uses
none. What is not counted, because it is the driver's or the pool's and not the request's code:
- BEGIN, COMMIT and ROLLBACK: the DBAPI drivers open transactions implicitly, and SQLAlchemy ends
  them with the DBAPI's commit() and rollback() (also the pool's reset-on-return), not with a
  statement through this event;
- per-connection setup: the SQLite PRAGMAs (board.sqlite_pragmas, on the raw DBAPI connection at
  connect) and the dialect's first-connect queries (server version, sql_mode, ...), which the
  `board` fixture gets out of the way before counting starts;
- pool_pre_ping's liveness check, sent by the dialect's do_ping on the raw DBAPI connection.
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
    once); see the module's docstring for what that leaves out. pool_pre_ping's liveness check
    does not pass through this event today; should a driver ever route it through here, it is
    excluded by its exact text, because it is a property of the pool (one per checkout) and not
    of the request's code.
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


def test_first_page_is_one_query(app, client, board):
    with statements(app) as sent:
        response = client.get("/")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="comment"') == PAGE_SIZE
    assert len(sent) == 1, f"GET / sent {len(sent)} statements:\n{explain(sent)}"


def test_older_page_deep_in_history_is_one_query(app, client, board):
    before = board[PAGE_SIZE + 5]  # 55 older comments: a full page and a next link
    with statements(app) as sent:
        response = client.get(f"/comments?before={before}", headers=HTMX)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="comment"') == PAGE_SIZE
    # The cursor's (posted, id) is a subquery of the page's SELECT, not a lookup of its own.
    assert len(sent) == 1, f"the older page sent {len(sent)} statements:\n{explain(sent)}"


def test_older_page_without_htmx_is_one_query(app, client, board):
    before = board[PAGE_SIZE + 5]
    with statements(app) as sent:
        response = client.get(f"/?before={before}")
    assert response.status_code == 200
    assert len(sent) == 1, f"GET /?before= sent {len(sent)} statements:\n{explain(sent)}"


def poll_url(client, after):
    """The poll as the page asks for it, with its change cursor, from comment `after` on."""
    since = client.get("/").get_data(as_text=True).split("since=", 1)[1].split('"', 1)[0]
    return f"/comments?after={after}&since={since}"


def test_idle_poll_is_exactly_one_query(app, client, board):
    url = poll_url(client, board[-1])
    with statements(app) as sent:
        response = client.get(url, headers=HTMX)
    assert response.status_code == 204
    assert len(sent) == 1, f"the idle poll sent {len(sent)} statements:\n{explain(sent)}"


def test_poll_with_news_is_exactly_one_query(app, client, board):
    url = poll_url(client, board[-4])
    with statements(app) as sent:
        response = client.get(url, headers=HTMX)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="comment"') == 3
    assert len(sent) == 1, f"the poll sent {len(sent)} statements:\n{explain(sent)}"


@pytest.mark.parametrize("htmx, status", [(True, 201), (False, 303)], ids=["htmx", "no-js"])
def test_post_is_a_counter_step_and_one_insert_and_nothing_else(app, client, board, htmx,
                                                                 status):
    token = csrf_token(client)
    data = {"csrf_token": token, "author": "Counter", "content": f"Counted post {htmx}"}
    with statements(app) as sent:
        response = client.post("/comments", data=data, headers=HTMX if htmx else {})
    assert response.status_code == status
    inserts = [s for s in sent if s.upper().startswith("INSERT")]
    assert len(inserts) == 1, f"the post sent {len(inserts)} INSERTs:\n{explain(sent)}"
    counter = [s for s in sent if "counters" in s]
    assert counter[0].upper().startswith("UPDATE COUNTERS"), explain(sent)
    with app.app_context():
        steps = 1 if db.engine.dialect.update_returning else 2
    assert len(counter) == steps, explain(sent)
    # The 201's partial is rendered from what was inserted (expire_on_commit=False): no read-back.
    assert len(sent) == len(counter) + 1, f"the post sent {len(sent)} statements:\n{explain(sent)}"
    assert not any("COUNT(" in s.upper() for s in sent), explain(sent)
