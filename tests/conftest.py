"""Fixtures in the style of Flask's tutorial (`app`, `client`, `runner`), run against every
database: SQLite, and real PostgreSQL and MariaDB servers started once per session.

The schema is built by the migrations, never by create_all; every test starts from an empty board.
"""

import os
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from hypothesis import settings
from sqlalchemy import text

from board import create_app, models
from board.config import normalise_database_url
from board.extensions import db
from tests.servers import Unavailable, server_for

DIALECTS = ["sqlite", "postgresql", "mariadb"]

# CI replays the same examples every run, so a red build is reproducible; locally they vary.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def unavailable(reason):
    """Skip on a developer's machine that lacks a server; in CI a skip would hide a gap: fail."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run every test)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def server_root():
    # Not under pytest's 0700 tmp dir: PostgreSQL runs as the postgres user and must get in.
    root = Path(tempfile.mkdtemp(prefix="board-test-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def servers(server_root):
    """Starts a database server the first time a test asks for it; stops them all at the end."""
    started, failed = {}, {}

    def get(name):
        if name in failed:
            unavailable(failed[name])
        if name not in started:
            try:
                started[name] = server_for(name, server_root).start()
            except Unavailable as error:
                failed[name] = str(error)
                unavailable(str(error))
        return started[name]

    yield get
    for server in started.values():
        server.stop()


@pytest.fixture(scope="session", params=DIALECTS)
def dialect(request):
    return request.param


@pytest.fixture
def empty_database(dialect, servers, server_root):
    """A URL to a new, empty database on `dialect`: for tests that run migrations themselves."""
    if dialect == "sqlite":
        path = Path(tempfile.mkdtemp(dir=server_root)) / "board.sqlite"
        return f"sqlite:///{path}"
    return servers(dialect).create_database()


@pytest.fixture(scope="session")
def migrated_database(dialect, servers, server_root):
    """One database per dialect for the session, at the migrations' head."""
    if dialect == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp(dir=server_root)) / 'board.sqlite'}"
    else:
        url = servers(dialect).create_database()
    app = create_app("testing", {"DATABASE_URL": url})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


def make_app(url, **overrides):
    return create_app("testing", {"DATABASE_URL": url, **overrides})


@pytest.fixture
def app_factory(migrated_database):
    """Apps on the session's database with settings of the test's own; emptied afterwards."""
    made = []

    def factory(config_name="testing", **overrides):
        made.append(create_app(config_name, {"DATABASE_URL": migrated_database, **overrides}))
        return made[-1]

    yield factory
    for app in made:
        with app.app_context():
            db.session.remove()  # before the DELETE, or PostgreSQL waits on an idle transaction
            db.engine.dispose()
    engine = sa.create_engine(normalise_database_url(migrated_database), poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM comments"))
    engine.dispose()


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Clock:
    """A clock the test moves by hand, standing in for datetime.now in `posted`'s default."""

    def __init__(self):
        self.now = datetime(2017, 7, 7, 18, 47, 5, 123456, tzinfo=timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(models, "clock", clock)
    return clock
