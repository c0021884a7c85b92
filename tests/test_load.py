"""Concurrent posting against a real gunicorn with two workers: every post is stored exactly once.

CI runs 20 clients x 25 posts per database. The full run of the issue (20 x 500 = 10,000 rows per
database) is `BOARD_LOAD_POSTS=500 .venv/bin/python -m pytest tests/test_load.py`; its last
result is recorded in docs/benchmarks.md.
"""

import http.client
import os
import re
import threading
import time
from collections import Counter

import sqlalchemy as sa

from tests.servers import Gunicorn

CLIENTS = 20
POSTS = int(os.environ.get("BOARD_LOAD_POSTS", "25"))
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def client_session(port):
    """A browser's first visit: a session cookie and the form's CSRF token."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = next(group for group in TOKEN.search(page).groups() if group)
    return connection, cookie, token


def poster(port, number, statuses, errors):
    try:
        connection, cookie, token = client_session(port)
        for post in range(POSTS):
            body = f"csrf_token={token}&author=client{number}&content=load+{number}+{post}"
            connection.request("POST", "/comments", body=body, headers={
                "Cookie": cookie, "HX-Request": "true",
                "Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            response.read()
            statuses[response.status] += 1
        connection.close()
    except Exception as error:  # reported by the test, not lost in a thread
        errors.append(repr(error))


def test_concurrent_posts_are_all_stored_exactly_once(migrated_database):
    engine = sa.create_engine(migrated_database, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM comments"))
    statuses, errors = Counter(), []
    with Gunicorn(migrated_database, workers=2,
                  BOARD_POST_LIMIT="1000000 per minute") as server:
        threads = [threading.Thread(target=poster, args=(server.port, n, statuses, errors))
                   for n in range(CLIENTS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        elapsed = time.monotonic() - started
    assert errors == []
    assert statuses == Counter({201: CLIENTS * POSTS}), (statuses, server.stderr[-2000:])
    with engine.connect() as connection:
        contents = connection.execute(sa.text("SELECT content FROM comments")).scalars().all()
        connection.execute(sa.text("DELETE FROM comments"))
        connection.commit()
    engine.dispose()
    expected = {f"load {n} {p}" for n in range(CLIENTS) for p in range(POSTS)}
    assert len(contents) == CLIENTS * POSTS
    assert set(contents) == expected
    assert "database is locked" not in server.stderr
    print(f"\n{CLIENTS * POSTS} posts in {elapsed:.1f}s ({CLIENTS * POSTS / elapsed:.0f}/s)")
