"""Seed a board to N comments, fast.

The schema comes from the project's migrations (`flask_migrate.upgrade()` inside
`board.create_app(...)`, as tests/conftest.py does); the rows go in through the driver in bulk:
`executemany` in one transaction per batch on SQLite, `COPY ... FROM STDIN` on PostgreSQL and
multi-row `INSERT`s on MariaDB. Never one ORM object per row.

    .venv/bin/python -m bench.seed sqlite:////tmp/board.sqlite 100000 [--flat] [--boards B]

The rows are oldest first, `STEP` apart, ending an hour before now, so a comment posted during
the benchmark is always the newest; ids are 1..N in that order (the id counter is then moved to
N, as an import does). Content is 20 to 300 characters of distinct text per row, and its HTML
is what board/markup.py makes of it, `<p>text</p>` (checked against `markup.render` before
each seed: the text holds no Markdown).

The shape (`Shape`), the same recipe at every size, from one seeded random generator:

- A third of the rows (N // 3) are replies, the rest start threads. Every reply is posted after
  its thread's first comment, so it also has the higher id; 30 % of the replies that have an
  earlier reply in their thread answer one of those (parent_id = that reply), the rest answer
  the thread's first comment. Each reply's delay after its thread starts is exponential with a
  mean of 100 threads started meanwhile (about 17 minutes at 7 s a row), cut to the time left.
- The newest 50 threads, the board's first page, follow `FRONT`, the same at every size: 21 of
  them have replies, 8 more than 3 (500, 150, 80, 40, 12, 6, 5, 4), so the page shows 50 threads,
  45 replies and 8 "Show N more replies" at every size. When FRONT is more than half of the
  reply budget (1,000 comments: 333 replies) its threads above 3 are scaled down to fit, never
  to 3 or fewer (500 becomes 102 at 1,000 comments), so the page still renders the same.
- The older threads: a fraction of them, set so the replies add up to N // 3, have replies;
  their sizes follow P(size >= k) = 1/k up to 500 (half of them have one reply, 1 in 100 has
  100 or more, 1 in 500 has exactly 500). The draws' total is then trimmed or topped up at
  random threads to the budget. At 1,000,000 comments: 666,667 threads, 47,620 of them (7 %)
  with replies, 513 with 100 or more, 115 with 500; 85,668 replies answer another reply.

`replies` on each thread's first comment is its number of replies (all visible), written with
the row; seed() checks the counts, the parents and the order against the rows afterwards.
`--flat` seeds the board as before replies existed: N first comments, no replies.

Boards (board.models.Board): by default every row goes to the default board ("main", which the
migrations make); `boards=[slug, ...]` (`--boards B`: B boards) seeds N comments on each board
named, the same shape on every board, interleaved in time: the i-th comment of every board, in
the order named, then the (i+1)-th, so every board is active over the whole history and ids and
times are global (board b's i-th comment is number i * B + b + 1). A board named that the
migrations did not make is made (open, titled after its slug); each board's row gets its count of
visible comments (N) and its last activity (its newest comment's time), as the writes keep them,
and seed() checks both against the rows. `slugs(B)` names B boards for the many-boards
benchmark (bench/many.py).
"""

import io
import random
import time
from datetime import datetime, timedelta, timezone

import flask_migrate

import sqlalchemy as sa

from board import create_app, markup, models
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

COLUMNS = ("id", "board_id", "content", "author", "posted", "parent_id", "thread_id", "replies",
           "html")
DEFAULT_SLUG = "main"  # the default board's slug (BOARD_DEFAULT_SLUG unless set)
REPLIES_MAX = 500
# Replies of the newest 50 threads, newest thread first: the first page, the same at every size.
FRONT = (2, 0, 1, 0, 500, 0, 3, 0, 0, 6, 1, 0, 150, 0, 0, 2, 0, 12, 0, 1, 0, 0, 40, 0, 1,
         0, 0, 5, 0, 0, 2, 0, 0, 1, 0, 0, 80, 0, 0, 3, 0, 1, 0, 0, 4, 0, 0, 2, 0, 1)
REPLY_TO_REPLY = 0.3
LIFE = 100.0  # mean delay of a reply after its thread's first comment, in threads started meanwhile
# The older page (bench/endpoints.py) starts after this many threads from the oldest one.
DEEP = 55


def text_pool(size=1009):
    rng = random.Random(5)
    pool = []
    for _ in range(size):
        words = rng.choice([3, 6, 10, 16, 24, 36, 48])
        text = " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."
        pool.append(text)
    assert all(set(text) <= SAFE for text in pool)
    return pool


def html_of(content):
    """What board/markup.py stores for the generated text: one paragraph, nothing to escape."""
    return f"<p>{content}</p>"


def check_html(pool):
    for text in pool:
        for suffix in (" #0", " #999999"):
            if markup.render(text + suffix) != html_of(text + suffix):
                raise RuntimeError(f"board.markup renders {text + suffix!r} as "
                                   f"{markup.render(text + suffix)!r}, not as bench.seed writes it")


def draw(rng):
    """A thread size with P(size >= k) = 1/k, at most REPLIES_MAX."""
    return min(REPLIES_MAX, int(1 / (1.0 - rng.random())))


class Shape:
    """The board's threads: how many replies each gets and when, and the rows in posting order."""

    def __init__(self, n, threaded=True, seed=7):
        self.n = n
        self.rng = random.Random(seed)
        self.replies = n // 3 if threaded and n >= 3 else 0
        self.sizes = self.thread_sizes(n - self.replies, self.replies)
        self.first = [0] * len(self.sizes)  # each thread's first comment's id, once its row is made
        self.reply_to_reply = 0

    def thread_sizes(self, threads, replies):
        """Replies per thread, oldest thread first, adding up to `replies` exactly."""
        sizes = [0] * threads
        if not replies:
            return sizes
        rng = self.rng
        front = list(FRONT[:threads])
        if 2 * sum(front) > replies:  # a small board: the front's large threads, scaled down
            scale = replies / 2 / sum(front)
            front = [size if size <= 3 else max(4, round(size * scale)) for size in front]
        while sum(front) > replies:  # only on boards of a few dozen comments
            front[front.index(max(front))] -= 1
        for i, size in enumerate(front):
            sizes[threads - 1 - i] = size
        budget = replies - sum(front)
        older = threads - len(front)
        mean = sum(1 / k for k in range(1, REPLIES_MAX + 1))  # of draw(): 6.79
        total = 0
        for t in range(older):
            if rng.random() < budget / (older * mean):
                sizes[t] = draw(rng)
                total += sizes[t]
        older = older or threads  # a board of 50 threads or fewer: top up the front itself
        while total > budget:
            t = rng.randrange(older)
            cut = min(sizes[t], total - budget)
            sizes[t] -= cut
            total -= cut
        while total < budget:
            t = rng.randrange(older)
            add = min(draw(rng), REPLIES_MAX - sizes[t], budget - total)
            sizes[t] += add
            total += add
        assert sum(sizes) == replies and max(sizes) <= REPLIES_MAX
        return sizes

    def order(self):
        """(thread, is_reply) for every row, in posting order. Thread t starts at time t; each of
        its replies comes a positive delay later, before the last thread's time is up."""
        threads = len(self.sizes)
        rng = self.rng
        replies = []
        for t, size in enumerate(self.sizes):
            room = threads - t
            for _ in range(size):
                delay = rng.expovariate(1 / LIFE)
                if delay >= room:
                    delay = room * (1.0 - rng.random())
                replies.append((t + delay, t))
        replies.sort()
        r = 0
        for t in range(threads):
            yield t, False
            # Replies due before the next thread starts; a reply at exactly t (a delay too small
            # for a float to show) still comes after thread t's first comment, yielded above.
            while r < len(replies) and replies[r][0] < t + 1:
                yield replies[r][1], True
                r += 1
        for _, t in replies[r:]:
            yield t, True

    def structure(self):
        """(thread's first id or None, parent id or None, replies) for every comment of one
        board, oldest first, in the board's own numbering (1..n)."""
        rng = self.rng
        said = {}  # thread: ids of its replies so far (dropped once the thread is complete)
        for i, (thread, is_reply) in enumerate(self.order()):
            id_ = i + 1
            if not is_reply:
                self.first[thread] = id_
                yield None, None, self.sizes[thread]
                continue
            thread_id = self.first[thread]
            earlier = said.setdefault(thread, [])
            parent = thread_id
            if earlier and rng.random() < REPLY_TO_REPLY:
                parent = earlier[int(rng.random() * len(earlier))]
                self.reply_to_reply += 1
            earlier.append(id_)
            if len(earlier) == self.sizes[thread]:
                del said[thread]
            yield thread_id, parent, 0

    def rows(self, end=None, board_ids=(1,)):
        """(id, board_id, content, author, posted, parent_id, thread_id, replies, html) for every
        comment of every board in `board_ids` (this shape on each), oldest first, the boards
        interleaved: the i-th comment of each board in turn. Posted as
        'YYYY-MM-DD HH:MM:SS.ffffff' UTC."""
        end = end or self.end()
        boards = len(board_ids)
        start = self.start(end, boards)
        pool = text_pool()
        structure = self.structure()
        if boards > 1:  # each board's rows are made from the same structure: keep it
            structure = list(structure)
        for i, (thread_id, parent, replies) in enumerate(structure):
            for b, board_id in enumerate(board_ids):
                g = i * boards + b  # the comment's place in the whole history
                content = f"{pool[g % 1009]} #{g}"
                yield (g + 1, board_id, content, AUTHORS[g % 18],
                       (start + STEP * g).isoformat(" ", "microseconds"),
                       parent and global_id(parent, b, boards),
                       thread_id and global_id(thread_id, b, boards), replies, html_of(content))

    @staticmethod
    def end():
        return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)

    def start(self, end, boards=1):
        """The first comment's time (naive UTC): the comments are STEP apart, the last at `end`."""
        return (end - STEP * (self.n * boards - 1)).replace(tzinfo=None)

    def summary(self):
        sizes = self.sizes
        front = sizes[::-1][:len(FRONT)]
        return {
            "threads": len(sizes), "replies": self.replies,
            "reply_to_reply": self.reply_to_reply,
            "threads_with_replies": sum(1 for size in sizes if size),
            "threads_100_plus": sum(1 for size in sizes if size >= 100),
            "threads_at_max": sum(1 for size in sizes if size == REPLIES_MAX),
            "largest": max(sizes, default=0),
            "front": front,  # replies of the newest threads, newest first
            # The older page's cursor: DEEP threads are older than it (a full page and more).
            "deep": self.first[DEEP] if len(sizes) > DEEP else None,
        }


def global_id(local, board, boards):
    """The id of board `board`'s comment number `local` (1..n) when `boards` boards interleave."""
    return (local - 1) * boards + board + 1


def slugs(boards):
    """The slugs of `boards` boards for bench/many.py: board-0001, board-0002, ..."""
    return [f"board-{b:04d}" for b in range(1, boards + 1)]


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


def insert_sqlite(connection, rows):
    statement = f"INSERT INTO comments ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    for batch in batches(rows, SQLITE_BATCH):
        connection.executemany(statement, batch)
        connection.commit()
    connection.execute("ANALYZE")
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def copy_field(value):
    return "\\N" if value is None else str(value)


def insert_postgresql(connection, rows):
    with connection.cursor() as cursor:
        for batch in batches(rows, COPY_BATCH):
            buffer = io.StringIO()
            for row in batch:
                buffer.write("\t".join(map(copy_field, row)))
                buffer.write("\n")
            buffer.seek(0)
            cursor.copy_expert(f"COPY comments ({', '.join(COLUMNS)}) FROM STDIN", buffer)
            connection.commit()
    # A live board has statistics and a visibility map; give the seeded one the same.
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE comments")
        cursor.execute("VACUUM ANALYZE boards")
    connection.autocommit = False


def sql_literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return f"'{value}'"


def insert_mysql(connection, rows):
    # The generated text holds only SAFE characters (and its HTML only <p> besides), so literal
    # values need no escaping; the connector's own executemany formats each row in Python and is
    # several times slower.
    cursor = connection.cursor()
    for batch in batches(rows, MYSQL_BATCH):
        values = ",".join(f"({','.join(map(sql_literal, row))})" for row in batch)
        cursor.execute(f"INSERT INTO comments ({', '.join(COLUMNS)}) VALUES {values}")
        connection.commit()
    cursor.execute("ANALYZE TABLE comments, boards")
    cursor.fetchall()
    cursor.close()


INSERTERS = {"sqlite": insert_sqlite, "postgresql": insert_postgresql,
             "mysql": insert_mysql, "mariadb": insert_mysql}

# Each counts rows that break the shape's promises; all must be 0.
CHECKS = {
    "threads whose replies count differs from their rows": """
        SELECT COUNT(*) FROM comments t
        LEFT JOIN (SELECT thread_id, COUNT(*) AS n FROM comments
                   WHERE thread_id IS NOT NULL GROUP BY thread_id) r ON r.thread_id = t.id
        WHERE t.thread_id IS NULL AND t.replies <> COALESCE(r.n, 0)""",
    "replies whose thread is not an earlier first comment": """
        SELECT COUNT(*) FROM comments r LEFT JOIN comments t ON t.id = r.thread_id
        WHERE r.thread_id IS NOT NULL
          AND (t.id IS NULL OR t.thread_id IS NOT NULL OR t.posted >= r.posted OR t.id >= r.id)""",
    "replies whose parent is not an earlier comment of their thread": """
        SELECT COUNT(*) FROM comments r LEFT JOIN comments p ON p.id = r.parent_id
        WHERE r.thread_id IS NOT NULL
          AND (p.id IS NULL OR p.posted >= r.posted OR p.id >= r.id
               OR NOT (p.id = r.thread_id OR p.thread_id = r.thread_id))""",
    "first comments with a parent": """
        SELECT COUNT(*) FROM comments WHERE thread_id IS NULL AND parent_id IS NOT NULL""",
    "replies on another board than their thread or parent": """
        SELECT COUNT(*) FROM comments r
        JOIN comments t ON t.id = r.thread_id JOIN comments p ON p.id = r.parent_id
        WHERE r.board_id <> t.board_id OR r.board_id <> p.board_id""",
    "comments on no board": """
        SELECT COUNT(*) FROM comments c LEFT JOIN boards b ON b.id = c.board_id
        WHERE b.id IS NULL""",
    "boards whose count or last activity differs from their rows": """
        SELECT COUNT(*) FROM boards b
        LEFT JOIN (SELECT board_id, COUNT(*) AS n, MAX(posted) AS last FROM comments
                   WHERE state = 'visible' GROUP BY board_id) c ON c.board_id = b.id
        WHERE b.comments <> COALESCE(c.n, 0) OR b.last_activity <> COALESCE(c.last, b.last_activity)""",
}


def make_boards(slugs, n, shape, end):
    """The boards' rows, as the writes would have left them after the seeded comments: their
    count of visible comments (n) and last activity (their newest comment's time). The default
    board exists already (the migrations make it); the others are made. {slug: id}."""
    boards = len(slugs)
    start = shape.start(end, boards)
    utc = lambda naive: naive.replace(tzinfo=timezone.utc)
    rows = {slug: {"slug": slug, "title": "Comments" if slug == DEFAULT_SLUG else slug.title(),
                   "state": "open", "comments": n if n else 0,
                   "created": utc(start + STEP * b),
                   "last_activity": utc(start + STEP * ((n - 1) * boards + b)) if n else None}
            for b, slug in enumerate(slugs)}
    table = models.BOARDS
    existing = set(db.session.scalars(sa.select(table.c.slug).where(table.c.slug.in_(slugs))))
    for slug in existing:  # the default board, made by the migrations
        db.session.execute(sa.update(table).where(table.c.slug == slug).values(
            comments=rows[slug]["comments"],
            **({"last_activity": rows[slug]["last_activity"]} if n else {})))
    new = [rows[slug] for slug in slugs if slug not in existing]
    for row in new:
        row["last_activity"] = row["last_activity"] or row["created"]
    if new:
        db.session.execute(sa.insert(table), new)
    ids = dict(db.session.execute(sa.select(table.c.slug, table.c.id)
                                  .where(table.c.slug.in_(slugs))).all())
    db.session.commit()
    return ids


def seed(url, n, threaded=True, boards=None, measured=None):
    """Migrate an empty database at `url` and fill it with n comments, a third of them replies
    unless `threaded` is false: on the default board, or n on each board of `boards` (slugs),
    interleaved in time (the module's docstring).

    Returns {"oldest": id, "newest": id, "count": all comments, "migrate_s": ..., "insert_s":
    ..., "check_s": ..., the shape's summary, and for board `measured` (the first board unless
    given): "slug", "board_id", "deep" (the older page's cursor on it) and "board_newest" (its
    newest comments' ids, newest first)}.
    """
    slugs = list(boards or [DEFAULT_SLUG])
    measured = measured or slugs[0]
    if measured not in slugs:
        raise ValueError(f"board {measured!r} is not among the boards seeded")
    began = time.perf_counter()
    app = migrate(url)
    migrated = time.perf_counter()
    check_html(text_pool())
    shape = Shape(n, threaded)
    end = shape.end()
    with app.app_context():
        dialect = db.engine.dialect
        check_posted_format(dialect)
        board_ids = make_boards(slugs, n, shape, end)
        raw = db.engine.raw_connection()
        try:
            INSERTERS[dialect.name](raw.driver_connection,
                                    shape.rows(end, [board_ids[slug] for slug in slugs]))
        finally:
            raw.close()
        inserted = time.perf_counter()
        with db.engine.connect() as connection:
            oldest, newest, count = connection.exec_driver_sql(
                "SELECT MIN(id), MAX(id), COUNT(*) FROM comments"
            ).one()
            broken = {name: connection.exec_driver_sql(sql).scalar()
                      for name, sql in CHECKS.items()}
        checked = time.perf_counter()
        # The rows carry their own ids: the board's posts must come after them.
        models.advance_ids(newest or 0)
        # And each board's newest id, as the posts would have left it (one index probe each).
        table = models.BOARDS
        db.session.execute(sa.update(table).where(table.c.slug.in_(slugs)).values(
            last_id=sa.select(sa.func.max(models.TABLE.c.id))
            .where(models.TABLE.c.board_id == table.c.id).scalar_subquery()))
        db.session.commit()
        db.engine.dispose()
    if count != n * len(slugs):
        raise RuntimeError(f"seeded {count} comments, wanted {n * len(slugs)}")
    if any(broken.values()):
        raise RuntimeError(f"the seeded board breaks its shape: {broken}")
    summary = shape.summary()
    b, total = slugs.index(measured), len(slugs)
    if summary["deep"] is None:  # fewer threads than an older page needs: as flat boards did
        summary["deep"] = DEEP + 1
    summary["deep"] = global_id(summary["deep"], b, total)
    return {"oldest": oldest, "newest": newest, "count": count, "threaded": threaded,
            "boards": total, "per_board": n, "slug": measured, "board_id": board_ids[measured],
            "board_newest": [global_id(local, b, total) for local in range(n, max(0, n - 10), -1)],
            "migrate_s": migrated - began, "insert_s": inserted - migrated,
            "check_s": checked - inserted, **summary}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.seed",
                                     description="Seed an empty database (migrated here).")
    parser.add_argument("url", help="DATABASE_URL of an empty database")
    parser.add_argument("n", type=int, help="comments (per board)")
    parser.add_argument("--flat", dest="threaded", action="store_false", help="no replies")
    parser.add_argument("--boards", type=int, default=0,
                        help="seed B boards (board-0001...) of N comments each; default: N "
                             "comments on the default board")
    args = parser.parse_args()
    result = seed(args.url, args.n, threaded=args.threaded,
                  boards=slugs(args.boards) if args.boards else None)
    result["front"] = " ".join(map(str, result["front"]))
    print(result)
