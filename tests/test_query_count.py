"""How many SQL statements each request sends, on every database: not a timing, a shape.

Every page (the board, an older page with or without htmx) is the board's row by its slug, then,
unless the worker keeps that page rendered for that version of the board (board/fragments.py),
one keyset SELECT of threads, the cursor's position looked up inside it as a subquery, and, when
any thread on it has replies, one more for the first replies of all of them together, whatever
the number and size of the threads; an idle poll is the board's row by its slug, or nothing at
all while the worker's knowledge of the boards is fresh (BOARD_POLL_FRESH_SECONDS), and a poll
with news one more statement (three index lookups joined by UNION ALL); a post
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
- per-connection setup: the SQLite PRAGMAs (board.database.sqlite_pragmas, on the raw DBAPI connection at
  connect) and the dialect's first-connect queries (server version, sql_mode, ...), which the
  `board` fixture gets out of the way before counting starts;
- pool_pre_ping's liveness check, sent by the dialect's do_ping on the raw DBAPI connection.
"""

import contextlib
import re

import pytest
from sqlalchemy import event

from board import models, reads
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


def cold(app):
    """Forget the pages this app (a worker) rendered (board/fragments.py)."""
    app.extensions.pop("board_pages", None)


def listed(response):
    return response.get_data(as_text=True).split('id="comments"')[-1]


def counted(app, client, url, headers=None):
    """The statements a page sends the first time a worker shows it, then when it shows it again
    for the same version of the board (the board's row only: the page is kept rendered)."""
    cold(app)
    with statements(app) as first:
        response = client.get(url, headers=headers or {})
    assert response.status_code == 200
    with statements(app) as again:
        repeated = client.get(url, headers=headers or {})
    # The same list (the page around it has a CSRF token signed anew).
    assert listed(repeated) == listed(response)
    assert len(again) == 1 and again[0].upper().startswith("SELECT BOARDS."), explain(again)
    return response, first


def test_first_page_is_the_board_and_one_query(app, client, board):
    response, sent = counted(app, client, "/")
    assert response.get_data(as_text=True).count('class="comment"') == PAGE_SIZE
    assert len(sent) == 2, f"GET / sent {len(sent)} statements:\n{explain(sent)}"


def test_older_page_deep_in_history_is_the_board_and_one_query(app, client, board):
    before = board[PAGE_SIZE + 5]  # 55 older comments: a full page and a next link
    response, sent = counted(app, client, f"/comments?before={before}", HTMX)
    assert response.get_data(as_text=True).count('class="comment"') == PAGE_SIZE
    # The cursor's (posted, id) is a subquery of the page's SELECT, not a lookup of its own.
    assert len(sent) == 2, f"the older page sent {len(sent)} statements:\n{explain(sent)}"


def test_older_page_without_htmx_is_the_board_and_one_query(app, client, board):
    before = board[PAGE_SIZE + 5]
    response, sent = counted(app, client, f"/?before={before}")
    assert len(sent) == 2, f"GET /?before= sent {len(sent)} statements:\n{explain(sent)}"


def poll_url(client, after):
    """The poll as the page asks for it, with its change cursor, from comment `after` on."""
    since = re.search(r"since=(\d+)", client.get("/").get_data(as_text=True)).group(1)
    return f"/comments?after={after}&since={since}"


def page_poll(client, path):
    """The poll of the page at `path`, as its poller asks for it."""
    page = client.get(path).get_data(as_text=True)
    return page.split('id="poller"', 1)[1].split('data-hx-get="', 1)[1].split('"', 1)[0].replace(
        "&amp;", "&")


def test_idle_poll_is_exactly_one_query(app, client, board):
    url = poll_url(client, board[-1])
    with statements(app) as sent:
        response = client.get(url, headers=HTMX)
    assert response.status_code == 204
    assert len(sent) == 1, f"the idle poll sent {len(sent)} statements:\n{explain(sent)}"
    assert sent[0].upper().startswith("SELECT BOARDS.LAST_ID"), explain(sent)


def test_poll_with_news_is_the_board_and_one_query(app, client, board):
    url = poll_url(client, board[-4])
    with statements(app) as sent:
        response = client.get(url, headers=HTMX)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="comment"') == 3
    assert len(sent) == 2, f"the poll sent {len(sent)} statements:\n{explain(sent)}"


def test_idle_polls_of_every_board_cost_one_statement_a_second_per_worker(app_factory):
    """With BOARD_POLL_FRESH_SECONDS, a worker answers idle polls from what it knows of the
    boards: one statement (which boards changed?) per period for all of them, plus one the first
    time it meets a board; nothing else, however many polls."""
    app = app_factory(BOARD_POLL_FRESH_SECONDS=3600)
    client = app.test_client()
    slugs = ["main", "garden", "kitchen"]
    for slug in slugs:
        add_comments(app, 3, board=slug)
    urls = [page_poll(client, path) for path in ("/", "/b/garden", "/b/kitchen")]
    with statements(app) as sent:
        for _ in range(20):
            for url in urls:
                assert client.get(url, headers=HTMX).status_code == 204
    # The first look reads the counters; then each board once, the first time it is polled.
    assert len(sent) == 1 + len(slugs), explain(sent)
    with statements(app) as sent:
        for _ in range(20):
            for url in urls:
                assert client.get(url, headers=HTMX).status_code == 204
    assert sent == [], explain(sent)


@pytest.mark.parametrize("htmx, status", [(True, 201), (False, 303)], ids=["htmx", "no-js"])
def test_post_is_a_board_step_a_counter_step_and_one_insert_and_nothing_else(
        app, client, board, htmx, status):
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
    # The board's count and last activity, in the same transaction: UPDATE ... RETURNING its
    # id, or on MySQL/MariaDB the UPDATE and a lookup of the id by the unique slug; then its
    # newest id (its row is locked already).
    board_steps = [s for s in sent if "boards" in s.split(" WHERE")[0]]
    assert board_steps[0].upper().startswith("UPDATE BOARDS"), explain(sent)
    assert board_steps[-1].upper().startswith("UPDATE BOARDS SET LAST_ID"), explain(sent)
    assert len(board_steps) == steps + 1, explain(sent)
    # The 201's partial is rendered from what was inserted (expire_on_commit=False): no read-back.
    # Screening reads the block lists first (board/screening.py: one SELECT, which for a longer
    # text also looks for the same text posted by another person in the last hour).
    assert sent[0].upper().startswith("SELECT BLOCKS."), explain(sent)
    assert len(sent) == 1 + len(counter) + len(board_steps) + 1, \
        f"the post sent {len(sent)} statements:\n{explain(sent)}"
    assert not any("COUNT(" in s.upper() for s in sent), explain(sent)


@pytest.fixture
def threads(app, client):
    """ROWS threads; the newest ones with 0, 1, 2, 3, 4 and 150 replies (some answering
    replies), and one older thread, beyond the first page, with replies too."""
    ids = add_comments(app, ROWS)
    sizes = {ids[-1]: 150, ids[-2]: 4, ids[-3]: 3, ids[-4]: 2, ids[-5]: 1, ids[5]: 7}
    with app.app_context():
        for thread, size in sizes.items():
            parent = thread
            for n in range(size):
                reply = models.add("Replier", f"Reply {n} to {thread}", parent_id=parent)
                parent = reply.id if n % 3 == 1 else thread
    assert client.get("/").status_code == 200
    return ids, sizes


def shown(response):
    return response.get_data(as_text=True).count('<article class="comment')


def test_first_page_of_threads_is_the_board_and_two_queries_whatever_their_size(app, client,
                                                                              threads):
    ids, sizes = threads
    response, sent = counted(app, client, "/")
    first_replies = sum(min(size, reads.REPLIES_SHOWN) for thread, size in sizes.items()
                        if thread in ids[-PAGE_SIZE:])
    assert shown(response) == PAGE_SIZE + first_replies
    assert len(sent) == 3, f"GET / sent {len(sent)} statements:\n{explain(sent)}"
    assert not any("COUNT(" in s.upper() for s in sent) and not offsets(app, sent), explain(sent)


def test_older_page_of_threads_is_the_board_and_two_queries(app, client, threads):
    ids, _ = threads
    response, sent = counted(app, client, f"/comments?before={ids[10]}", HTMX)
    assert shown(response) == 10 + 3  # ids[0..9], and ids[5]'s first three replies
    assert len(sent) == 3, f"the older page sent {len(sent)} statements:\n{explain(sent)}"


def offsets(app, sent):
    """Statements that skip rows with OFFSET. SQLite's dialect writes "OFFSET 0" after every
    LIMIT, so there only a statement without LIMIT could (none does)."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            return [s for s in sent if "OFFSET" in s.upper() and "LIMIT" not in s.upper()]
    return [s for s in sent if "OFFSET" in s.upper()]


def test_more_replies_are_the_thread_a_keyset_query_and_a_bounded_count(app, client, threads):
    ids, _ = threads
    page = client.get("/").get_data(as_text=True)
    more = page.split('class="more-replies" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    with statements(app) as sent:
        response = client.get(more, headers=HTMX)
    assert response.status_code == 200
    assert shown(response) == reads.REPLIES_PAGE
    assert "Show 47 more replies" in response.get_data(as_text=True)
    assert len(sent) == 3, f"more replies sent {len(sent)} statements:\n{explain(sent)}"
    assert not offsets(app, sent), explain(sent)


def test_poll_with_a_new_reply_is_the_board_and_one_query(app, client, threads):
    ids, _ = threads
    page = client.get("/").get_data(as_text=True)
    url = "/comments?" + page.split('id="poller" hidden\n     data-hx-get="/comments?', 1)[1].split('"', 1)[0]
    with app.app_context():
        models.add("Late", "A late reply", parent_id=ids[-3])
    with statements(app) as sent:
        response = client.get(url.replace("&amp;", "&"), headers=HTMX)
    assert response.status_code == 200
    assert shown(response) == 1 and 'data-thread="%d"' % ids[-3] in response.get_data(as_text=True)
    assert len(sent) == 2, f"the poll sent {len(sent)} statements:\n{explain(sent)}"


def test_a_reply_adds_its_parent_lookup_and_the_thread_count_and_nothing_else(app, client,
                                                                             threads):
    ids, _ = threads
    data = {"csrf_token": csrf_token(client), "content": "Counted reply", "parent": ids[-2]}
    with statements(app) as sent:
        response = client.post("/comments", data=data, headers=HTMX)
    assert response.status_code == 201
    with app.app_context():
        counter_steps = 1 if db.engine.dialect.update_returning else 2
    # The parent, read once (the form's check; the write finds it in the session), the block
    # lists (board/screening.py), the thread's count, the board's count, the counter, the INSERT,
    # the board's newest id.
    assert len(sent) == 5 + 2 * counter_steps, \
        f"the reply sent {len(sent)} statements:\n{explain(sent)}"
    assert sum(s.upper().startswith("UPDATE COMMENTS") for s in sent) == 1, explain(sent)
    assert not any("COUNT(" in s.upper() for s in sent), explain(sent)
