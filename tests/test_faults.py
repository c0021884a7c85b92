"""Faults: the database goes away, hangs, is read-only or full. The board answers 503 quickly,
stores nothing half-written, and recovers by itself when the database is back."""

import socket
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from harness.databases import External
from harness.ports import free_port
from tests.helpers import HTMX, count, csrf_token, error_message, post, soup, unavailable

SERVER_DIALECTS = pytest.mark.parametrize("dialect", ["postgresql", "mariadb"], indirect=True,
                                          scope="session")


@SERVER_DIALECTS
def test_database_stopped_mid_session_gives_503_then_recovers_without_restart(
        app, client, dialect, servers):
    token = csrf_token(client)
    assert post(client, "before the outage", htmx=True).status_code == 201
    server = servers(dialect)
    if isinstance(server, External):
        unavailable("an external server (BOARD_TEST_*_URL) is not ours to stop")
    server.stop()
    try:
        started = time.monotonic()
        page = client.get("/")
        assert page.status_code == 503
        assert "database cannot be reached" in error_message(page)
        assert client.get("/healthz").status_code == 503
        poll = client.get("/comments?after=0", headers=HTMX)
        assert poll.status_code == 503 and soup(poll).find("html") is None
        lost = client.post("/comments", data={"content": "during the outage", "csrf_token": token},
                           headers=HTMX)
        assert lost.status_code == 503
        assert "Nothing was saved" in error_message(lost)
        assert time.monotonic() - started < 10  # four refused requests, none waiting on a timeout
    finally:
        server.boot()
    assert client.get("/healthz").status_code == 200
    assert post(client, "after the outage", htmx=True).status_code == 201
    with app.app_context():
        contents = [row[0] for row in app.extensions["sqlalchemy"].session.execute(
            sa.text("SELECT content FROM comments ORDER BY id"))]
    assert contents == ["before the outage", "after the outage"]


class SilentServer:
    """Accepts TCP connections and never says a word: a database host that hangs."""

    def __enter__(self):
        self.socket = socket.socket()
        self.port = free_port()
        self.socket.bind(("127.0.0.1", self.port))
        self.socket.listen(64)
        return self

    def __exit__(self, *exc):
        self.socket.close()


@pytest.mark.parametrize("scheme", ["postgresql+psycopg2://u:p", "mysql+mysqlconnector://u:p"])
def test_a_hanging_database_answers_503_after_the_connect_timeout(app_factory, scheme):
    with SilentServer() as silent:
        app = app_factory(DATABASE_URL=f"{scheme}@127.0.0.1:{silent.port}/board")
        client = app.test_client()
        started = time.monotonic()
        response = client.get("/healthz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert app.config["DB_CONNECT_TIMEOUT"] == 2
    assert 1.5 <= elapsed < 8, elapsed  # bounded by the 2 s connect timeout, not the OS's minutes


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True, scope="session")
def test_read_only_sqlite_answers_503_and_writes_nothing(app, app_factory, migrated_database, dialect):
    post(app.test_client(), "already there")
    path = sa.engine.make_url(migrated_database).database
    read_only = app_factory(DATABASE_URL=f"sqlite:///file:{path}?mode=ro&uri=true")
    client = read_only.test_client()
    assert client.get("/").status_code == 200
    response = post(client, "cannot be written", htmx=True)
    assert response.status_code == 503
    assert count(app) == 1


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True, scope="session")
def test_full_sqlite_disk_answers_503_and_keeps_nothing_half_written(app, client, dialect):
    post(client, "fits")
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        engine.dispose()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # Earlier tests' deletes leave free pages that a write could reuse: drop them, so the
            # file holds exactly what is stored and any write that needs a new page must grow it.
            connection.exec_driver_sql("VACUUM")
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("freelist_count") == 0
            pages, page_size = pragma("page_count"), pragma("page_size")

        @event.listens_for(engine, "connect")
        def cap_size(dbapi_connection, _record):  # SQLite's own "database or disk is full"
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

        engine.dispose()
    # Far larger than a page, so it needs new (overflow) pages whatever room the last page has.
    content = "😀" * 4000 + " does not fit"
    assert len(content.encode()) > 3 * page_size
    response = post(client, content, htmx=True)
    assert response.status_code == 503
    assert "Nothing was saved" in error_message(response)
    with app.app_context():
        event.remove(app.extensions["sqlalchemy"].engine, "connect", cap_size)
        app.extensions["sqlalchemy"].engine.dispose()
        with app.extensions["sqlalchemy"].engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert connection.exec_driver_sql("PRAGMA page_count").scalar() == pages
            assert [row[0] for row in connection.exec_driver_sql(
                "SELECT content FROM comments")] == ["fits"]
    assert count(app) == 1
    assert post(client, "fits again", htmx=True).status_code == 201
