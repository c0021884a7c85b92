"""Fixtures in the style of Flask's tutorial (`app`, `client`, `runner`), run against every
database: SQLite, and real PostgreSQL and MariaDB servers started once per session.

The schema is built by the migrations, never by create_all; every test starts from an empty board.

A test whose answer cannot depend on the database (headers, error pages, configuration, input
refused before any query) is marked `@pytest.mark.one_database`: it still gets a working app, on
SQLite only, instead of running three times. A test that names its own databases does so with
`@pytest.mark.parametrize("dialect", [...], indirect=True, scope="session")`.
"""

import os
import random
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import text

from board import create_app, models
from board.config import normalise_database_url
from board.extensions import db
from tests.helpers import unavailable
from harness.databases import Unavailable, server_for

DIALECTS = ["sqlite", "postgresql", "mariadb"]
ONE_DATABASE = ["sqlite"]

# Every run draws new examples (CI included: a fixed set would replay the same blind spots
# forever). A red build stays reproducible: the run's seed is printed in the report header, and
# every failure prints its example and a @reproduce_failure blob (see pytest_report_header).
settings.register_profile("ci", print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
# Hypothesis keeps its example database and caches in ./.hypothesis by default: keep them out of
# the checkout (a failing example is still replayed by the next run on this machine).
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "board-tests-hypothesis")


def pytest_addoption(parser):
    parser.addoption(
        "--save-screenshot", metavar="PATH", default=None,
        help="also save the screenshots of tests/browser/test_screenshot.py: the desktop one to "
             "PATH (e.g. docs/screenshot.png), the phone one beside it (screenshot-phone.png); "
             "without it the tests write only to temporary folders",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "one_database: the test cannot depend on the database; run it on SQLite only",
    )
    # Before Hypothesis's own pytest_configure reads the option: a seed for the whole run, chosen
    # here when none was given, so that it can be printed and passed back in.
    if os.environ.get("CI") and config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = str(random.SystemRandom().randrange(2**32))


def pytest_report_header(config):
    seed = config.getoption("hypothesis_seed", None)
    if seed is None:
        return ("hypothesis: random examples; a failure prints its example, and the next run "
                "on this machine replays it first")
    return (f"hypothesis seed: {seed} (this run's examples again: "
            f"python -m pytest --hypothesis-seed={seed} ...)")


def pytest_generate_tests(metafunc):
    """Parametrize `dialect`: every database, or SQLite alone for `one_database` tests.

    A test that parametrizes `dialect` itself keeps its own list."""
    if "dialect" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",")]
        if "dialect" in names:
            return
    one = metafunc.definition.get_closest_marker("one_database") is not None
    metafunc.parametrize("dialect", ONE_DATABASE if one else DIALECTS, indirect=True,
                         scope="session")


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


@pytest.fixture(scope="session")
def dialect(request):
    """The database's name; parametrized by pytest_generate_tests above."""
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
        connection.execute(text("DELETE FROM boards"))
        for table in ("purged", "imports", "decisions", "trusted", "blocks", "outbox", "subscriptions",
                      "addresses"):
            connection.execute(text(f"DELETE FROM {table}"))
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
