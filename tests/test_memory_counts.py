"""Rate-limit counts kept in one process's memory (memory://, and the fallback while Redis is
away): exact under threads, forgotten when their window ends, and no thread started to do it."""

import socket
import threading
import time

import pytest
from limits import parse
from limits.strategies import FixedWindowRateLimiter

from board.extensions import current_storage
from board.memory_counts import MemoryCounts
from tests.helpers import count, post

pytestmark = pytest.mark.one_database


def thread_starts(monkeypatch):
    """Every thread started from now on. (Making an app starts two: Flask-Limiter builds limits'
    own store before extensions.Limiter replaces it.)"""
    started, start = [], threading.Thread.start

    def counted(thread):
        started.append(thread)
        return start(thread)

    monkeypatch.setattr(threading.Thread, "start", counted)
    return started


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_counted_posts_start_no_thread(app_factory, monkeypatch):
    app = app_factory(BOARD_POST_LIMIT="3 per minute")
    client, started = app.test_client(), thread_starts(monkeypatch)
    statuses = []
    for n in range(4):
        time.sleep(0.02)  # limits' own store restarted its 10 ms expiry thread after that long
        statuses.append(post(client, f"counted {n}", htmx=True).status_code)
    assert statuses == [201, 201, 201, 429]
    assert started == []
    assert count(app) == 3
    with app.test_request_context():
        assert isinstance(current_storage(), MemoryCounts)


def test_redis_away_counts_in_memory_without_threads(app_factory, monkeypatch, caplog):
    app = app_factory(BOARD_POST_LIMIT="2 per minute",
                      RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{closed_port()}")
    client, started = app.test_client(), thread_starts(monkeypatch)
    statuses = []
    for n in range(3):
        time.sleep(0.02)
        statuses.append(post(client, f"fallback {n}", htmx=True).status_code)
    assert statuses == [201, 201, 429]
    assert "falling back to in-memory" in caplog.text
    with app.test_request_context():
        assert isinstance(current_storage(), MemoryCounts)
    assert started == []


def test_threads_hitting_one_limit_get_exactly_the_limit():
    limiter, limit = FixedWindowRateLimiter(MemoryCounts()), parse("50 per minute")
    accepted, barrier = [], threading.Barrier(8)

    def hit():
        barrier.wait()
        accepted.extend(ok for ok in (limiter.hit(limit, "client") for _ in range(100)) if ok)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) == 50
    assert not limiter.test(limit, "client")


def test_a_window_ends_and_its_key_is_forgotten():
    counts = MemoryCounts()
    assert [counts.incr("short", 0.3) for _ in range(3)] == [1, 2, 3]
    assert counts.incr("long", 60) == 1
    assert time.time() < counts.get_expiry("short") <= time.time() + 0.3
    time.sleep(0.35)
    assert counts.get("short") == 0
    assert counts.incr("short", 0.3) == 1  # a new window
    assert counts.get("long") == 1
    time.sleep(0.35)
    counts.incr("other", 60)  # any count sweeps what has ended
    assert set(counts.counts) == {"long", "other"}


def test_a_count_given_back_to_zero_starts_a_new_window():
    counts = MemoryCounts()
    assert counts.incr("post", 0.3) == 1
    assert counts.incr("post", 0.3, amount=-1) == 0  # a refused post gives its count back
    time.sleep(0.2)
    assert counts.incr("post", 0.3) == 1
    ends = counts.get_expiry("post")
    time.sleep(0.15)  # past the first window's end, inside the second
    assert counts.get("post") == 1
    assert counts.get_expiry("post") == ends


def test_clear_and_reset():
    counts = MemoryCounts()
    counts.incr("a", 60)
    counts.incr("b", 60)
    counts.clear("a")
    assert counts.get("a") == 0 and counts.get("b") == 1
    assert counts.reset() == 1
    assert counts.get("b") == 0
    assert counts.check()
