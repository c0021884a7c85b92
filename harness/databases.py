"""Real database servers: PostgreSQL 15 and MariaDB, started on loopback in a temporary folder
(once per test session, or once per benchmark run) and stopped afterwards; or servers of your own.

Each server deliberately runs in a time zone other than UTC, and MariaDB with latin1 as its
default character set, so the tests prove that our code, not a server default, keeps times in
UTC and text in utf8mb4. They are tuned for fast tests (PostgreSQL with fsync off); the benchmark
makes them durable (bench/databases.py).
"""

import os
import pwd
import shutil
import subprocess
import uuid
from pathlib import Path

import sqlalchemy as sa

from .ports import free_port, wait_for_port

PG_BIN = Path(os.environ.get("BOARD_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


class Unavailable(Exception):
    """The server's binaries are not on this machine; the message says how to install them."""


def as_user(user, command):
    """Run as `user` when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() == 0 and user != "root":
        return ["runuser", "-u", user, "--", *command]
    return command


class PostgreSQL:
    name = "postgresql"

    def __init__(self, base):
        if not (PG_BIN / "pg_ctl").exists():
            raise Unavailable(
                f"PostgreSQL 15 server binaries not found in {PG_BIN} "
                "(apt-get install postgresql-15, or set BOARD_TEST_PG_BIN)"
            )
        self.dir = Path(base) / "postgresql"
        self.data = self.dir / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def start(self):
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, self.user)
        self._run([PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--locale=C.UTF-8"])
        self.boot()
        return self

    # Fast for tests; deliberately not UTC: stored times must not depend on the server's zone.
    SETTINGS = "-c fsync=off -c full_page_writes=off -c timezone=America/New_York"

    def boot(self):
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   f"-c max_connections=200 {self.SETTINGS}")
        self._run([PG_BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.dir / "log",
                   "-w", "start"])

    def stop(self):
        """Stop at once, as a crash or a host restart would; `boot` brings it back."""
        self._run([PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"],
                  check=False)

    def _run(self, command, check=True):
        subprocess.run(as_user(self.user, [str(part) for part in command]), check=check,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def admin_url(self, database="postgres"):
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self):
        import psycopg2

        name = f"board_{uuid.uuid4().hex[:10]}"
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                      dbname="postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        return self.admin_url(name)


class MariaDB:
    name = "mariadb"

    def __init__(self, base):
        self.server = shutil.which("mariadbd") or shutil.which("mysqld", path="/usr/sbin")
        self.install_db = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if not self.server or not self.install_db:
            raise Unavailable("MariaDB server not found (apt-get install mariadb-server)")
        self.dir = Path(base) / "mariadb"
        self.port = free_port()
        self.socket = self.dir / "mariadb.sock"
        self.process = None

    def start(self):
        # A temporary folder of its own: the shared /tmp may be swept by others while it runs.
        (self.dir / "tmp").mkdir(parents=True)
        subprocess.run(
            [self.install_db, "--no-defaults", "--user=root", f"--datadir={self.dir / 'data'}",
             f"--tmpdir={self.dir / 'tmp'}", "--auth-root-authentication-method=normal",
             "--skip-test-db"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.boot()
        self.sql("CREATE USER 'board'@'%' IDENTIFIED BY 'board'; "
                 "GRANT ALL ON *.* TO 'board'@'%' WITH GRANT OPTION;")
        return self

    def boot(self):
        log = open(self.dir / "server.log", "ab")
        self.process = subprocess.Popen(
            [self.server, "--no-defaults", "--user=root", f"--datadir={self.dir / 'data'}",
             f"--tmpdir={self.dir / 'tmp'}", f"--port={self.port}", "--bind-address=127.0.0.1", f"--socket={self.socket}",
             f"--pid-file={self.dir / 'mariadb.pid'}", "--skip-log-bin",
             "--innodb-flush-log-at-trx-commit=2", "--innodb-buffer-pool-size=128M",
             "--innodb-doublewrite=0", "--max-connections=300",
             # Deliberately not UTC and not utf8mb4: our code must not depend on either.
             "--default-time-zone=+05:30", "--character-set-server=latin1",
             "--collation-server=latin1_swedish_ci"],
            stdout=log, stderr=log,
        )
        wait_for_port(self.port, process=self.process)

    def stop(self):
        """Stop at once, as a crash would; `boot` brings it back."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def sql(self, statement):
        client = shutil.which("mariadb") or shutil.which("mysql")
        subprocess.run([client, "--no-defaults", "-uroot", f"--socket={self.socket}", "-e",
                        statement], check=True, stdout=subprocess.DEVNULL)

    def admin_url(self, database=""):
        return f"mysql+mysqlconnector://board:board@127.0.0.1:{self.port}/{database}"

    def create_database(self):
        name = f"board_{uuid.uuid4().hex[:10]}"
        # The database's default stays latin1: our tables must ask for utf8mb4 themselves.
        self.sql(f"CREATE DATABASE `{name}`")
        return self.admin_url(name)


class External:
    """A server of your own, named by BOARD_TEST_POSTGRESQL_URL or BOARD_TEST_MARIADB_URL: an
    account that may create databases. Each test database is created on it; fault tests, which
    stop and start the server, are skipped."""

    def __init__(self, name, url):
        self.name, self.url = name, sa.engine.make_url(url)

    def start(self):
        return self

    def admin_url(self, database=None):
        return self.url.set(database=database or self.url.database).render_as_string(False)

    def create_database(self):
        name = f"board_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(self.admin_url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            quote = '"' if self.name == "postgresql" else "`"
            connection.execute(sa.text(f"CREATE DATABASE {quote}{name}{quote}"))
        engine.dispose()
        return self.admin_url(name)

    def stop(self):
        pass

    def boot(self):
        pass


SERVERS = {"postgresql": PostgreSQL, "mariadb": MariaDB}


def server_for(name, base):
    """Your own server if its URL is set, else one we start ourselves."""
    url = os.environ.get(f"BOARD_TEST_{name.upper()}_URL")
    return External(name, url) if url else SERVERS[name](base)
