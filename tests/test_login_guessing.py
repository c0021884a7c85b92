"""Guessing the moderator password from many addresses: wrong passwords from all clients together
are limited (BOARD_LOGIN_FAILURES_LIMIT), with growing waits after a streak of them, and both are
checked before the password is hashed, so guessing can use only a small, fixed share of the CPU."""

import time

import pytest
from werkzeug.security import generate_password_hash

from board import moderators
from tests.helpers import soup
from tests.test_moderation import PASSWORD

# The in-memory limits are the app's, whatever the database.
pytestmark = pytest.mark.one_database

FAST_HASH = "pbkdf2:sha256:1000"  # a real hash; what the tests count is how often it is checked


@pytest.fixture
def later(monkeypatch):
    """Stops the clock the rate limiter and the waits read (time.time), and moves it forward by
    hand only: on a loaded machine, real seconds passing between two attempts would end a wait
    the test counts on."""
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])

    def advance(seconds):
        now[0] += seconds

    return advance


@pytest.fixture
def checks(monkeypatch):
    """How many passwords were checked against the hash (the costly scrypt, in production)."""
    calls = []
    real = moderators.check_password_hash

    def counting(pwhash, password):
        calls.append(password)
        return real(pwhash, password)

    monkeypatch.setattr(moderators, "check_password_hash", counting)
    return calls


def board(app_factory, **settings):
    return app_factory(BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(PASSWORD, FAST_HASH),
                       **settings)


def attempt(app, address, password):
    """One login, as a browser at `address` would make it (its own cookie, its own form)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    token = soup(client.get("/moderate/login")).find("input", {"name": "csrf_token"})["value"]
    return client.post("/moderate/login", data={"password": password, "csrf_token": token})


def addresses(n, start=0):
    return [f"198.51.100.{i}" for i in range(start + 1, start + n + 1)]


def test_guesses_from_many_addresses_are_limited_together_before_any_hashing(app_factory, checks,
                                                                              later):
    app = board(app_factory)  # the defaults: 10 failures a minute, waits after a streak
    answers = []
    for address in addresses(40):  # 40 clients, one guess each: no per-client limit is reached
        started = time.perf_counter()
        response = attempt(app, address, "a wrong guess")
        answers.append((response.status_code, time.perf_counter() - started))
    assert len(checks) <= 10  # the rest never reached the hash
    assert {status for status, _ in answers[:len(checks)]} == {422}
    refused = answers[len(checks):]
    assert len(refused) >= 30 and {status for status, _ in refused} == {429}


def test_the_shared_limit_refuses_with_retry_after_and_lifts_when_its_window_passes(
        app_factory, checks, later):
    app = board(app_factory, BOARD_LOGIN_DELAY_MAX_SECONDS=0)  # the limit alone, without waits
    for address in addresses(10):
        assert attempt(app, address, "a wrong guess").status_code == 422
    assert len(checks) == 10

    for address in addresses(20, start=10):
        response = attempt(app, address, "another guess")
        assert response.status_code == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert "Too many wrong passwords" in soup(response).get_text()
    # The trade-off: the right password, from a fresh address, waits too (the limit protects the
    # CPU and the password; the moderator still has `flask board` on a console meanwhile).
    assert attempt(app, "203.0.113.7", PASSWORD).status_code == 429
    assert len(checks) == 10

    later(61)
    assert attempt(app, "203.0.113.8", PASSWORD).status_code == 303
    assert len(checks) == 11


def test_a_right_password_does_not_count_against_the_shared_limit(app_factory, checks):
    app = board(app_factory, BOARD_LOGIN_FAILURES_LIMIT="2 per minute")
    for address in addresses(5):
        assert attempt(app, address, PASSWORD).status_code == 303
    assert attempt(app, "203.0.113.1", "wrong").status_code == 422
    assert attempt(app, "203.0.113.2", PASSWORD).status_code == 303
    assert attempt(app, "203.0.113.3", "wrong").status_code == 422
    assert attempt(app, "203.0.113.4", PASSWORD).status_code == 429


def test_waits_grow_with_each_wrong_password_in_a_row_and_a_right_one_ends_them(
        app_factory, checks, later):
    app = board(app_factory, BOARD_LOGIN_FAILURES_LIMIT="1000 per minute",
                BOARD_LOGIN_DELAY_MAX_SECONDS=8)
    guesses = iter(addresses(200))
    free = 0  # a few mistakes in a row cost no wait
    while attempt(app, next(guesses), "wrong").status_code == 422:
        free += 1
        assert free <= 10, "wrong passwords in a row never made a login wait"
    for streak, wait in enumerate([1, 2, 4, 8, 8, 8]):  # doubling, to BOARD_LOGIN_DELAY_MAX_SECONDS
        if streak:
            assert attempt(app, next(guesses), "wrong").status_code == 422
        checked = len(checks)
        refused = attempt(app, next(guesses), PASSWORD)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= wait
        assert f"checked for {wait} second" in soup(refused).get_text()
        later(wait - 0.25)
        assert attempt(app, next(guesses), PASSWORD).status_code == 429
        later(0.25)
        assert len(checks) == checked  # nothing was hashed while waiting

    assert attempt(app, next(guesses), PASSWORD).status_code == 303
    # The streak is over: wrong passwords are checked at once again, until the next streak.
    for _ in range(free):
        assert attempt(app, next(guesses), "wrong").status_code == 422
    assert attempt(app, next(guesses), "wrong").status_code == 429
    later(1)
    assert attempt(app, next(guesses), "wrong").status_code == 422


def test_a_refused_attempt_costs_no_hash_even_with_the_right_password(app_factory, checks):
    app = board(app_factory, BOARD_LOGIN_FAILURES_LIMIT="1 per hour")
    assert attempt(app, "198.51.100.1", "wrong").status_code == 422
    before = len(checks)
    assert attempt(app, "198.51.100.2", PASSWORD).status_code == 429
    assert len(checks) == before
