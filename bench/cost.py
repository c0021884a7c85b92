"""CPU time per request, in process: the board's own cost without sockets, gunicorn or wrk.

    .venv/bin/python -m bench.cost --size 1000 --requests 3000

Seeds an SQLite board (as bench.run does; `--database postgresql` or `mariadb` for a server that
bench.databases starts), builds the app as production does, and calls the WSGI app directly for
each endpoint, measuring process CPU time (time.process_time) per request, and wall time, which
on PostgreSQL and MariaDB also holds the server's work. The ceiling app is measured the same way.
CPU time, unlike wall time and req/s, barely moves when other programs share the machine, so this
is the tool for comparing one code change with another on a busy machine; bench.run's wrk figures
are the ones the targets are judged by. Each run starts a new database server: compare two sizes
with bench.run, which serves them together, rather than with two runs of this.
"""

import argparse
import gc
import html
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

from werkzeug.test import Client, EnvironBuilder

from .run import limiter_env
from .seed import seed

HTMX = {"HX-Request": "true"}


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql", "mariadb"])
    parser.add_argument("--requests", type=int, default=3000, help="per endpoint and round (3000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is kept (3)")
    parser.add_argument("--freeze", action="store_true", help="gc.freeze() once the app is loaded")
    parser.add_argument("--flat", dest="threaded", action="store_false",
                        help="seed without replies (default: a third replies, as bench.run)")
    parser.add_argument("--endpoints", default="ceiling,page,older,poll,post_htmx,post_plain")
    parser.add_argument("--post-text", default="Cost",
                        help="what each post says, before its mode and number (Cost: under the 20 "
                             "characters from which screening looks for a repeat)")
    parser.add_argument("--accept-language", default="en",
                        help="the Accept-Language every request sends (the page's language)")
    parser.add_argument("--untranslated", action="store_true",
                        help="templates with Jinja's null translations (no Flask-Babel lookups, "
                             "no Vary): the baseline for what translation costs a page")
    return parser.parse_args(argv)


def call(app, environ):
    status = []
    body = app(dict(environ, **{"wsgi.input": environ["wsgi.input"].__class__(environ["_body"])}),
               lambda s, h, e=None: status.append(s))
    try:
        size = sum(len(chunk) for chunk in body)
    finally:
        if hasattr(body, "close"):
            body.close()
    return int(status[0].split()[0]), size


def environ_for(method, path, headers=None, body=""):
    environ = EnvironBuilder(path=path, method=method, headers=headers or {},
                             data=body.encode() if body else None,
                             content_type="application/x-www-form-urlencoded" if body else None,
                             base_url="http://127.0.0.1:8000").get_environ()
    environ["_body"] = body.encode()
    return environ


def measure(app, environ, expected, requests, rounds):
    for _ in range(50):  # warm caches: templates, statement cache, pool
        status, size = call(app, environ)
    if status != expected:
        raise RuntimeError(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}: {status}, not {expected}")
    per_round, walls = [], []
    for _ in range(rounds):
        start, began = time.process_time(), time.perf_counter()
        for _ in range(requests):
            call(app, environ)
        per_round.append((time.process_time() - start) / requests)
        walls.append((time.perf_counter() - began) / requests)
    return min(per_round), statistics.median(per_round), size, statistics.median(walls)


def main(argv=None):
    args = parse(argv)
    if args.database != "sqlite":
        from .databases import Databases

        with Databases() as databases:
            run(args, databases.url(args.database), databases)
        return
    folder = Path(tempfile.mkdtemp(prefix="board-cost-"))
    try:
        run(args, f"sqlite:///{folder / 'board.sqlite'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(args, url, databases=None):
    seeded = seed(url, args.size, threaded=args.threaded)
    if databases is not None:  # as bench.run: no flush left over from the bulk load meanwhile
        from .cpu import wait_for_idle

        databases.settle(url)
        wait_for_idle(databases.pids(), patience=120)
    # Settings as bench.run passes them to gunicorn's environment; overrides here, because
    # board/config.py read the environment when bench.seed imported it.
    overrides = {"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": url,
                 "BOARD_POST_LIMIT": limiter_env()["BOARD_POST_LIMIT"], "RATELIMIT_ENABLED": True}
    from bench.ceiling import app as ceiling
    from board import create_app

    board = create_app("production", overrides)
    if args.untranslated:
        from board import languages

        board.jinja_env.install_null_translations(newstyle=True)
        board.after_request_funcs[None].remove(languages.vary)
    if args.freeze:
        gc.collect()
        gc.freeze()
    # A browser's first visit: the session cookie and the csrf token bound to it.
    client = Client(board)
    first = client.get("/")
    cookie = first.headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', first.get_data(as_text=True)).group(1)
    poller = re.search(r'<div id="poller"[^>]*?hx-get="([^"]+)"', first.get_data(as_text=True), re.S)
    poll = html.unescape(poller.group(1)) if poller else f"/comments?after={seeded['newest']}"
    browser = {"Cookie": cookie, "Accept-Language": args.accept_language}
    counter = iter(range(10**9))
    cases = {
        "ceiling": (ceiling, lambda: environ_for("GET", "/"), 200),
        "page": (board, lambda: environ_for("GET", "/", browser), 200),
        "older": (board, lambda: environ_for("GET", f"/comments?before={seeded['deep']}",
                                             browser | HTMX), 200),
        "poll": (board, lambda: environ_for("GET", poll, browser | HTMX), 204),
    }
    print(f"{'endpoint':12} {'best µs':>9} {'median µs':>10} {'bytes':>8} {'wall µs':>9}   (CPU per "
          f"request, and wall time's median; {args.database}, {args.size:,} comments, "
          f"{args.requests} requests x {args.rounds} rounds{', gc frozen' if args.freeze else ''})")
    for name in args.endpoints.split(","):
        if name.startswith("post"):
            mode = name.removeprefix("post_")
            headers = browser | (HTMX if mode == "htmx" else {})
            expected = 201 if mode == "htmx" else 303
            # Each post distinct: one environ per request, built outside the timed loop.
            environs = [environ_for("POST", "/comments", headers,
                                    f"csrf_token={quote(token)}&author=cost&content="
                                    f"{quote_plus(f'{args.post_text} {mode} {next(counter)}')}")
                        for _ in range(args.requests * args.rounds + 50)]
            results = []
            for _ in range(50):
                status, _ = call(board, environs.pop())
            if status != expected:
                raise RuntimeError(f"{name}: {status}, not {expected}")
            walls = []
            for _ in range(args.rounds):
                start, began = time.process_time(), time.perf_counter()
                for _ in range(args.requests):
                    call(board, environs.pop())
                results.append((time.process_time() - start) / args.requests)
                walls.append((time.perf_counter() - began) / args.requests)
            rounds = ", ".join(f"{result * 1e6:.0f}" for result in results)
            print(f"{name:12} {min(results) * 1e6:9.0f} {statistics.median(results) * 1e6:10.0f} "
                  f"{'':8} {statistics.median(walls) * 1e6:9.0f}   (CPU of the rounds in order: "
                  f"{rounds}; wall: {', '.join(f'{wall * 1e6:.0f}' for wall in walls)})")
            continue
        app, make, expected = cases[name]
        best, median, size, wall = measure(app, make(), expected, args.requests, args.rounds)
        print(f"{name:12} {best * 1e6:9.0f} {median * 1e6:10.0f} {size:8} {wall * 1e6:9.0f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
