"""The database servers a benchmark run needs, started by harness/databases.py on loopback in a
temporary folder and stopped when the run ends, even on error.

harness/databases.py tunes its servers for fast tests (PostgreSQL with fsync off, MariaDB
flushing its log once a second). A benchmark must pay for durability as production does:
PostgreSQL boots here with `fsync` and `full_page_writes` on (its command line wins over ALTER
SYSTEM, so its SETTINGS are replaced), and MariaDB gets `innodb_flush_log_at_trx_commit = 1`
(dynamic) once it is up.
Everything else (initdb, users, databases, stopping) is harness/databases.py's.
"""

import contextlib
import shutil
import tempfile
import uuid
from pathlib import Path

from harness.databases import SERVERS, PostgreSQL


class DurablePostgreSQL(PostgreSQL):
    SETTINGS = "-c fsync=on -c full_page_writes=on -c synchronous_commit=on"


BENCH_SERVERS = {**SERVERS, "postgresql": DurablePostgreSQL}


class Databases(contextlib.AbstractContextManager):
    """`Databases().url(dialect)` returns a URL to a new, empty database on that dialect."""

    def __init__(self):
        # PostgreSQL runs as the postgres user and must be able to get into the folder.
        self.root = Path(tempfile.mkdtemp(prefix="board-bench-"))
        self.root.chmod(0o755)
        self.started = {}

    def server(self, dialect):
        if dialect not in self.started:
            server = BENCH_SERVERS[dialect](self.root)
            self.started[dialect] = server  # registered first: stopped even if start fails
            server.start()
            durable(server)
        return self.started[dialect]

    def url(self, dialect):
        if dialect == "sqlite":
            folder = self.root / f"sqlite-{uuid.uuid4().hex[:8]}"
            folder.mkdir()
            return f"sqlite:///{folder / 'board.sqlite'}"
        return self.server(dialect).create_database()

    def drop(self, url):
        """Free the disk a finished size used."""
        if url.startswith("sqlite:///"):
            shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
            return
        from sqlalchemy import create_engine, make_url, text

        parsed = make_url(url)
        admin = parsed.set(database="postgres" if parsed.get_backend_name() == "postgresql" else "")
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        quote = '"' if parsed.get_backend_name() == "postgresql" else "`"
        try:
            with engine.connect() as connection:
                connection.execute(text(f"DROP DATABASE {quote}{parsed.database}{quote}"))
        finally:
            engine.dispose()

    def pids(self):
        """The database servers' main processes (PostgreSQL's postmaster daemonizes, so it is not
        our child; MariaDB's is)."""
        found = []
        for server in self.started.values():
            pidfile = getattr(server, "data", None) and Path(server.data) / "postmaster.pid"
            if pidfile and pidfile.exists():
                found.append(int(pidfile.read_text().split()[0]))
            elif getattr(server, "process", None) is not None:
                found.append(server.process.pid)
        return found

    def settle(self, url):
        """After a bulk load: have PostgreSQL write its checkpoint now, not during a measurement."""
        if not url.startswith("postgresql"):
            return
        from sqlalchemy import create_engine, text

        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text("CHECKPOINT"))
        finally:
            engine.dispose()

    def versions(self):
        """Server versions, for the machine description."""
        from sqlalchemy import create_engine, text

        found = {}
        for dialect, server in self.started.items():
            engine = create_engine(server.admin_url())
            try:
                with engine.connect() as connection:
                    found[dialect] = connection.execute(text("SELECT version()")).scalar()
            finally:
                engine.dispose()
        return found

    def __exit__(self, *exc):
        for server in self.started.values():
            with contextlib.suppress(Exception):
                server.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        return False


def durable(server):
    if server.name == "postgresql":
        check(server, "SHOW fsync", "on")
        check(server, "SHOW synchronous_commit", "on")
    elif server.name == "mariadb":
        server.sql("SET GLOBAL innodb_flush_log_at_trx_commit = 1")
        check(server, "SELECT @@global.innodb_flush_log_at_trx_commit", 1)


def check(server, query, expected):
    from sqlalchemy import create_engine, text

    engine = create_engine(server.admin_url())
    try:
        with engine.connect() as connection:
            found = connection.execute(text(query)).scalar()
    finally:
        engine.dispose()
    if found != expected:
        raise RuntimeError(f"{server.name}: {query} is {found!r}, not {expected!r}")
