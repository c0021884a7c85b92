"""Seed a board to N comments, fast.

The schema comes from the project's migrations (`flask_migrate.upgrade()` inside
`board.create_app(...)`, as tests/conftest.py does); the rows go in through the driver in bulk:
`executemany` in one transaction per batch on SQLite, `COPY ... FROM STDIN` on PostgreSQL and
multi-row `INSERT`s on MariaDB. Never one ORM object per row.

    .venv/bin/python -m bench.seed sqlite:////tmp/board.sqlite 100000

The rows are oldest first, `STEP` apart, ending an hour before now, so a comment posted during
the benchmark is always the newest. Content is 20 to 300 characters of distinct text per row.
"""

import io
import random
import sys
import time
from datetime import datetime, timedelta, timezone

import flask_migrate

from board import create_app, models
from board.extensions import db
from board.transfer import batches

STEP = timedelta(seconds=7)
SQLITE_BATCH = 50_000
COPY_BATCH = 100_000
MYSQL_BATCH = 5_000

WORDS = (
    "the a board comment post reply thanks agree disagree think maybe really good great idea "
    "question answer link page time day week today yesterday tomorrow people everyone here there "
    "about because when where which while with without again still never always often some many "
    "small large fast slow first last next older newer read write python flask htmx server"
).split()
AUTHORS = ["Ada", "Grace", "Linus", "Guido", "Barbara", "Ken", "Margaret", "Dennis", "Frances",
           "Edsger", "Radia", "Alan", "Katherine", "Donald", "Niklaus", "Sophie", "Tim", None]
# Characters the generated text may hold: nothing that needs quoting in SQL or COPY.
SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,#")


def text_pool(size=1009):
    rng = random.Random(5)
    pool = []
    for _ in range(size):
        words = rng.choice([3, 6, 10, 16, 24, 36, 48])
        text = " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."
        pool.append(text)
    assert all(set(text) <= SAFE for text in pool)
    return pool


def rows(n, end=None):
    """(content, author, posted) for n comments, oldest first; posted as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC."""
    end = end or datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    start = (end - STEP * n).replace(tzinfo=None)
    pool = text_pool()
    authors = AUTHORS
    for i in range(n):
        posted = (start + STEP * i).isoformat(" ", "microseconds")
        yield (f"{pool[i % 1009]} #{i}", authors[i % 18], posted)


def migrate(url):
    app = create_app("testing", {"DATABASE_URL": url})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return app


def check_posted_format(dialect):
    """Our strings must be exactly what SQLAlchemy writes, or SQLite's text ordering breaks."""
    moment = datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    column_type = models.Comment.__table__.c.posted.type
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    expected = process(moment) if process else moment
    ours = moment.replace(tzinfo=None).isoformat(" ", "microseconds")
    if dialect.name == "sqlite" and expected != ours:
        raise RuntimeError(f"posted format {ours!r} differs from SQLAlchemy's {expected!r}")


def insert_sqlite(connection, n):
    for batch in batches(rows(n), SQLITE_BATCH):
        connection.executemany(
            "INSERT INTO comments (content, author, posted) VALUES (?, ?, ?)", batch
        )
        connection.commit()
    connection.execute("ANALYZE")
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def insert_postgresql(connection, n):
    with connection.cursor() as cursor:
        for batch in batches(rows(n), COPY_BATCH):
            buffer = io.StringIO()
            for content, author, posted in batch:
                buffer.write(f"{content}\t{author or chr(92) + 'N'}\t{posted}\n")
            buffer.seek(0)
            cursor.copy_expert("COPY comments (content, author, posted) FROM STDIN", buffer)
            connection.commit()
    # A live board has statistics and a visibility map; give the seeded one the same.
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE comments")
    connection.autocommit = False


def insert_mysql(connection, n):
    # The generated text holds only SAFE characters, so literal values need no escaping; the
    # connector's own executemany formats each row in Python and is several times slower.
    cursor = connection.cursor()
    for batch in batches(rows(n), MYSQL_BATCH):
        values = ",".join(
            f"('{content}',{'NULL' if author is None else repr(author)},'{posted}')"
            for content, author, posted in batch
        )
        cursor.execute(f"INSERT INTO comments (content, author, posted) VALUES {values}")
        connection.commit()
    cursor.execute("ANALYZE TABLE comments")
    cursor.fetchall()
    cursor.close()


INSERTERS = {"sqlite": insert_sqlite, "postgresql": insert_postgresql,
             "mysql": insert_mysql, "mariadb": insert_mysql}


def seed(url, n):
    """Migrate an empty database at `url` and fill it with n comments.

    Returns {"oldest": id, "newest": id, "count": n, "migrate_s": ..., "insert_s": ...}.
    """
    began = time.perf_counter()
    app = migrate(url)
    migrated = time.perf_counter()
    with app.app_context():
        dialect = db.engine.dialect
        check_posted_format(dialect)
        raw = db.engine.raw_connection()
        try:
            INSERTERS[dialect.name](raw.driver_connection, n)
        finally:
            raw.close()
        inserted = time.perf_counter()
        with db.engine.connect() as connection:
            oldest, newest, count = connection.exec_driver_sql(
                "SELECT MIN(id), MAX(id), COUNT(*) FROM comments"
            ).one()
        # The rows took the database's own ids: the board's posts must come after them.
        models.advance_ids(newest or 0)
        db.session.commit()
        db.engine.dispose()
    if count != n:
        raise RuntimeError(f"seeded {count} comments, wanted {n}")
    return {"oldest": oldest, "newest": newest, "count": count,
            "migrate_s": migrated - began, "insert_s": inserted - migrated}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m bench.seed DATABASE_URL N   (the database must be empty)")
    print(seed(sys.argv[1], int(sys.argv[2])))
