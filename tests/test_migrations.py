"""Migrations replay the tutorial's schema history on every database without losing a row."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from board.extensions import db
from board import models
from board.rules import ID_MAX
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parent.parent
FIRST, POSTED, AUTHOR, STATE = "4dbb02ddd7ad", "8c9a687cd9d4", "d1aaf8db7780", "59ef282dc413"
COUNTERS, REPLIES, BOARDS = "cdf3e7fc92c0", "9961db2779f2", "ca10ffc55057"
PIPELINE, NEWEST, LANGUAGE = "6fcc8ee57b7e", "2a3c56922bce", "7e33f59ebf56"
# Python 3.12+ deprecates sqlite3's default date/time adapters: neither the migrations' backfill nor
# these tests may hand sqlite3 a bare datetime (SQLAlchemy's DateTime writes SQLite's text itself).
pytestmark = pytest.mark.filterwarnings(r"error:The default \w+ (adapter|converter)"
                                        ":DeprecationWarning")
TEXTS = ["plain", "emoji 😀 and 𝕏 and 漢字", "x" * 4096, "line\nbreaks\tand tabs", "'quotes\" \\ %"]


def rows(columns):
    with db.engine.connect() as connection:
        result = connection.execute(sa.text(f"SELECT id, {columns} FROM comments ORDER BY id"))
        return [tuple(row) for row in result]


def insert(**values):
    names = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    # Times go through SQLAlchemy's DateTime, as the app's would: on SQLite it writes the text
    # itself, where a bare datetime would reach sqlite3's default adapter (deprecated in 3.12).
    statement = sa.text(f"INSERT INTO comments ({names}) VALUES ({params})").bindparams(
        *(sa.bindparam(name, type_=sa.DateTime()) for name, value in values.items()
          if isinstance(value, datetime)))
    with db.engine.begin() as connection:
        connection.execute(statement, values)


def utc(value):
    """Read a raw DATETIME column back as aware UTC (drivers return naive values)."""
    if isinstance(value, str):  # SQLite returns text for raw SELECTs
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc)


def boards():
    """(id, slug, comments, last_activity) of every board."""
    with db.engine.connect() as connection:
        return [(row[0], row[1], row[2], utc(row[3])) for row in connection.execute(
            sa.text("SELECT id, slug, comments, last_activity FROM boards ORDER BY id"))]


def columns():
    return {column["name"] for column in sa.inspect(db.engine).get_columns("comments")}


def test_history_is_linear_and_starts_with_the_tutorial_table():
    script = ScriptDirectory(str(ROOT / "migrations"))
    revisions = [rev.revision for rev in script.walk_revisions("base", "heads")][::-1]
    assert revisions == [FIRST, POSTED, AUTHOR, STATE, COUNTERS, REPLIES, BOARDS, PIPELINE, NEWEST,
                         LANGUAGE]
    for revision in script.walk_revisions():
        source = Path(revision.path).read_text()
        assert "def downgrade():" in source and "pass\n" not in source.split("def downgrade")[1]


def test_upgrade_downgrade_upgrade_keeps_every_row(empty_database):
    app = make_app(empty_database)
    with app.app_context():
        flask_migrate.upgrade(revision=FIRST)
        assert columns() == {"id", "content"}
        for text in TEXTS:
            insert(content=text)

        before = datetime.now(timezone.utc).replace(microsecond=0)
        flask_migrate.upgrade(revision=POSTED)
        assert columns() == {"id", "content", "posted"}
        backfilled = rows("content, posted")
        assert [row[1] for row in backfilled] == TEXTS
        for _, _, posted in backfilled:  # the migration's own time, in UTC, not NULL
            assert before - timedelta(seconds=1) <= utc(posted) <= datetime.now(timezone.utc)
        exact = datetime(2017, 7, 7, 18, 47, 5, 123456)
        insert(content="with a time", posted=exact)

        flask_migrate.upgrade(revision=AUTHOR)
        assert columns() == {"id", "content", "posted", "author"}
        at_head = rows("content, posted")
        assert at_head == backfilled + [at_head[-1]]
        assert utc(at_head[-1][2]) == exact.replace(tzinfo=timezone.utc)
        insert(content="signed", posted=exact, author="Zoë 😀")
        with_author = rows("content, posted, author")

        flask_migrate.upgrade(revision=STATE)
        assert columns() == {"id", "content", "posted", "author", "edited", "state", "changed"}
        assert rows("content, posted, author") == with_author
        assert {row[1] for row in rows("state")} == {"visible"}
        insert(content="hidden by a moderator", posted=exact, state="hidden", changed=exact)
        with_state = rows("content, posted, author, state")

        flask_migrate.upgrade(revision=COUNTERS)
        assert columns() == {"id", "content", "posted", "author", "edited", "state", "revision",
                             "author_key"}
        assert rows("content, posted, author, state") == with_state
        # New ids continue after every id handed out; revisions start above any time in
        # milliseconds a board opened before the upgrade polls with.
        with db.engine.begin() as connection:
            new_id = models.take(connection, models.COMMENT_IDS)
        insert(id=new_id, content="posted at head", posted=exact, state="visible")
        assert new_id == with_state[-1][0] + 1
        with db.engine.connect() as connection:
            counters = dict(connection.execute(sa.text("SELECT name, value FROM counters")).all())
        assert counters["comment_ids"] == with_state[-1][0] + 1
        assert counters["revisions"] >= int(before.timestamp() * 1000)
        at_counters = rows("content, posted, author, state")

        flask_migrate.upgrade(revision=REPLIES)
        assert {"parent_id", "thread_id", "replies", "html"} <= columns()
        # Comments from before keep their text; their HTML waits for `flask board rerender`.
        assert rows("content, posted, author, state") == at_counters
        assert {row[1:] for row in rows("parent_id, thread_id, replies, html")} == {
            (None, None, 0, None)}

        # Every comment goes to the default board, made with its count and last activity.
        flask_migrate.upgrade(revision=BOARDS)
        assert rows("content, posted, author, state") == at_counters
        assert [row[1:] for row in boards()] == [("main", sum(
            row[4] == "visible" for row in at_counters), max(utc(row[2]) for row in at_counters))]
        assert {row[1] for row in rows("board_id")} == {boards()[0][0]}
        flask_migrate.upgrade(revision=PIPELINE)
        # Each board keeps its newest id and revision, purges' too, found from its rows.
        with db.engine.begin() as connection:
            newest_revision = connection.scalar(sa.text("SELECT MAX(revision) FROM comments")) or 0
            connection.execute(sa.text("INSERT INTO purged (id, board_id, revision) VALUES "
                                       "(:id, :board, :revision)"),
                               {"id": ID_MAX, "board": boards()[0][0],
                                "revision": newest_revision + 7})
        flask_migrate.upgrade(revision=NEWEST)
        with db.engine.connect() as connection:
            assert tuple(connection.execute(sa.text(
                "SELECT last_id, last_revision FROM boards")).one()) == (
                    at_counters[-1][0], newest_revision + 7)
        flask_migrate.upgrade(revision=LANGUAGE)  # every board speaks its readers' language
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT language FROM boards")).all() == [(None,)]
        thread = models.add("Ann", "A *thread*")
        reply = models.add("Bob", "A reply", parent_id=thread.id)
        models.add(None, "A reply to the reply", parent_id=reply.id)
        assert rows("parent_id, thread_id, replies, html")[-3:] == [
            (thread.id, None, None, 2, "<p>A <em>thread</em></p>"),
            (reply.id, thread.id, thread.id, 0, "<p>A reply</p>"),
            (reply.id + 1, reply.id, thread.id, 0, "<p>A reply to the reply</p>")]
        db.session.remove()
        # A held comment becomes hidden (the older code's moderator can unhide it); no row goes.
        with db.engine.begin() as connection:
            connection.execute(sa.text("UPDATE comments SET state = 'held' WHERE id = :id"),
                               {"id": reply.id + 1})
        held = rows("content, posted, author, state")
        flask_migrate.downgrade(revision=BOARDS)
        assert rows("content, posted, author, state") == [
            row[:4] + ("hidden",) if row[4] == "held" else row for row in held]
        with db.engine.begin() as connection:  # as it was, for the older revisions below
            connection.execute(sa.text("UPDATE comments SET state = 'visible' WHERE id = :id"),
                               {"id": reply.id + 1})
        with_replies = rows("content, posted, author, state")

        # Without boards, every comment stays, replies too; back with boards, all on the default.
        threads = rows("parent_id, thread_id, replies")
        flask_migrate.downgrade(revision=REPLIES)
        assert "board_id" not in columns()
        assert rows("content, posted, author, state") == with_replies
        assert rows("parent_id, thread_id, replies") == threads
        flask_migrate.upgrade(revision=BOARDS)
        assert rows("content, posted, author, state") == with_replies
        assert boards()[0][1:3] == ("main", sum(row[4] == "visible" for row in with_replies))
        flask_migrate.downgrade(revision=REPLIES)

        # Replies become comments of their own: every row and its text stays.
        flask_migrate.downgrade(revision=COUNTERS)
        assert "thread_id" not in columns()
        assert rows("content, posted, author, state") == with_replies
        flask_migrate.upgrade(revision=REPLIES)
        assert rows("content, posted, author, state") == with_replies
        assert {row[1:] for row in rows("parent_id, thread_id, replies")} == {(None, None, 0)}
        flask_migrate.downgrade(revision=COUNTERS)
        at_counters = with_replies

        flask_migrate.downgrade(revision=STATE)
        assert rows("content, posted, author, state") == at_counters
        # The older code's auto-increment goes on after the ids the counter handed out.
        insert(content="posted after the downgrade", posted=exact)
        assert rows("content")[-1] == (at_counters[-1][0] + 1, "posted after the downgrade")
        with_state = rows("content, posted, author, state")

        flask_migrate.downgrade(revision=AUTHOR)
        # The hidden one must not resurface; every visible row stays.
        assert rows("content, posted, author") == [row[:4] for row in with_state
                                                   if row[4] == "visible"]

        flask_migrate.downgrade(revision=POSTED)
        assert columns() == {"id", "content", "posted"}
        added = ("signed", "posted at head", "A *thread*", "A reply", "A reply to the reply",
                 "posted after the downgrade")
        assert rows("content, posted") == at_head + [row[:3] for row in rows("content, posted")
                                                     if row[1] in added]
        assert len(rows("content")) == len(at_head) + len(added)

        flask_migrate.downgrade(revision=FIRST)
        assert [row[1] for row in rows("content")] == TEXTS + ["with a time", *added]

        flask_migrate.downgrade(revision="base")
        assert not sa.inspect(db.engine).has_table("comments")

        flask_migrate.upgrade()
        insert(content="after a full round trip", posted=exact, author="Ann",
               board_id=boards()[0][0])
        assert rows("content, author") == [(rows("content")[0][0], "after a full round trip", "Ann")]
        db.session.remove()
        db.engine.dispose()


def test_models_and_migrations_do_not_drift(empty_database):
    app = make_app(empty_database)
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        db.engine.dispose()


def test_flask_db_check_reports_no_pending_changes(empty_database):
    app = make_app(empty_database)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()


def test_index_serves_newest_first_listing(empty_database):
    app = make_app(empty_database)
    with app.app_context():
        flask_migrate.upgrade()
        indexes = sa.inspect(db.engine).get_indexes("comments")
        assert {"name": "ix_comments_posted_id", "columns": ["posted", "id"]} in [
            {"name": index["name"], "columns": index["column_names"]} for index in indexes
        ]
        db.engine.dispose()
