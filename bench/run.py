"""The benchmark, in one command:

    .venv/bin/python -m bench.run --sizes 1000,100000,1000000 --databases sqlite,postgresql,mariadb \
        --duration 6 --warmup 2 --repeats 2 --retries 1 --quiet-wait 15

For each database it seeds a fresh board per size (schema from the migrations, rows in bulk; a third
of them replies in threads of 0 to 500, bench/seed.py, or none with --flat), serves
them with gunicorn (2 sync workers on 127.0.0.1, FLASK_CONFIG=production) and drives five endpoints
on the sizes in turn with wrk (4 connections): GET /, an older page deep in the history, an idle poll, a post via htmx
and a post without JS (--endpoints picks some of them), with production settings: the rate limiter
and the duplicate guard on, the post limit too high to refuse the load (limiter_env). The board page alone, at 1,000 and 1,000,000
comments (the scale of the page, "Cheap at a million"):

    .venv/bin/python -m bench.run --sizes 1000,1000000 --endpoints page --tutorial-sizes "" \
        --repeats 6 --docs -

Then, unless `--open-boards ''`, the capacity for open boards: bench.open_boards on each database
(5,000, 10,000 and 20,000 tabs polling 1,000 boards through deploy/nginx.conf).

In the same run and with the same server settings it measures two baselines: a bare Flask route
(bench/ceiling.py, the ceiling) and the tutorial's design (bench/tutorial_app.py, every comment on
every page). It writes the raw figures to
bench/results/<time>/results.json (with gunicorn's logs) and the table, the issue's targets and the machine to
docs/benchmarks.md (between markers; text around them is kept). docs/benchmarks.md explains it all.

Every process it starts (database servers, gunicorn, wrk) is stopped when it ends, even on error or
Ctrl-C. Needs wrk (apt-get install wrk); PostgreSQL 15 and mariadb-server for those databases.
"""

import argparse
import contextlib
import json
import secrets
import shlex
import signal
import statistics
import sys
import time
from datetime import datetime, timezone

from harness.process import clean_env
from harness.raw_http import request

from .cpu import Meter, wait_for_idle, wait_for_quiet
from .databases import Databases
from .endpoints import NAMES, board_endpoints, describe, page_shape, probe
from .load import ROOT, gunicorn, wrk, wrk_available
from .report import publish, render
from .seed import seed

def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    ints = lambda text: [int(part.replace("_", "")) for part in text.split(",") if part]
    parser.add_argument("--sizes", type=ints, default=[1000, 100_000, 1_000_000],
                        help="board sizes in comments (default 1000,100000,1000000)")
    parser.add_argument("--databases", default="sqlite,postgresql,mariadb",
                        type=lambda text: [part for part in text.split(",") if part],
                        help="any of sqlite,postgresql,mariadb (default all three)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint (10)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="rounds over the sizes per board endpoint, alternating order; a row "
                             "combines its rounds (2)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of discarded load first (2)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (4)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--quiet-wait", type=float, default=30,
                        help="seconds to wait, before each measurement, for other work on the "
                             "machine to fall under 0.1 core (30)")
    parser.add_argument("--retries", type=int, default=2,
                        help="repeats of a measurement during which other work used more than "
                             "--disturbed cores; the least disturbed is kept (2)")
    parser.add_argument("--disturbed", type=float, default=0.15,
                        help="cores of other work that make a measurement disturbed (0.15)")
    parser.add_argument("--patience-minutes", type=float, default=25,
                        help="after this many minutes the run stops waiting for quiet and "
                             "repeating disturbed measurements, so it ends in bounded time (25)")
    parser.add_argument("--endpoints", default=list(NAMES),
                        type=lambda text: [part for part in text.split(",") if part],
                        help=f"board endpoints to measure, any of {','.join(NAMES)} (all five)")
    parser.add_argument("--flat", dest="threaded", action="store_false",
                        help="seed boards without replies, as before threads existed (default: "
                             "a third of the comments are replies, bench/seed.py)")
    parser.add_argument("--tutorial-sizes", type=ints, default=[1000, 100_000],
                        help="sizes at which to measure the tutorial design (1000,100000)")
    parser.add_argument("--tutorial-duration", type=int, default=20,
                        help="seconds of load for the tutorial design, at least --duration (20): "
                             "at 100,000 comments one of its pages takes seconds")
    parser.add_argument("--board-env", action="append", default=[], metavar="NAME=VALUE",
                        type=lambda text: tuple(text.split("=", 1)),
                        help="an extra environment variable for the board, for experiments "
                             "(e.g. BOARD_DB_POOL_PRE_PING=false); repeatable")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="do not gc.freeze() the preloaded app in gunicorn's master")
    parser.add_argument("--open-boards", type=ints, default=[5000, 10000, 20000], metavar="TABS",
                        help="after the endpoints, open tabs polling through nginx on each "
                             "database (bench.open_boards, 1,000 boards): the capacity table "
                             "(5000,10000,20000; '' for none)")
    parser.add_argument("--open-boards-seconds", type=int, default=60,
                        help="measured seconds per level of open tabs (60)")
    parser.add_argument("--docs", default=str(ROOT / "docs" / "benchmarks.md"),
                        help="markdown file to update; '-' for none (docs/benchmarks.md)")
    args = parser.parse_args(argv)
    args.board_env = dict(args.board_env)
    unknown = set(args.databases) - {"sqlite", "postgresql", "mariadb"}
    if unknown:
        parser.error(f"unknown database(s): {', '.join(sorted(unknown))}")
    unknown = set(args.endpoints) - set(NAMES)
    if unknown:
        parser.error(f"unknown endpoint(s): {', '.join(sorted(unknown))}")
    args.endpoints = [name for name in NAMES if name in args.endpoints]  # posts come last
    return args


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def limiter_env():
    """Production's abuse guards, as every real post pays for them: the rate limiter on, with the
    production limit's two windows but counts no load here reaches (so posts are counted, never
    refused), and the duplicate guard on at its default window (BOARD_DUPLICATE_SECONDS unset;
    each benchmark post's content is distinct)."""
    return {"BOARD_RATELIMIT_ENABLED": "true", "BOARD_POST_LIMIT": "1000000 per minute;100000000 per day"}


class Bench:
    def __init__(self, args, results_dir, databases):
        self.args = args
        self.databases = databases
        self.results_dir = results_dir
        self.results = []
        self.seeds = []
        self.nonce = secrets.token_hex(3)
        self.began = time.monotonic()

    def patient(self):
        return time.monotonic() - self.began < self.args.patience_minutes * 60

    def env(self, **extra):
        return clean_env(BENCH_GC_FREEZE="1" if self.args.gc_freeze else "0", **extra)

    def gunicorn(self, app, env, name):
        return gunicorn(app, env, self.results_dir / f"{name}.log", workers=self.args.workers)

    def load(self, port, path, headers=None, script="get.lua", script_args=(), duration=None,
             warmup=None):
        """Warm up, then measure; repeat a measurement that other work on the machine disturbed
        and keep the least disturbed one."""
        a = self.args
        duration = duration or a.duration
        warmup = a.warmup if warmup is None else warmup
        roots = self.databases.pids()
        best = None
        retries = a.retries if self.patient() else 0
        for attempt in range(1 + retries):
            wait_for_quiet(roots, patience=a.quiet_wait if self.patient() else 0)
            if warmup:
                wrk(port, path, warmup, a.connections, a.threads, headers, script, script_args)
            with Meter(roots, roots) as meter:
                result = wrk(port, path, duration, a.connections, a.threads, headers, script,
                             script_args)
            result.update(other_cores=meter.other, ours_cores=meter.ours,
                          database_cores=meter.server, attempts=attempt + 1)
            if best is None or result["other_cores"] < best["other_cores"]:
                best = result
            if result["other_cores"] <= a.disturbed:
                break
            log(f"  disturbed: other work used {meter.other:.2f} cores ({result['rps']:.0f} req/s)"
                + ("; measuring again" if attempt < retries else ""))
        best["attempts"] = attempt + 1
        return best

    def record(self, result, **fields):
        result.update(fields)
        self.results.append(result)
        where = f"{fields.get('dialect', '')} {fields.get('size', '')}".strip()
        log(f"  {fields['target']:8} {where:18} {fields['endpoint']:10} {result['rps']:9.1f} req/s "
            f"p50 {result['p50_us'] / 1000:7.2f} ms  p99 {result['p99_us'] / 1000:7.2f} ms  "
            f"errors {result['errors']}  db {result['database_cores']:.2f} other {result['other_cores']:.2f} cores")

    def ceiling(self, label):
        with self.gunicorn("bench.ceiling:app", self.env(), f"ceiling-{label}") as server:
            status, _, body = request(server.port, "GET", "/")
            assert status == 200, status
            self.record(self.load(server.port, "/"), target="ceiling", endpoint="ceiling",
                        label=label, body_bytes=len(body))

    def tutorial(self, url, dialect, size):
        env = self.env(DATABASE_URL=url)
        with self.gunicorn("bench.tutorial_app:app", env, f"tutorial-{dialect}-{size}") as server:
            # The probe is the warm-up: a wrk warm-up would leave seconds-long requests running
            # in the workers after it stops, and they would eat into the measurement.
            status, _, body = request(server.port, "GET", "/")
            assert status == 200, f"tutorial GET / answered {status}"
            result = self.load(server.port, "/", duration=max(self.args.duration,
                                                               self.args.tutorial_duration), warmup=0)
            self.record(result, target="tutorial", dialect=dialect, size=size, endpoint="page",
                        body_bytes=len(body))

    def board_env(self, url):
        env = self.env(FLASK_CONFIG="production", SECRET_KEY=secrets.token_hex(32),
                       DATABASE_URL=url, **limiter_env())
        env.update(self.args.board_env)
        return env

    def boards(self, dialect, seeded):
        """Every size of one database served at once, and each endpoint measured on the sizes in
        turn, `--repeats` rounds in alternating order: slow drift of the machine then falls on
        all sizes alike instead of on whichever size came last."""
        sizes = list(seeded)
        with contextlib.ExitStack() as stack:
            servers = {size: stack.enter_context(self.gunicorn(
                "flask_app:app", self.board_env(seeded[size]["url"]), f"board-{dialect}-{size}"))
                for size in sizes}
            endpoints = {size: {e.name: e for e in board_endpoints(
                servers[size].port, seeded[size], f"{self.nonce}{size}")} for size in sizes}
            for name in self.args.endpoints:
                runs = {size: [] for size in sizes}
                bodies = {size: probe(servers[size].port, endpoints[size][name]) for size in sizes}
                for round_ in range(self.args.repeats):
                    for size in (sizes if round_ % 2 == 0 else sizes[::-1]):
                        server, endpoint = servers[size], endpoints[size][name]
                        locked = server.log.count("database is locked")
                        result = self.load(server.port, endpoint.path, endpoint.headers,
                                           endpoint.script, endpoint.script_args)
                        result["locked"] = server.log.count("database is locked") - locked
                        runs[size].append(result)
                for size in sizes:
                    result = combine(runs[size])
                    if endpoints[size][name].method == "GET":
                        result["body_bytes"] = len(bodies[size])
                    if name == "page":
                        result["shape"] = page_shape(bodies[size])
                        log(f"  {dialect} {size:,}: the page shows {describe(result['shape'])}")
                    self.record(result, target="board", dialect=dialect, size=size, endpoint=name)

    def database(self, databases, dialect):
        seeded = {}
        try:
            for size in self.args.sizes:
                log(f"{dialect}: seeding {size:,} comments")
                url = databases.url(dialect)
                seeded[size] = {"url": url}
                seeded[size].update(seed(url, size, threaded=self.args.threaded))
                self.seeds.append({"dialect": dialect, "size": size,
                                   **{k: v for k, v in seeded[size].items() if k != "url"}})
                databases.settle(url)
                log(f"{dialect}: seeded {size:,} in {seeded[size]['insert_s']:.1f} s "
                    f"({seeded[size]['replies']:,} replies in {seeded[size]['threads']:,} "
                    f"threads, the largest {seeded[size]['largest']}; checked in "
                    f"{seeded[size]['check_s']:.1f} s)")
            busy = wait_for_idle(databases.pids())
            log(f"{dialect}: database server settled ({busy:.2f} cores)")
            for size in self.args.sizes:
                if size in self.args.tutorial_sizes:
                    self.tutorial(seeded[size]["url"], dialect, size)
            self.boards(dialect, seeded)
        finally:
            for entry in seeded.values():
                databases.drop(entry["url"])


def combine(runs):
    """One row from several measurements of the same thing: requests/s over their summed time,
    the median of their percentiles, every error."""
    if len(runs) == 1:
        return runs[0]
    result = {"requests": sum(r["requests"] for r in runs),
              "duration_us": sum(r["duration_us"] for r in runs),
              "repeats": [{k: r[k] for k in ("rps", "p50_us", "p99_us", "other_cores")} for r in runs]}
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    for key in ("p50_us", "p90_us", "p99_us", "mean_us", "database_cores", "ours_cores"):
        result[key] = statistics.median(r[key] for r in runs)
    for key in ("errors", "locked", "connect", "read", "write", "status", "timeout", "bytes",
                "attempts"):
        result[key] = sum(r.get(key, 0) for r in runs)
    result["max_us"] = max(r["max_us"] for r in runs)
    result["other_cores"] = max(r["other_cores"] for r in runs)
    return result


def stop_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def start_run(suffix=""):
    """A run's start, for bench.run, bench.many and bench.open_boards: SIGTERM ends it as Ctrl+C
    would (the servers are stopped), and its results go to a new folder,
    bench/results/<UTC time><suffix>. Returns (the start time, the folder)."""
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    started = datetime.now(timezone.utc)
    results_dir = ROOT / "bench" / "results" / (started.strftime("%Y%m%dT%H%M%SZ") + suffix)
    results_dir.mkdir(parents=True)
    return started, results_dir


def main(argv=None):
    args = parse(argv)
    if not wrk_available():
        sys.exit("bench: wrk is not installed (apt-get install wrk)")
    from . import open_boards  # (it imports this module)

    if args.open_boards and not open_boards.find_nginx():
        sys.exit("bench: nginx is not installed (apt-get install nginx), or pass --open-boards ''")
    started, results_dir = start_run()
    began = time.monotonic()
    log(f"results and gunicorn logs in {results_dir}")
    with Databases() as databases:
        bench = Bench(args, results_dir, databases)
        log("ceiling (bare Flask route)")
        bench.ceiling("start")
        for dialect in args.databases:
            bench.database(databases, dialect)
            log("ceiling again")
            bench.ceiling(f"after {dialect}")
        server_versions = databases.versions()
    open_run = None
    if args.open_boards:
        log("open boards (bench.open_boards)")
        open_argv = ["--databases", ",".join(args.databases),
                     "--tabs", ",".join(map(str, args.open_boards)),
                     "--seconds", str(args.open_boards_seconds)]
        (results_dir / "open-boards").mkdir()
        open_run = open_boards.measure_all(open_boards.parse(open_argv), open_argv,
                                           results_dir / "open-boards")
        open_run["table"] = open_boards.table(open_run)
    ceilings = [r["rps"] for r in bench.results if r["target"] == "ceiling"]
    run = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "minutes": (time.monotonic() - began) / 60,
        "command": ".venv/bin/python -m bench.run " + shlex.join(sys.argv[1:] if argv is None else argv),
        "sizes": args.sizes, "databases": args.databases, "duration": args.duration,
        "endpoints": args.endpoints, "threaded": args.threaded,
        "warmup": args.warmup, "tutorial_duration": max(args.duration, args.tutorial_duration), "connections": args.connections, "threads": args.threads,
        "workers": args.workers, "gc_freeze": args.gc_freeze, "repeats": args.repeats,
        "board_env": args.board_env, "retries": args.retries, "disturbed": args.disturbed, "limiter_env": ", ".join(f"{k}={v!r}" for k, v in limiter_env().items()),
        "ceiling_rps": sum(ceilings) / len(ceilings),
        "server_versions": server_versions, "seeds": bench.seeds, "results": bench.results,
        "open_boards": open_run,
    }
    (results_dir / "results.json").write_text(json.dumps(run, indent=2, default=str))
    generated = render(run)
    publish(generated, results_dir, "benchmarks.md", args.docs)
    log(f"done in {run['minutes']:.1f} minutes")


if __name__ == "__main__":
    main()
