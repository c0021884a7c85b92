"""What must hold on SQLite, MariaDB and PostgreSQL alike: text byte for byte, time in UTC with
microseconds, connections that survive the server dropping them."""

import json
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event, text

from board import models
from board.extensions import db
from tests.conftest import make_app
from tests.helpers import HTMX, csrf_token, post, soup

SERVER_DIALECTS = pytest.mark.parametrize("dialect", ["postgresql", "mariadb"], indirect=True, scope="session")

TEXTS = [
    "emoji 😀🎉👩‍👩‍👧‍👦 flags 🇺🇦🇯🇵",
    "math 𝕏𝔸𝕄 𝟘𝟙 and old italic 𐌰𐌱",
    "CJK 漢字かなカナ 한국어, and a rare one: 𠜎𠜱",
    "combining e\u0301 vs é, RTL שלום مرحبا, ZWJ a\u200db",
    "quotes ' \" ` backslash \\ percent % underscore _",
]


def stored_contents(app):
    with app.app_context():
        return db.session.scalars(sa.select(models.Comment.content).order_by(models.Comment.id)).all()


@pytest.mark.parametrize("content", TEXTS)
def test_four_byte_utf8_round_trips_byte_for_byte(app, client, content):
    author = content[:64]
    assert post(client, content, author=author, htmx=True).status_code == 201
    [stored] = stored_contents(app)
    assert stored.encode("utf-8") == content.encode("utf-8")
    article = soup(client.get("/")).select_one("article")
    assert article.select_one(".content").get_text() == content
    assert article.select_one(".author").get_text() == author


def test_4096_four_byte_characters_fit(app, client):
    content = "😀" * 4096
    assert post(client, content, htmx=True).status_code == 201
    assert stored_contents(app) == [content]


def test_nul_never_reaches_the_database(app, client):
    assert post(client, "nul\x00byte", htmx=True).status_code == 422
    assert stored_contents(app) == []


def test_posted_round_trips_in_utc_with_microseconds(app, client, clock):
    clock.now = datetime(2017, 7, 7, 18, 47, 5, 123456, tzinfo=timezone.utc)
    post(client, "precise")
    with app.app_context():
        posted = db.session.scalar(sa.select(models.Comment.posted))
        raw = db.session.execute(text("SELECT posted FROM comments")).scalar()
    assert posted == clock.now and posted.tzinfo == timezone.utc
    if isinstance(raw, str):
        raw = datetime.fromisoformat(raw)
    assert raw == datetime(2017, 7, 7, 18, 47, 5, 123456)  # stored as UTC wall time
    assert 'datetime="2017-07-07T18:47:05Z"' in client.get("/").get_data(as_text=True)


SESSION_ZONES = {
    "postgresql": "SET TIME ZONE 'Asia/Tokyo'",
    "mariadb": "SET time_zone = '-08:00'",
    "sqlite": None,
}


def test_a_session_time_zone_other_than_utc_shifts_nothing(dialect, migrated_database, clock):
    """The servers already run in non-UTC zones (harness/databases.py); here the session moves too."""
    app = make_app(migrated_database)
    statement = SESSION_ZONES[dialect]
    with app.app_context():
        if statement:
            @event.listens_for(db.engine, "connect")
            def set_zone(dbapi_connection, _record):
                cursor = dbapi_connection.cursor()
                cursor.execute(statement)
                cursor.close()
        clock.now = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone.utc)
        models.add("Zed", "leap day, late")
        db.session.remove()
        posted = db.session.scalar(sa.select(models.Comment.posted))
        db.session.execute(text("DELETE FROM comments"))
        db.session.commit()
        db.engine.dispose()
    assert posted == clock.now


@pytest.mark.parametrize("dialect", ["mariadb"], indirect=True, scope="session")
def test_connection_and_table_use_utf8mb4_on_mariadb_despite_a_latin1_server(app, dialect):
    with app.app_context():
        server = db.session.scalar(text("SELECT @@character_set_server"))
        connection = db.session.execute(
            text("SELECT @@character_set_connection, @@character_set_client, @@character_set_results")
        ).one()
        table = db.session.scalar(text(
            "SELECT TABLE_COLLATION FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'comments'"))
        column = db.session.execute(text(
            "SELECT CHARACTER_SET_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'comments' AND COLUMN_NAME = 'content'"
        )).one()
        posted = db.session.scalar(text(
            "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = 'comments' AND COLUMN_NAME = 'posted'"))
    assert server == "latin1"
    assert tuple(connection) == ("utf8mb4", "utf8mb4", "utf8mb4")
    assert table == "utf8mb4_unicode_ci"
    assert tuple(column) == ("utf8mb4", "varchar(4096)")
    assert posted == "datetime(6)"


@SERVER_DIALECTS
def test_hex_of_stored_text_is_its_utf8_encoding(app, client, dialect):
    content = TEXTS[0] + TEXTS[2]
    post(client, content)
    hex_of = {"mariadb": "HEX(content)", "postgresql": "encode(convert_to(content, 'UTF8'), 'hex')"}
    with app.app_context():
        stored = db.session.scalar(text(f"SELECT {hex_of[dialect]} FROM comments"))
    assert bytes.fromhex(stored) == content.encode("utf-8")


BACKEND_ID = {"postgresql": "SELECT pg_backend_pid()", "mariadb": "SELECT CONNECTION_ID()"}
KILL = {"postgresql": "SELECT pg_terminate_backend({})", "mariadb": "KILL {}"}


def kill_the_pooled_connection(app, dialect, servers):
    """Ends, from the server's side, the connection the app's pool holds (there is one)."""
    with app.app_context():
        with db.engine.connect() as connection:
            victim = connection.scalar(text(BACKEND_ID[dialect]))
    admin = sa.create_engine(servers(dialect).admin_url(), poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(text(KILL[dialect].format(int(victim))))
        connection.commit()
    admin.dispose()
    return victim


def backend_id(app, dialect):
    with app.app_context():
        with db.engine.connect() as connection:
            return connection.scalar(text(BACKEND_ID[dialect]))


@SERVER_DIALECTS
def test_a_connection_killed_by_the_server_is_replaced_before_the_next_request(
        app, client, dialect, servers):
    """What PythonAnywhere does to idle MySQL connections: the check before use must catch it."""
    assert client.get("/").status_code == 200
    assert app.config["DB_POOL_PRE_PING"] is True and app.config["DB_PING_IDLE_SECONDS"] == 1
    with app.app_context():
        assert db.engine.pool._recycle == 280
    victim = kill_the_pooled_connection(app, dialect, servers)
    time.sleep(1.2)  # idle for longer than BOARD_DB_PING_IDLE_SECONDS

    assert client.get("/").status_code == 200
    assert post(client, "still here", htmx=True).status_code == 201
    assert backend_id(app, dialect) != victim


@SERVER_DIALECTS
def test_a_connection_killed_while_busy_costs_one_clear_503_and_nothing_twice(
        app, client, dialect, servers):
    """A connection used within the last BOARD_DB_PING_IDLE_SECONDS is not checked: if the
    server ended it meanwhile, that one request says so, and the pool replaces it."""
    token = csrf_token(client)
    victim = kill_the_pooled_connection(app, dialect, servers)
    response = client.post("/comments", data={"content": "during the restart", "csrf_token": token},
                           headers=HTMX)
    assert response.status_code == 503
    assert "Nothing was saved" in soup(response).get_text()
    assert post(client, "after the restart", htmx=True).status_code == 201
    assert stored_contents(app) == ["after the restart"]
    assert backend_id(app, dialect) != victim


class SlowFirstRelay:
    """A TCP relay on loopback to `port` that holds its first connection back for `delay`
    seconds (a database slow to greet) and notes when each connection arrived."""

    def __init__(self, port, delay):
        self.target, self.delay, self.arrivals = port, delay, []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.arrivals.append(time.monotonic())
            threading.Thread(target=self.relay, args=(client, len(self.arrivals) == 1),
                             daemon=True).start()

    def relay(self, client, first):
        if first:
            time.sleep(self.delay)
        server = socket.create_connection(("127.0.0.1", self.target))
        for source, sink in ((client, server), (server, client)):
            threading.Thread(target=pump, args=(source, sink), daemon=True).start()

    def close(self):
        self.listener.close()


def pump(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        sink.close()


FIRST_CONNECTIONS = """
import json, sys, threading
from board import create_app
from board.extensions import db

app = create_app("testing", {"DATABASE_URL": sys.argv[1]})
start, failures = threading.Barrier(8), []

def connect():
    start.wait()
    try:
        with app.app_context(), db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except Exception as error:
        failures.append(repr(error))

threads = [threading.Thread(target=connect) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(failures))
"""


@pytest.mark.parametrize("dialect", ["mariadb"], indirect=True, scope="session")
def test_a_process_makes_its_first_mariadb_connection_alone(migrated_database):
    """mysql-connector's client library sets itself up on a process's first connection, unsafely
    across threads: a gthread worker's first requests, connecting at once, failed with
    "Authentication plugin 'mysql_native_password' cannot be loaded: not initialized" (503s in
    CI). In a fresh process, 8 threads connect at once through a relay that makes the first
    connection slow: the other 7 must arrive after it, then all 8 work."""
    url = sa.engine.make_url(migrated_database)
    relay = SlowFirstRelay(url.port, delay=0.5)
    try:
        result = subprocess.run(
            [sys.executable, "-c", FIRST_CONNECTIONS,
             url.set(port=relay.port).render_as_string(hide_password=False)],
            cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=60)
    finally:
        relay.close()
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1]) == []
    first, *others = relay.arrivals
    assert len(others) == 7
    assert min(others) - first >= 0.5, [round(t - first, 3) for t in others]


@SERVER_DIALECTS
def test_only_a_connection_idle_for_a_while_is_pinged(app, client):
    """The check before use costs a round trip: a busy worker's connection skips it."""
    with app.app_context():
        dialect = db.engine.dialect
    pinged = []
    real_ping = dialect.do_ping
    dialect.do_ping = lambda connection: pinged.append(connection) or real_ping(connection)
    try:
        assert client.get("/").status_code == 200
        for _ in range(5):
            assert client.get("/").status_code == 200
            assert post(client, "busy", htmx=True).status_code == 201
        assert pinged == []
        time.sleep(1.2)
        assert client.get("/").status_code == 200
        assert len(pinged) == 1
        assert client.get("/").status_code == 200
        assert len(pinged) == 1
    finally:
        del dialect.do_ping


def server_counters(servers, names):
    """MariaDB's own global counts of the commands it was sent (this test's server only)."""
    admin = sa.create_engine(servers("mariadb").admin_url(), poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        rows = connection.execute(text("SHOW GLOBAL STATUS")).all()
    admin.dispose()
    return {name: int(value) for name, value in rows if name in names}


@pytest.mark.parametrize("dialect", ["mariadb"], indirect=True, scope="session")
def test_mysql_connector_reads_send_their_selects_alone_and_a_post_one_transaction(
        app, client, servers):
    """mysql-connector-python pings before every cursor, and each read opened a transaction
    that one or two ROLLBACKs closed: board.database leaves a read its SELECTs, and a post
    one START TRANSACTION and one COMMIT around its writes. It also runs the driver's C
    extension (requirements.txt says why 9.7.0)."""
    import mysql.connector
    from mysql.connector.connection_cext import CMySQLConnection

    assert mysql.connector.HAVE_CEXT
    names = ["Com_admin_commands", "Com_begin", "Com_commit", "Com_rollback", "Com_select",
             "Com_insert"]
    assert client.get("/").status_code == 200  # connected and warm
    with app.app_context():
        with db.engine.connect() as connection:
            assert isinstance(connection.connection.dbapi_connection, CMySQLConnection)

    def sent_by(action):
        # What reading the counters sends itself (connecting, its first queries, closing),
        # measured by reading them twice, is taken out of the difference.
        first = server_counters(servers, names)
        before = server_counters(servers, names)
        action()
        after = server_counters(servers, names)
        return {name: after[name] - 2 * before[name] + first[name] for name in names}

    def views():
        for _ in range(10):
            assert client.get("/").status_code == 200

    sent = sent_by(views)
    # COM_PING is an admin command.
    assert sent["Com_admin_commands"] == 0, sent
    assert sent["Com_begin"] == sent["Com_commit"] == sent["Com_rollback"] == 0, sent
    assert sent["Com_select"] >= 10, sent
    sent = sent_by(lambda: post(client, "one transaction", htmx=True))
    assert (sent["Com_begin"], sent["Com_commit"], sent["Com_rollback"]) == (1, 1, 0), sent
    assert sent["Com_insert"] >= 1, sent
    assert stored_contents(app)[-1:] == ["one transaction"]


def transaction_states(app):
    """psycopg2's transaction status after each statement the app sends, as (SQL, status)."""
    import psycopg2.extensions

    names = {psycopg2.extensions.TRANSACTION_STATUS_IDLE: "idle",
             psycopg2.extensions.TRANSACTION_STATUS_INTRANS: "in transaction",
             psycopg2.extensions.TRANSACTION_STATUS_INERROR: "failed"}
    seen = []

    def after(_connection, cursor, statement, *_):
        seen.append((statement.split(None, 1)[0].upper(),
                     names.get(cursor.connection.info.transaction_status, "other")))

    with app.app_context():
        event.listen(db.engine, "after_cursor_execute", after)
    return seen


POSTGRESQL = pytest.mark.parametrize("dialect", ["postgresql"], indirect=True, scope="session")


@POSTGRESQL
def test_postgresql_reads_send_no_begin_and_no_rollback(app, client):
    """board.database: a request that only reads runs each SELECT in autocommit; psycopg2 sent
    BEGIN before the first and the session a ROLLBACK after the last."""
    assert post(client, "to read", htmx=True).status_code == 201
    assert post(client, "newest", htmx=True).status_code == 201
    with app.app_context():
        newest = db.session.scalar(sa.select(sa.func.max(models.Comment.id)))
    states = transaction_states(app)
    assert client.get("/").status_code == 200
    older = client.get(f"/comments?before={newest}", headers=HTMX)
    assert older.status_code == 200 and "to read" in older.get_data(as_text=True)
    assert {statement for statement, _ in states} == {"SELECT"}
    assert {state for _, state in states} == {"idle"}, states


@POSTGRESQL
def test_postgresql_writes_still_commit_together_after_reads(app, client):
    """The first statement that is not a plain SELECT opens a transaction (psycopg2 sends BEGIN
    with it): a post's first write, or a SELECT ... FOR UPDATE."""
    states = transaction_states(app)
    assert post(client, "in one transaction", htmx=True).status_code == 201
    kinds = [statement for statement, _ in states]
    assert "INSERT" in kinds and "SELECT" in kinds
    first_write = next(n for n, (statement, _) in enumerate(states) if statement != "SELECT")
    assert {state for _, state in states[first_write:]} == {"in transaction"}, states
    with app.app_context():
        states.clear()
        assert db.session.execute(sa.select(models.Comment.id)).first() is not None
        db.session.execute(sa.select(models.Comment.id).with_for_update()).first()
        assert [state for _, state in states] == ["idle", "in transaction"]
        db.session.rollback()


@SERVER_DIALECTS
def test_writes_after_autocommit_reads_still_undo_together(app, client):
    """board.database: reads run in autocommit on both servers; a write opens a transaction,
    and a failure after the first write undoes it."""
    assert post(client, "in one transaction", htmx=True).status_code == 201
    with app.app_context():
        board_id = db.session.scalar(sa.select(models.Comment.board_id))
        db.session.execute(sa.insert(models.Comment.__table__).values(
            content="undone", board_id=board_id, posted=datetime.now(timezone.utc)))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.insert(models.Comment.__table__).values(
                content=None, board_id=board_id, posted=datetime.now(timezone.utc)))
        db.session.rollback()
    assert stored_contents(app) == ["in one transaction"]


UNREACHABLE = {
    "sqlite": "sqlite:////nonexistent-dir/board.sqlite",
    "postgresql": "postgresql+psycopg2://board@127.0.0.1:1/board",
    "mariadb": "mysql+mysqlconnector://board:board@127.0.0.1:1/board",
}


def test_unreachable_database_answers_503_not_500(dialect):
    app = make_app(UNREACHABLE[dialect])
    client = app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json == {"status": "unavailable"}
    page = client.get("/")
    assert page.status_code == 503
    assert "database cannot be reached" in soup(page).get_text()
    fragment = client.get("/comments?after=0", headers=HTMX)
    assert fragment.status_code == 503 and soup(fragment).find("html") is None
    body = page.get_data(as_text=True)
    assert "Traceback" not in body and "sqlalchemy" not in body.lower()
    with app.app_context():
        db.engine.dispose()


def test_post_to_an_unreachable_database_is_a_503(dialect, client):
    token = csrf_token(client)  # a session and token from the working board; same secret key
    broken = make_app(UNREACHABLE[dialect]).test_client()
    broken.set_cookie("session", client.get_cookie("session").value)
    response = broken.post("/comments", data={"content": "lost?", "csrf_token": token}, headers=HTMX)
    assert response.status_code == 503
    assert "Nothing was saved" in soup(response).get_text()
