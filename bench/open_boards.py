"""Many open boards: N browser tabs, each polling its board every 5 s as the page's poller does,
through nginx as deploy/nginx.conf sets it up, in front of gunicorn as deploy/gunicorn.conf.py runs
it, while a writer posts new comments; how long polls take and how soon the tabs show a comment.

    .venv/bin/python -m bench.open_boards --databases postgresql,sqlite --tabs 5000,10000,20000 \\
        --boards 1000 --seconds 40

For each database: a fresh database seeded with `--boards` boards of `--comments` comments each
(bench.seed, the boards interleaved in time), gunicorn with deploy/gunicorn.conf.py (production
config, `--workers` sync workers (its default), the app told it is behind one proxy, BOARD_POLL_FRESH_SECONDS=0
as the deploy sets it behind nginx, the post limit of bench.run: on, and too high to refuse the
writer) and nginx with deploy/nginx.conf, only its host-specific lines changed
(harness.nginx.loopback_site: loopback ports, a self-signed certificate, files in a temporary
folder), a master and one worker per core as a packaged nginx runs. Everything goes over HTTPS.

Each board's page is loaded once through nginx; its session cookie and its poller's URL are what
every tab of that board starts with, as a browser that loaded the page then would have. Tabs are
spread over the boards like a Zipf law (the k-th board gets a share of 1/k^`--zipf`), each
starting at a random moment of the first interval. A tab sends `GET <its poller's URL>` with
`HX-Request: true` and its cookie; a 204 keeps the URL and the next poll comes one interval
after this one was due; a 200 starts with a new poller, whose hx-get is the tab's next URL, and
the next poll comes one interval after the answer (htmx swaps in a new element with a new timer).

The client: one asyncio loop, `--connections` HTTP/1.1 keep-alive connections shared by all tabs
(a browser's tabs of one site share a few connections too; a tab here takes whichever is free, so
a slow server shows as a wait for a connection, which counts in the poll's time: the time of a
poll runs from when it was due to its answer). A writer posts (htmx, 201) to a random board
with tabs, `--post-rate` a second, until two intervals + 3 s before the end: each time a visitor
of its own, who loads the board's page, then posts from its form.

Per level of tabs, after `--warmup` s that are not counted, for `--seconds` s: polls a second,
poll p50/p99/max (due to answer), errors (a failed connection, or any status but 200 and 204),
and for every comment posted, each of its board's tabs' delivery time: when the tab's poll
answer held the comment's id minus when the post was answered (a tab that never showed it counts
as too late); the share within interval + 1 s. Also: how nginx's cache answered the polls (its
access log), how many reached gunicorn, and the CPU of the generator itself, nginx, gunicorn, the
database server and everything else (bench.cpu), and how late the generator's own loop woke up.

Results go to bench/results/<time>-open-boards/ (results.json, open_boards.md); `--docs
docs/benchmarks.md` replaces the table between the `open-boards:begin` and `open-boards:end`
markers there. Every server it starts is stopped at the end, even on error or Ctrl-C; it talks
to 127.0.0.1 only.
"""

import argparse
import asyncio
import heapq
import html
import json
import os
import random
import re
import secrets
import shlex
import ssl
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from harness.gunicorn import ROOT, Gunicorn
from harness.nginx import certificate, find_nginx, loopback_site, nginx
from harness.ports import free_ports
from harness.process import clean_env

from .cpu import TICK, descendants, machine_busy, processes, wait_for_idle, wait_for_quiet
from .databases import Databases
from .report import DIALECT_NAMES, machine, publish
from .run import limiter_env, log, start_run
from .seed import seed, slugs

HOST = "board.example.org"
POLLER = re.compile(rb'<div id="poller"[^>]*?hx-get="([^"]+)"', re.S)
COMMENT_ID = re.compile(rb'id="comment-(\d+)"')
TOKEN = re.compile(rb'name="csrf_token" value="([^"]+)"')
BEGIN = ("<!-- open-boards:begin (written by `python -m bench.open_boards --docs ...`; edit outside "
         "these markers) -->")
END = "<!-- open-boards:end -->"
P99_GOAL_MS, DELIVERY_GOAL = 250, 0.99


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.open_boards", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    ints = lambda text: [int(part.replace("_", "")) for part in text.split(",") if part]
    words = lambda text: [part for part in text.split(",") if part]
    parser.add_argument("--databases", type=words, default=["postgresql", "sqlite"],
                        help="any of sqlite,postgresql,mariadb (postgresql,sqlite)")
    parser.add_argument("--tabs", type=ints, default=[5000, 10000, 20000],
                        help="levels of open tabs, measured in turn (5000,10000,20000)")
    parser.add_argument("--boards", type=int, default=1000, help="boards the tabs open (1000)")
    parser.add_argument("--comments", type=int, default=100, help="comments per board (100)")
    parser.add_argument("--zipf", type=float, default=1.0,
                        help="the k-th board gets a share of tabs of 1/k^zipf (1.0)")
    parser.add_argument("--interval", type=float, default=5.0,
                        help="seconds between a tab's polls, as BOARD_POLL_SECONDS (5)")
    parser.add_argument("--seconds", type=float, default=40, help="measured seconds per level (40)")
    parser.add_argument("--warmup", type=float, default=6,
                        help="seconds of polling before each level is measured (6)")
    parser.add_argument("--post-rate", type=float, default=1.0, help="posts a second (1)")
    parser.add_argument("--connections", type=int, default=500,
                        help="keep-alive connections the tabs share (500)")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                        help="gunicorn sync workers (deploy/gunicorn.conf.py's default: 2 x cores "
                             "+ 1; the idle polls that reach gunicorn wait on the database)")
    parser.add_argument("--nginx-workers", type=int, default=os.cpu_count() or 1,
                        help="nginx worker processes (one per core)")
    parser.add_argument("--site", type=Path, default=ROOT / "deploy" / "nginx.conf",
                        help="the nginx site to put in front (deploy/nginx.conf): a variant of it "
                             "for experiments")
    parser.add_argument("--board-env", action="append", default=[], metavar="NAME=VALUE",
                        type=lambda text: tuple(text.split("=", 1)),
                        help="an extra environment variable for the board; repeatable")
    parser.add_argument("--quiet-wait", type=float, default=15,
                        help="seconds to wait for other work to fall quiet before a level (15)")
    parser.add_argument("--seed", type=int, default=15, help="random seed (15)")
    parser.add_argument("--docs", default="-",
                        help="markdown file whose open-boards:begin/end block to replace ('-': none)")
    args = parser.parse_args(argv)
    args.board_env = dict(args.board_env)
    unknown = set(args.databases) - {"sqlite", "postgresql", "mariadb"}
    if unknown:
        parser.error(f"unknown database(s): {', '.join(sorted(unknown))}")
    if args.seconds <= 2 * args.interval + 4:
        parser.error("--seconds must leave room for a post's delivery: more than 2 intervals + 4")
    return args


def zipf_tabs(tabs, boards, exponent):
    """`tabs` spread over `boards` boards in proportion to 1/k^exponent (largest remainders), so
    the counts add up exactly; the last boards may get none."""
    weights = [1 / (k ** exponent) for k in range(1, boards + 1)]
    total = sum(weights)
    shares = [tabs * w / total for w in weights]
    counts = [int(share) for share in shares]
    for k in sorted(range(boards), key=lambda k: counts[k] - shares[k])[:tabs - sum(counts)]:
        counts[k] += 1
    return counts


def percentile(values, share):
    """The value below which `share` of the sorted `values` lie (nearest rank); None if empty."""
    if not values:
        return None
    return values[min(len(values) - 1, max(0, round(share * len(values)) - 1))]


# --- HTTP/1.1 over TLS, keep-alive ------------------------------------------------------------

class Connection:
    """One keep-alive HTTPS connection to nginx; `request` returns (status, body, keep)."""

    def __init__(self, port, context):
        self.port, self.context = port, context
        self.reader = self.writer = None

    async def request(self, data):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                "127.0.0.1", self.port, ssl=self.context, server_hostname=HOST)
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, keep = 0, False, True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                keep = False
        if chunked:
            body = b""
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        else:
            body = await self.reader.readexactly(length) if length else b""
        if not keep:
            self.close()
        return status, body, keep

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def get(path, cookie=None, htmx=False):
    return (f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: */*\r\n"
            + (f"Cookie: {cookie}\r\n" if cookie else "")
            + ("HX-Request: true\r\n" if htmx else "") + "\r\n").encode()


def post(path, cookie, body):
    return (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nCookie: {cookie}\r\nHX-Request: true\r\n"
            f"Referer: https://{HOST}{path.removesuffix('/comments')}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


async def load_pages(port, context, board_slugs, parallel=8):
    """Each board's page, as a browser's first visit: {slug: (cookie, csrf token, poller URL)}."""
    found, queue = {}, list(board_slugs)

    async def visit():
        while queue:
            slug = queue.pop()
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context,
                                                           server_hostname=HOST)
            writer.write(get(f"/b/{slug}"))
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            body = await reader.readexactly(int(length.group(1))) if length else b""
            writer.close()
            cookie = re.search(rb"(?i)\r\nset-cookie: *(session=[^;\r]+)", head)
            poller, token = POLLER.search(body), TOKEN.search(body)
            if not head.startswith(b"HTTP/1.1 200") or not (cookie and poller and token):
                raise RuntimeError(f"GET /b/{slug} gave no page with a session, a poller and a "
                                   f"form: {head[:300]!r}")
            found[slug] = (cookie.group(1).decode(), token.group(1).decode(),
                           html.unescape(poller.group(1).decode()))

    await asyncio.gather(*(visit() for _ in range(parallel)))
    return found


# --- One level: N tabs polling, a writer posting ----------------------------------------------

class Level:
    def __init__(self, args, port, context, pages, board_slugs, tabs, rng):
        self.args, self.port, self.context = args, port, context
        self.pages, self.slugs = pages, board_slugs
        counts = zipf_tabs(tabs, len(board_slugs), args.zipf)
        self.board_of = [b for b, count in enumerate(counts) for _ in range(count)]
        self.tabs_on = counts
        cookie = [pages[board_slugs[b]][0] for b in self.board_of]
        self.cookie = cookie
        self.request = [get(pages[board_slugs[b]][2], cookie[t], htmx=True)
                        for t, b in enumerate(self.board_of)]
        self.rng = rng
        self.latencies, self.waits, self.statuses, self.failures = [], [], {}, {}
        self.posts = {}  # comment id: {"board", "answered", "seen": {tab: delay}}
        # Comments a tab showed before the writer had its post's answer in hand (a poll served
        # by another worker while the post's answer was on its way): {comment id: {tab: time}}.
        self.early = {}
        self.post_errors, self.post_statuses = 0, {}
        self.loop_lag = []

    def plan(self, now):
        """Each tab's first poll at a random moment of the first interval; the measurement after
        the warm-up."""
        a = self.args
        start = now + 0.5
        self.measure_from = start + a.warmup
        self.measure_to = self.measure_from + a.seconds
        self.due = [start + self.rng.random() * a.interval for _ in self.board_of]
        self.heap = [(due, tab) for tab, due in enumerate(self.due)]
        heapq.heapify(self.heap)

    async def run(self):
        a = self.args
        self.queue = asyncio.Queue()
        workers = [asyncio.create_task(self.worker()) for _ in range(a.connections)]
        helpers = [asyncio.create_task(self.writer()), asyncio.create_task(self.ticker())]
        await self.scheduler()
        for _ in workers:
            self.queue.put_nowait(None)
        await asyncio.gather(*workers)
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)

    async def scheduler(self):
        """Hand each tab to the connections when its poll is due, until the level ends."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if now >= self.measure_to:
                return
            while self.heap and self.heap[0][0] <= now:
                self.queue.put_nowait(heapq.heappop(self.heap)[1])
            wait = (self.heap[0][0] - now) if self.heap else 0.01
            await asyncio.sleep(min(max(wait, 0), 0.01))

    async def worker(self):
        loop = asyncio.get_running_loop()
        connection = Connection(self.port, self.context)
        while (tab := await self.queue.get()) is not None:
            due = self.due[tab]
            sent = loop.time()
            try:
                status, body, _ = await connection.request(self.request[tab])
            except (OSError, EOFError, ValueError, asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError) as error:
                connection.close()
                status, body = type(error).__name__, b""
            done = loop.time()
            if self.measure_from <= due < self.measure_to:
                self.latencies.append(done - due)
                self.waits.append(sent - due)
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status not in (200, 204) and len(self.failures) < 5:
                    self.failures[status] = body[:300].decode(errors="replace")
            following = due + self.args.interval
            if status == 200:
                self.arrived(tab, body, done)
                following = done + self.args.interval  # htmx swapped in a new poller
            self.due[tab] = max(following, done)
            heapq.heappush(self.heap, (self.due[tab], tab))
        connection.close()

    def arrived(self, tab, body, done):
        """A poll's 200: the tab's next URL, and which posted comments it now shows."""
        poller = POLLER.match(body.lstrip())
        if poller is None:
            self.statuses["200 without a poller first"] = self.statuses.get(
                "200 without a poller first", 0) + 1
        else:
            url = html.unescape(poller.group(1).decode())
            self.request[tab] = get(url, self.cookie[tab], htmx=True)
        for found in COMMENT_ID.findall(body):
            posted = self.posts.get(int(found))
            if posted is None:
                self.early.setdefault(int(found), {}).setdefault(tab, done)
            elif posted["board"] == self.board_of[tab] and tab not in posted["seen"]:
                posted["seen"][tab] = max(0.0, done - posted["answered"])

    async def writer(self):
        """Posts to random boards that have tabs, from the start of the measurement until there
        is time left for every tab to show the post."""
        a, loop = self.args, asyncio.get_running_loop()
        watched = [b for b, count in enumerate(self.tabs_on) if count]
        stop = self.measure_to - (2 * a.interval + 3)  # time for a late tab to show it
        connection = Connection(self.port, self.context)
        nonce, number = secrets.token_hex(3), 0
        await asyncio.sleep(max(0, self.measure_from - loop.time()))
        following = loop.time()
        while following < stop:
            board = self.rng.choice(watched)
            slug = self.slugs[board]
            number += 1
            try:
                # Not one of the board's readers: a new visitor, who loads the
                # page, then posts from its form.
                cookie, token, _ = (await load_pages(self.port, self.context, [slug], 1))[slug]
                body = (f"csrf_token={quote(token)}&author=Writer"
                        f"&content=Open+boards+{nonce}+{number}+on+{slug}")
                status, answer, _ = await connection.request(post(f"/b/{slug}/comments", cookie, body))
            except (OSError, EOFError, ValueError, RuntimeError,
                    asyncio.IncompleteReadError) as error:
                connection.close()
                status, answer = type(error).__name__, b""
            answered = loop.time()
            self.post_statuses[status] = self.post_statuses.get(status, 0) + 1
            if not self.posted(status, answer, board, slug, answered):
                self.post_errors += 1
                if self.post_errors <= 3:
                    log(f"  a post answered {status}: {answer[:300]!r}")
            following += 1 / a.post_rate
            await asyncio.sleep(max(0, following - loop.time()))
        connection.close()

    def posted(self, status, answer, board, slug, answered):
        """Count a post the writer had answered at `answered`, if it was stored and shown (201,
        not held); tabs that showed it before then showed it at once. False: not counted."""
        found = COMMENT_ID.search(answer) if status == 201 else None
        if not found or b"held-comment" in answer:
            return False
        comment_id = int(found.group(1))
        self.posts[comment_id] = {"board": board, "answered": answered, "slug": slug,
                                  "seen": {tab: 0.0 for tab in self.early.pop(comment_id, {})
                                           if self.board_of[tab] == board}}
        return True

    async def ticker(self):
        """How late the generator's own loop wakes up: a busy generator is a bottleneck."""
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            if self.measure_from <= before < self.measure_to:
                self.loop_lag.append(loop.time() - before - 0.01)

    def summary(self):
        a = self.args
        latencies = sorted(self.latencies)
        waits = sorted(self.waits)
        lag = sorted(self.loop_lag)
        delays, within, expected = [], 0, 0
        for posted in self.posts.values():
            tabs = self.tabs_on[posted["board"]]
            expected += tabs
            seen = list(posted["seen"].values())
            delays += seen + [float("inf")] * (tabs - len(seen))
            within += sum(delay <= a.interval + 1 for delay in seen)
        delays.sort()
        errors = sum(count for status, count in self.statuses.items() if status not in (200, 204))
        ms = lambda value: None if value is None else round(value * 1000, 1)
        return {
            "tabs": len(self.board_of), "boards_with_tabs": sum(1 for c in self.tabs_on if c),
            "largest_board_tabs": max(self.tabs_on), "polls": len(latencies),
            "polls_per_s": len(latencies) / a.seconds,
            "p50_ms": ms(percentile(latencies, 0.50)), "p99_ms": ms(percentile(latencies, 0.99)),
            "max_ms": ms(latencies[-1] if latencies else None),
            "wait_p99_ms": ms(percentile(waits, 0.99)),
            "statuses": {str(k): v for k, v in self.statuses.items()}, "errors": errors,
            "failures": {str(k): v for k, v in self.failures.items()},
            "posts": len(self.posts), "post_statuses": {str(k): v for k, v in self.post_statuses.items()},
            "post_errors": self.post_errors, "deliveries": expected,
            "delivered_share": within / expected if expected else None,
            "delivery_p50_s": percentile(delays, 0.50), "delivery_p99_s": percentile(delays, 0.99),
            "never_shown": sum(1 for d in delays if d == float("inf")),
            "loop_lag_p99_ms": ms(percentile(lag, 0.99)),
        }


# --- Servers, CPU and logs --------------------------------------------------------------------

class CpuSplit:
    """CPU cores used by the generator itself, nginx, gunicorn, the database server and anything
    else on the machine, between `start()` and `stop()`."""

    def __init__(self, groups):
        self.groups = groups  # {name: [root pid, ...]}; "generator" is this process alone

    def snapshot(self):
        table = processes()
        found = {"generator": table.get(os.getpid(), (0, 0))[1]}
        for name, roots in self.groups.items():
            # With the CPU of children that ended and were waited for: gunicorn replaces its
            # workers every max_requests (deploy/gunicorn.conf.py).
            found[name] = sum(table[pid][1] + reaped_cpu(pid) for pid in descendants(table, roots))
        return time.monotonic(), machine_busy(), found

    def start(self):
        self.before = self.snapshot()

    def stop(self):
        (t0, busy0, a), (t1, busy1, b) = self.before, self.snapshot()
        cores = {name: max(b[name] - a.get(name, 0), 0) / (t1 - t0) for name in b}
        cores["other"] = max((busy1 - busy0) / (t1 - t0) - sum(cores.values()), 0.0)
        return {name: round(value, 2) for name, value in cores.items()}


def reaped_cpu(pid):
    """CPU seconds of the children process `pid` has waited for (cutime + cstime)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / TICK


def logged(path, start, end):
    """The lines logged between bytes `start` and `end` of the log at `path`."""
    with open(path, "rb") as log_file:
        log_file.seek(start)
        return log_file.read(end - start).splitlines()


def polls_by(lines, status_of):
    """Of the poll lines among `lines`, how many of each `status_of(line)`."""
    counts = {}
    for line in lines:
        if b"/comments?" in line and b'"GET ' in line:
            status = status_of(line)
            counts[status] = counts.get(status, 0) + 1
    return counts


def cache_status(line):
    """What nginx's cache did (deploy/nginx.conf's log_format ends with cache=...)."""
    return line.rsplit(b"cache=", 1)[-1].strip().decode() or "-"


def board_env(url, extra):
    env = clean_env(FLASK_CONFIG="production", SECRET_KEY=secrets.token_hex(32), DATABASE_URL=url,
                    BOARD_TRUSTED_PROXIES="1", BOARD_HOSTS=HOST, BOARD_POLL_FRESH_SECONDS="0",
                    **limiter_env())
    env.update(extra)
    return env


def run_database(args, databases, dialect, folder, results):
    a = args
    log(f"{dialect}: seeding {a.boards:,} boards of {a.comments:,} comments")
    url = databases.url(dialect)
    board_slugs = slugs(a.boards)
    try:
        seeded = seed(url, a.comments, boards=board_slugs)
        databases.settle(url)
        log(f"{dialect}: seeded in {seeded['insert_s']:.1f} s; database settled "
            f"({wait_for_idle(databases.pids()):.2f} cores)")
        app_env = board_env(url, a.board_env | {"WEB_CONCURRENCY": str(a.workers)})
        here = folder / dialect
        here.mkdir()
        here.chmod(0o755)  # nginx's workers (nobody, when we are root) write its cache there
        with Gunicorn(app_env, here / "gunicorn.log", config=ROOT / "deploy" / "gunicorn.conf.py",
                      workers=a.workers) as app_server:
            cert, key = certificate(here, HOST)
            http_port, https_port = free_ports(2)
            site = loopback_site(a.site.read_text(), here, http_port,
                                 https_port, app_server.port, cert, key, ROOT / "static")
            # Client connections (the tabs' and the writer's) and one upstream connection per
            # request in flight, per worker.
            with nginx(find_nginx(), here, site, https_port,
                       worker_connections=a.connections + 1024,
                       worker_processes=a.nginx_workers) as proxy:
                context = ssl.create_default_context(cafile=str(cert))
                context.check_hostname = False  # 127.0.0.1, with Host and SNI board.example.org
                measure(a, dialect, https_port, context, board_slugs, here, databases,
                        app_server, proxy, results)
    finally:
        databases.drop(url)


def measure(a, dialect, port, context, board_slugs, here, databases, app_server, proxy, results):
    rng = random.Random(a.seed)
    began = time.monotonic()
    pages = asyncio.run(load_pages(port, context, board_slugs))
    log(f"{dialect}: loaded {len(pages):,} board pages through nginx in "
        f"{time.monotonic() - began:.1f} s")
    for tabs in a.tabs:
        other = wait_for_quiet(databases.pids() + [app_server.process.pid, proxy.process.pid],
                               patience=a.quiet_wait)
        level = Level(a, port, context, pages, board_slugs, tabs, rng)
        cpu = CpuSplit({"nginx": [proxy.process.pid], "gunicorn": [app_server.process.pid],
                        "database": databases.pids()})
        logs = (here / "access.log", app_server.log_path)

        async def timed():
            """The level, with the CPU and the logs' sizes when its measurement starts and ends
            (read without blocking the loop)."""
            loop = asyncio.get_running_loop()
            level.plan(loop.time())
            task = asyncio.create_task(level.run())
            await asyncio.sleep(level.measure_from - loop.time())
            cpu.start()
            start = [path.stat().st_size for path in logs]
            await asyncio.sleep(level.measure_to - loop.time())
            cores = cpu.stop()
            end = [path.stat().st_size for path in logs]
            await task
            return cores, start, end

        log(f"{dialect}: {tabs:,} tabs on {sum(1 for c in level.tabs_on if c):,} boards "
            f"(the busiest {max(level.tabs_on):,}), {a.warmup:g} s warm-up, {a.seconds:g} s measured")
        cores, start, end = asyncio.run(timed())
        cache = polls_by(logged(logs[0], start[0], end[0]), cache_status)
        app_lines = logged(logs[1], start[1], end[1])
        upstream = sum(polls_by(app_lines, lambda line: 0).values())
        result = level.summary() | {
            "dialect": dialect, "cores": cores, "cache": cache, "other_before": round(other, 2),
            "upstream_polls": upstream, "upstream_per_s": upstream / a.seconds,
            # gunicorn's CPU per request it answered, and how often it replaced a worker
            # (max_requests in deploy/gunicorn.conf.py).
            "gunicorn_ms_per_request": cores["gunicorn"] * a.seconds * 1000 / max(1, sum(
                1 for line in app_lines if b'" 20' in line or b'" 30' in line)),
            "worker_restarts": sum(1 for line in app_lines if b"Booting worker" in line),
        }
        results.append(result)
        log(f"  {tabs:,} tabs: {result['polls_per_s']:,.0f} polls/s, p50 {result['p50_ms']} ms, "
            f"p99 {result['p99_ms']} ms, errors {result['errors']}, {result['posts']} posts: "
            f"{fmt_share(result['delivered_share'])} of {result['deliveries']:,} shown within "
            f"{a.interval + 1:g} s (p99 {fmt_s(result['delivery_p99_s'])}); cache {cache}; "
            f"cores {cores}; loop lag p99 {result['loop_lag_p99_ms']} ms; gunicorn "
            f"{result['gunicorn_ms_per_request']:.2f} ms CPU a request, "
            f"{result['worker_restarts']} workers replaced")
        for status, body in result["failures"].items():
            log(f"  answered {status}: {body!r}")
        # The boards posted on: their pages again, so the next level's tabs start up to date.
        posted = sorted({p["slug"] for p in level.posts.values()})
        if posted:
            pages.update(asyncio.run(load_pages(port, context, posted)))


# --- Report -----------------------------------------------------------------------------------

def fmt_share(share):
    return "—" if share is None else f"{share * 100:.1f} %"


def fmt_s(value):
    if value is None:
        return "—"
    return "never" if value == float("inf") else f"{value:.2f} s"


def table(run):
    a = run["args"]
    lines = [
        "| database | open tabs | boards (busiest) | polls/s | poll p50 ms | poll p99 ms | "
        f"p99 ≤ {P99_GOAL_MS} ms | errors | posts | shown ≤ {a['interval'] + 1:g} s | "
        f"≥ {DELIVERY_GOAL:.0%} | delivery p50 / p99 | from nginx's cache (stale) | to gunicorn /s | "
        "CPU: generator / nginx / gunicorn / DB / other |",
        "|---|---:|---|---:|---:|---:|---|---:|---:|---:|---|---|---:|---:|---|",
    ]
    for r in run["results"]:
        cache = r["cache"]
        polls = sum(cache.values())
        cached = sum(cache.get(k, 0) for k in ("HIT", "STALE", "UPDATING"))
        stale = cache.get("STALE", 0) + cache.get("UPDATING", 0)
        c = r["cores"]
        met = r["p99_ms"] is not None and r["p99_ms"] <= P99_GOAL_MS
        shown = r["delivered_share"] is not None and r["delivered_share"] >= DELIVERY_GOAL
        lines.append(
            f"| {DIALECT_NAMES[r['dialect']]} | {r['tabs']:,} | {r['boards_with_tabs']:,} "
            f"({r['largest_board_tabs']:,}) | {r['polls_per_s']:,.0f} | {r['p50_ms']} | "
            f"{r['p99_ms']} | {'met' if met else '**missed**'} | {r['errors']} | {r['posts']} | "
            f"{fmt_share(r['delivered_share'])} | {'met' if shown else '**missed**'} | "
            f"{fmt_s(r['delivery_p50_s'])} / "
            f"{fmt_s(r['delivery_p99_s'])} | {fmt_share(cached / polls if polls else None)} "
            f"({fmt_share(stale / polls if polls else None)}) | "
            f"{r['upstream_per_s']:,.0f} | {c['generator']:.2f} / {c['nginx']:.2f} / "
            f"{c['gunicorn']:.2f} / {c['database']:.2f} / {c['other']:.2f} |")
    return "\n".join(lines)


def render(run):
    a = run["args"]
    return "\n".join([
        BEGIN,
        f"### Run of {run['started']} ({run['minutes']:.1f} minutes)",
        "",
        f"```sh\n{run['command']}\n```",
        "",
        "| machine | |", "|---|---|", machine(run["server_versions"]), "",
        f"{a['boards']:,} boards of {a['comments']:,} comments; tabs spread over them as 1/k^"
        f"{a['zipf']:g}; each polls every {a['interval']:g} s; {a['connections']} keep-alive "
        f"connections; {a['warmup']:g} s warm-up, then {a['seconds']:g} s measured per level; "
        f"{a['post_rate']:g} post/s to random boards with tabs; gunicorn {a['workers']} sync "
        f"workers (deploy/gunicorn.conf.py), nginx {a['nginx_workers']} workers "
        "(deploy/nginx.conf). Targets (issue 15): poll p99 ≤ 250 ms and a new comment shown "
        f"on {DELIVERY_GOAL:.0%} of its board's tabs within {a['interval'] + 1:g} s.",
        "",
        table(run),
        END,
    ])


def measure_all(args, argv, results_dir):
    """Every database's levels; the run's figures (also bench.run's, with --open-boards)."""
    started = datetime.now(timezone.utc)
    began = time.monotonic()
    results = []
    log(f"results in {results_dir}")
    with tempfile.TemporaryDirectory(prefix="board-open-") as folder, Databases() as databases:
        Path(folder).chmod(0o755)
        for dialect in args.databases:
            try:
                run_database(args, databases, dialect, Path(folder), results)
            finally:
                for name in ("gunicorn.log", "nginx-main.log", "error.log"):
                    source = Path(folder) / dialect / name
                    if source.exists():  # the servers' own logs, without the access lines
                        kept = [line for line in source.read_text(errors="replace").splitlines()
                                if name != "gunicorn.log" or '"GET /b/' not in line][-500:]
                        (results_dir / f"{dialect}-{name}").write_text("\n".join(kept) + "\n")
        server_versions = databases.versions()
    run = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "minutes": (time.monotonic() - began) / 60,
        "command": ".venv/bin/python -m bench.open_boards "
                   + shlex.join(sys.argv[1:] if argv is None else argv),
        "args": vars(args), "server_versions": server_versions, "results": results,
    }
    (results_dir / "results.json").write_text(json.dumps(run, indent=1, default=str))
    return run


def main(argv=None):
    args = parse(argv)
    if not find_nginx():
        sys.exit("bench: nginx is not installed (apt-get install nginx)")
    _, results_dir = start_run("-open-boards")
    run = measure_all(args, argv, results_dir)
    generated = render(run)
    publish(generated, results_dir, "open_boards.md", args.docs, (BEGIN, END))
    log(f"done in {run['minutes']:.1f} minutes")


if __name__ == "__main__":
    main()
