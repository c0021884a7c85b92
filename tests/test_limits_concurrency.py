"""Rate limits hold under concurrency. With the counts in a shared Redis and several gunicorn
workers, 40 posts released at once from one address get exactly as many accepted as the limit
allows: each post is counted when it is checked (one atomic increment in the store), not after
it was served, and a refused post (a 422) gives its count back."""

import secrets
import threading
from collections import Counter

import flask_migrate
import pytest

from board import create_app
from board.extensions import db
from harness.gunicorn import Gunicorn
from harness.process import clean_env
from harness.raw_http import connect, first_visit, post_comment
from harness.redis import Redis, Unavailable
from tests.helpers import unavailable

LIMIT = 5
RELEASED = 40


@pytest.fixture
def served(tmp_path):
    """gunicorn (3 workers of 4 threads) on a fresh SQLite board, counting posts in Redis."""
    try:
        redis = Redis(tmp_path / "redis")
    except Unavailable as error:
        unavailable(str(error))
    url = f"sqlite:///{tmp_path / 'board.sqlite'}"
    with create_app("testing", {"DATABASE_URL": url}).app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    env = clean_env(DATABASE_URL=url, FLASK_CONFIG="production", SECRET_KEY=secrets.token_hex(32),
                    BOARD_POST_LIMIT=f"{LIMIT} per minute", BOARD_RATELIMIT_STORAGE_URI=redis.url)
    with redis, Gunicorn(env, tmp_path / "gunicorn.log", app="flask_app:app", workers=3,
                         options=("--threads", "4", "--graceful-timeout", "5")) as server:
        yield server


def post_all_at_once(port, bodies):
    """Each body posted by its own client (own session), all sent at the same moment."""
    visits = [first_visit(port) for _ in bodies]
    barrier, statuses, errors = threading.Barrier(len(bodies)), Counter(), []

    def send(visit, body):
        try:
            connection = connect(port, timeout=60)
            connection.connect()
            barrier.wait(timeout=30)
            statuses[post_comment(connection, visit, body)] += 1
            connection.close()
        except Exception as error:  # reported by the test, not lost in a thread
            errors.append(repr(error))

    threads = [threading.Thread(target=send, args=pair) for pair in zip(visits, bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not errors, errors
    return statuses


def test_posts_released_at_once_get_exactly_the_limit(served):
    statuses = post_all_at_once(served.port, [f"content=At+once+{n}" for n in range(RELEASED)])
    assert statuses == Counter({201: LIMIT, 429: RELEASED - LIMIT}), statuses


def test_refused_posts_give_their_count_back(served):
    # One after another: each refused post gives its count back before the next is counted.
    refused = sum((post_all_at_once(served.port, ["content="]) for _ in range(LIMIT + 3)),
                  Counter())
    assert refused == Counter({422: LIMIT + 3})
    accepted = post_all_at_once(served.port, [f"content=After+{n}" for n in range(LIMIT + 2)])
    assert accepted == Counter({201: LIMIT, 429: 2}), accepted
