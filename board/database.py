"""What the board asks of each database's connections, set up once on the app's engine.

Every statement a request sends is a round trip to PostgreSQL or MariaDB, and on a busy board
the ones nobody asked for cost more than the queries: this module keeps them out, and keeps the
safety they stood for.
"""

import threading
import time

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.sql.selectable import GenerativeSelect


def engine_options(url, pool_recycle, connect_timeout, sqlite_busy_timeout):
    """SQLALCHEMY_ENGINE_OPTIONS for the URL's database (Flask-SQLAlchemy 3 reads only this).
    The liveness check (BOARD_DB_POOL_PRE_PING) is not here: `tune` sets it up."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return {"connect_args": {"timeout": sqlite_busy_timeout}}
    connect_args = {
        "postgresql": {"connect_timeout": connect_timeout},
        "mysql": {"connection_timeout": connect_timeout},
        "mariadb": {"connection_timeout": connect_timeout},
    }.get(backend, {})
    options = {"pool_recycle": pool_recycle, "connect_args": connect_args}
    if parsed.get_driver_name() == "mysqlconnector":
        options["pool_reset_on_return"] = None  # mysql_connector's reset does it
    return options


def tune(engine, ping, ping_idle_seconds):
    """Called once by create_app with the app's engine, BOARD_DB_POOL_PRE_PING and
    BOARD_DB_PING_IDLE_SECONDS."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", sqlite_pragmas)
        return
    if engine.dialect.driver == "psycopg2":
        psycopg2_reads(engine)  # before the ping, which then needs no transaction either
    if ping:
        ping_after_idle(engine, ping_idle_seconds)
    if engine.dialect.driver == "mysqlconnector":
        mysql_connector(engine)


def sqlite_pragmas(dbapi_connection, _record):
    # WAL lets readers and one writer work at once; NORMAL is durable in WAL mode.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def ping_after_idle(engine, idle_seconds):
    """SQLAlchemy's pool_pre_ping, for a connection that sat in the pool over `idle_seconds`.

    A dropped connection (PythonAnywhere ends idle ones, a server restarts) is replaced before
    the request uses it. One checked in moments ago is trusted: pinging it was a round trip on
    every request of a busy worker. If the server drops it within those seconds, that request
    gets the 503 of an unreachable database and the pool replaces the connection."""
    dialect = engine.dialect

    def checkin(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")  # None: new (info is cleared on reconnect)
        if idle_since is None or time.monotonic() - idle_since <= idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # As pool_pre_ping does: the pool drops its connections and checks out anew.
                raise exc.InvalidatePoolError(str(error)) from error
            raise

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


def psycopg2_reads(engine):
    """Reads without BEGIN and ROLLBACK on PostgreSQL: a page, an older page or a poll that
    reads the database costs its queries alone, not two round trips more.

    psycopg2 sends BEGIN on its own before a transaction's first statement, and the session
    ends every request's transaction with a ROLLBACK. Here a connection leaves the pool in
    autocommit, and goes into a transaction (psycopg2 sends BEGIN with the statement) before the
    first statement that is not a plain SELECT: an INSERT, UPDATE or DELETE, a SELECT ... FOR
    UPDATE, a SAVEPOINT, any text or DDL. Under READ COMMITTED, PostgreSQL's default and the
    board's, each statement sees its own snapshot inside a transaction or not, so the reads
    before a write see what they would have seen; what a transaction adds, locks and writes
    that commit together, every write still gets. The pool's reset rolls back only an open
    transaction (psycopg2 sends nothing otherwise), so a request that only read sends nothing
    more."""

    from psycopg2.extensions import TRANSACTION_STATUS_IDLE

    def checkout(dbapi_connection, _record, _proxy):
        # The pool rolled back what it got back. Only a new connection can be in a transaction
        # here, opened by a "connect" hook (a SET): its first request ends that one, as before.
        if dbapi_connection.info.transaction_status == TRANSACTION_STATUS_IDLE:
            dbapi_connection.autocommit = True

    def before_cursor_execute(_connection, cursor, _statement, _parameters, context, _many):
        if cursor.connection.autocommit and not plain_read(context):
            cursor.connection.autocommit = False

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "before_cursor_execute", before_cursor_execute)


def plain_read(context):
    """The statement is a SELECT (or a UNION of them) built by SQLAlchemy that locks nothing
    and whose rows come at once: a server-side cursor (stream_results, as `flask board export`
    reads) lives in a transaction, and psycopg2 refuses one outside."""
    statement = getattr(getattr(context, "compiled", None), "statement", None)
    return (isinstance(statement, GenerativeSelect) and statement._for_update_arg is None
            and not context.execution_options.get("stream_results"))


def mysql_connector(engine):
    """mysql-connector-python, as the board uses it: a round trip fewer a statement, and one
    fewer a request.

    - Its `cursor()` pings the server before every statement, and SQLAlchemy makes a cursor per
      statement. A connection that died fails the statement itself just as clearly, and
      SQLAlchemy replaces it then (`is_disconnect`).
    - Reads run in autocommit, as on PostgreSQL (psycopg2_reads, whose reasons hold here too):
      a request that only reads sends its SELECTs alone, where each one opened a transaction
      that a ROLLBACK then closed, sometimes two (the session's, then the pool's). The first
      statement that is not a plain SELECT starts a transaction (START TRANSACTION, one round
      trip a write pays), so writes still commit together. COMMIT and ROLLBACK go to the server
      only when the server's status flags say a transaction is open (engine_options:
      pool_reset_on_return; the pool's reset is this connection's rollback). Under REPEATABLE
      READ the transaction's snapshot starts at its first read, so the reads before a write
      read what they would have read a moment earlier, as under READ COMMITTED.
    - Its C extension reports the client's own errors (2000-2999: cannot connect, lost the
      connection) as a plain DatabaseError where the pure-Python driver says InterfaceError or
      OperationalError, which SQLAlchemy and board.errors take for "the database is away".
      Here both raise the pure-Python driver's classes.
    - Its C extension's client library is not safe to set up from two threads at once, so a
      process's first connection is made alone (client_library_ready).
    """
    import mysql.connector
    from mysql.connector import cursor, errors

    if mysql.connector.HAVE_CEXT:
        from mysql.connector.connection_cext import CMySQLConnection as Base
        from mysql.connector.cursor_cext import CMySQLCursor as Plain
        from mysql.connector.cursor_cext import CMySQLCursorBuffered as Buffered
    else:
        Base, Plain, Buffered = mysql.connector.MySQLConnection, cursor.MySQLCursor, cursor.MySQLCursorBuffered

    class Connection(Base):
        def __init__(self, *args, **options):
            # (A URL's ?autocommit=false keeps the driver's transactions: reads then open one.)
            self.autocommit_reads = bool(options.setdefault("autocommit", True))
            super().__init__(*args, **options)

        def cursor(self, buffered=None, **options):
            if options or self._raw:  # never from SQLAlchemy: the driver's own choices
                return super().cursor(buffered=buffered, **options)
            self.handle_unread_result()
            return (Buffered if buffered or self._buffered else Plain)(self)

        def commit(self):
            if self.in_transaction:
                super().commit()

        def rollback(self):
            # With a result left unread, the driver's rollback reads it first: keep that.
            if self.in_transaction or self.unread_result:
                super().rollback()

    mysql.connector.custom_error_exception(
        {number: errors.OperationalError if number in LOST else errors.InterfaceError
         for number in range(2000, 3000)})

    def open_connection(cargs, cparams):
        if CONNECT_ONLY & set(cparams):  # a URL that asks for what only connect() does
            return mysql.connector.connect(*cargs, **cparams)
        return Connection(*cargs, **cparams)

    def connect(_dialect, _record, cargs, cparams):
        if client_library_ready.is_set():
            return open_connection(cargs, cparams)
        with first_connection:  # see client_library_ready
            try:
                return open_connection(cargs, cparams)
            finally:
                client_library_ready.set()  # even if it failed: mysql_init ran first

    def reset(dbapi_connection, _record, _state):
        if dbapi_connection.in_transaction:
            dbapi_connection.rollback()

    def before_cursor_execute(connection, _cursor, _statement, _parameters, context, _many):
        dbapi_connection = connection.connection.dbapi_connection
        if (isinstance(dbapi_connection, Connection) and dbapi_connection.autocommit_reads
                and not dbapi_connection.in_transaction and not plain_read(context)):
            dbapi_connection.start_transaction()

    event.listen(engine, "do_connect", connect)
    event.listen(engine, "reset", reset)
    event.listen(engine, "before_cursor_execute", before_cursor_execute)


# The C extension's client library sets itself up on the process's first connection, with the
# GIL released, and that is not safe from two threads at once: a thread connecting meanwhile
# fails with "Authentication plugin 'mysql_native_password' cannot be loaded: not initialized"
# (seen as 503s on a gthread worker's first requests). So a process's first connection is made
# alone; the rest connect in parallel. Per process: a gunicorn worker forked before any
# connection starts with the event clear and sets its own library up.
first_connection = threading.Lock()
client_library_ready = threading.Event()

# The client errors the pure-Python driver raises as OperationalError (the server gone away, the
# connection broken while writing or reading); it raises the rest of 2000-2999 as InterfaceError.
LOST = {2006, 2055}
# Options of mysql.connector.connect() that a connection class does not take.
CONNECT_ONLY = {"use_pure", "pool_name", "pool_size", "pool_reset_session", "option_files",
                "option_groups", "read_default_file", "dns_srv", "failover"}
