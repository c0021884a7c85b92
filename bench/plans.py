"""What the board's statements cost the database on a seeded board: the statements a request
sends (counted), and each read's plan with the indexes it uses and the rows it reads.

    .venv/bin/python -m bench.plans DATABASE_URL SLUG   (a seeded database, bench.seed)

The statements are the app's own: a request is made with Flask's test client and every
statement SQLAlchemy sends is caught (`before_cursor_execute`, as tests/test_query_count.py
counts them), then explained with its own parameters:

- SQLite: `EXPLAIN QUERY PLAN` (which indexes; SQLite reports no row counts), and the
  statement's median time over repeated runs;
- PostgreSQL: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`: the indexes of the scan nodes, the rows
  they read (rows returned plus rows removed by a filter, times loops), the buffers, the time;
- MariaDB: `ANALYZE FORMAT=JSON` for the indexes, and the session's `Handler_read_%` counters
  around one run: every row read through an index or a scan.
"""

import json
import re
import statistics
import sys
import time

from sqlalchemy import event

from board import create_app
from board.extensions import db

HTMX = {"HX-Request": "true"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
POLLER = re.compile(r'<div id="poller"[^>]*?hx-get="([^"]+)"', re.S)
PING = re.compile(r"\s*SELECT 1\s*", re.IGNORECASE)
TIMED = 20  # runs of a statement for its median time


class Caught:
    """Every statement the app's engine sends inside the block, with its parameters."""

    def __init__(self, engine):
        self.engine, self.sent = engine, []

    def record(self, conn, cursor, statement, parameters, context, executemany):
        if not PING.fullmatch(statement):
            self.sent.append((statement, parameters))

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self.record)
        return self.sent

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self.record)


def requests(app, slug, deep):
    """{name: (status, [(statement, parameters), ...])} for the board's page, an older page, the
    idle poll, a poll with news and /boards, each made once before (warming caches) and once
    counted. The poll's cursors are the page's own (its #poller)."""
    prefix = f"/b/{slug}"
    client = app.test_client()
    page = client.get(prefix)
    if page.status_code != 200:
        raise RuntimeError(f"GET {prefix} answered {page.status_code}")
    poll = POLLER.search(page.text).group(1).replace("&amp;", "&")
    after = int(re.search(r"after=(\d+)", poll).group(1))
    with app.app_context():
        engine = db.engine
        newest = db.session.execute(db.text(
            "SELECT id FROM comments WHERE board_id = (SELECT id FROM boards WHERE slug = :slug) "
            "ORDER BY id DESC LIMIT 6"), {"slug": slug}).scalars().all()
    wanted = {
        "page": (prefix, {}),
        "older": (f"{prefix}/comments?before={deep}", HTMX),
        "poll": (poll, HTMX),
        "poll_news": (poll.replace(f"after={after}", f"after={newest[-1]}"), HTMX),
        "boards": ("/boards", {}),
    }
    found = {}
    for name, (path, headers) in wanted.items():
        client.get(path, headers=headers)
        with Caught(engine) as sent:
            response = client.get(path, headers=headers)
        found[name] = (response.status_code, sent)
    return found


def post(app, slug):
    """One htmx post on the board: (status, statements)."""
    client = app.test_client()
    page = client.get(f"/b/{slug}")
    token = TOKEN.search(page.text).group(1)
    with app.app_context():
        engine = db.engine
    with Caught(engine) as sent:
        response = client.post(f"/b/{slug}/comments", headers=HTMX,
                               data={"csrf_token": token, "content": "Counted post " + str(time.time()),
                                     "author": "plans"})
    return response.status_code, sent


def explain(connection, dialect, statement, parameters):
    """{"plan": text lines, "indexes": [...], "rows": rows read or None, "ms": ...}."""
    cursor = connection.cursor()
    try:
        if dialect == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            lines = [row[3] for row in cursor.fetchall()]
            times = []
            for _ in range(TIMED):
                began = time.perf_counter()
                cursor.execute(statement, parameters)
                cursor.fetchall()
                times.append(time.perf_counter() - began)
            return {"plan": lines, "ms": statistics.median(times) * 1000, "rows": None,
                    "indexes": sorted(set(re.findall(r"INDEX (\w+)", " ".join(lines))))}
        if dialect == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
            document = cursor.fetchone()[0]
            document = document if isinstance(document, list) else json.loads(document)
            top = document[0]
            nodes = list(walk(top["Plan"]))
            read = sum((node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                        + node.get("Rows Removed by Index Recheck", 0)) * node.get("Actual Loops", 1)
                       for node in nodes if "Scan" in node["Node Type"])
            cursor.execute("EXPLAIN " + statement, parameters)
            lines = [row[0] for row in cursor.fetchall()]
            return {"plan": lines, "ms": top["Execution Time"], "planning_ms": top["Planning Time"],
                    "rows": read,
                    "buffers": top["Plan"].get("Shared Hit Blocks", 0) + top["Plan"].get("Shared Read Blocks", 0),
                    "indexes": sorted({node["Index Name"] for node in nodes if "Index Name" in node}),
                    "seq_scans": sorted({node["Relation Name"] for node in nodes
                                         if node["Node Type"] == "Seq Scan"})}
        # MariaDB
        cursor.execute("ANALYZE FORMAT=JSON " + statement, parameters)
        document = json.loads(cursor.fetchone()[0])
        text = json.dumps(document)
        cursor.execute("FLUSH STATUS")
        began = time.perf_counter()
        cursor.execute(statement, parameters)
        cursor.fetchall()
        elapsed = time.perf_counter() - began
        cursor.execute("SHOW SESSION STATUS LIKE 'Handler_read%'")
        handler = {name: int(value) for name, value in cursor.fetchall()}
        return {"plan": [line for line in json.dumps(document, indent=1).splitlines()
                         if re.search(r'"(table_name|access_type|key|r_rows|r_loops|rows|filesort|'
                                      r'temporary_table|using_index)"', line)],
                "ms": elapsed * 1000, "rows": sum(handler.values()), "handler": handler,
                "indexes": sorted(set(re.findall(r'"key": "(\w+)"', text))),
                "full_scans": sorted(set(re.findall(r'"table_name": "(\w+)", "access_type": "ALL"',
                                                    text)))}
    finally:
        cursor.close()


def walk(node):
    yield node
    for child in node.get("Plans", ()):
        yield from walk(child)


def short(statement):
    text = " ".join(statement.split())
    return text if len(text) <= 160 else text[:157] + "..."


def measure(url, slug, deep):
    """The statements of each request on board `slug` and each statement's plan."""
    app = create_app("testing", {"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    found = requests(app, slug, deep)
    report = {}
    with app.app_context():
        dialect = db.engine.dialect.name
        raw = db.engine.raw_connection()
        try:
            for name, (status, sent) in found.items():
                report[name] = {"status": status, "statements": [
                    {"sql": short(statement), **explain(raw.driver_connection,
                                                         "mariadb" if dialect == "mysql" else dialect,
                                                         statement, parameters)}
                    for statement, parameters in sent]}
                raw.driver_connection.rollback()
        finally:
            raw.close()
        db.engine.dispose()
    return report


def count_post(url, slug):
    app = create_app("testing", {"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    status, sent = post(app, slug)
    with app.app_context():
        db.engine.dispose()
    return {"status": status, "statements": [short(statement) for statement, _ in sent]}


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python -m bench.plans DATABASE_URL SLUG DEEP_CURSOR")
    print(json.dumps(measure(sys.argv[1], sys.argv[2], int(sys.argv[3])), indent=1))
