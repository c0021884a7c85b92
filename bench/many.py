"""Many boards: one board's requests with 1 board of 1,000 comments against 1,000 boards of 1,000
comments (1,000,000), served together and measured in alternating rounds as bench.run does:

    .venv/bin/python -m bench.many --boards 1,1000 --comments 1000 --databases sqlite,postgresql \
        --duration 5 --warmup 1 --repeats 2 --retries 1 --quiet-wait 10

Each layout is a fresh database (bench.seed: the same threaded shape on every board, the boards
interleaved in time); the measured board is the same board (`--board`, by default the middle one
of the largest layout, board-0500) in every layout, at /b/<slug>. The empty default board "main"
is there too, as the migrations make it. Endpoints: the board's page, an older page (htmx), the
idle poll (204), a poll bringing the board's 5 newest comments (200) and an htmx post (201).

Before the load, bench.plans counts the statements of each request and explains each statement
(the indexes, and the rows read where the database tells); after it, one more post is counted.
Results go to bench/results/<time>-many/ (results.json, many.md); `--docs` writes the table into
docs/benchmarks.md between the `many:begin` and `many:end` markers.
"""

import argparse
import json
import shlex
import statistics
import sys
import time

from .databases import Databases
from .endpoints import EXTRA, NAMES
from .load import wrk_available
from .plans import count_post, measure
from .report import DIALECT_NAMES, machine, ms, publish
from .run import Bench, log, start_run
from .seed import seed, slugs

ENDPOINTS = {
    "page": "`GET /b/<slug>`",
    "older": "`GET /b/<slug>/comments?before=…` (htmx)",
    "poll": "`GET /b/<slug>/comments?after=<newest>&since=…` (htmx, idle: 204)",
    "poll_news": "the same poll from 5 comments back (htmx, 200)",
    "post_htmx": "`POST /b/<slug>/comments` via htmx (201)",
    "post_plain": "`POST /b/<slug>/comments` without JS (303)",
}
BEGIN = "<!-- many:begin (written by `python -m bench.many --docs ...`; edit outside these markers) -->"
END = "<!-- many:end -->"


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.many", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    ints = lambda text: [int(part.replace("_", "")) for part in text.split(",") if part]
    words = lambda text: [part for part in text.split(",") if part]
    parser.add_argument("--boards", type=ints, default=[1, 1000], help="layouts: boards (1,1000)")
    parser.add_argument("--comments", type=int, default=1000, help="comments per board (1000)")
    parser.add_argument("--board", help="the measured board's slug (the middle one)")
    parser.add_argument("--databases", type=words, default=["sqlite", "postgresql", "mariadb"])
    parser.add_argument("--endpoints", type=words,
                        default=["page", "older", "poll", "poll_news", "post_htmx"])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--disturbed", type=float, default=0.15)
    parser.add_argument("--quiet-wait", type=float, default=10)
    parser.add_argument("--patience-minutes", type=float, default=20)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-plans", dest="plans", action="store_false",
                        help="skip the statement counts and plans")
    parser.add_argument("--docs", default="-",
                        help="markdown file whose many:begin/end block to replace ('-': none)")
    args = parser.parse_args(argv)
    order = NAMES[:3] + EXTRA + NAMES[3:]
    unknown = set(args.endpoints) - set(order)
    if unknown:
        parser.error(f"unknown endpoint(s): {', '.join(sorted(unknown))}")
    args.endpoints = [name for name in order if name in args.endpoints]  # posts last
    args.board = args.board or slugs(max(args.boards))[max(max(args.boards) // 2 - 1, 0)]
    totals = [b * args.comments for b in args.boards]
    if len(set(totals)) != len(totals):
        parser.error("two layouts with the same number of boards")
    # What bench.run's Bench reads of its arguments.
    args.gc_freeze, args.board_env, args.tutorial_sizes, args.threaded = True, {}, [], True
    return args


def layout_slugs(boards, measured):
    """The boards of a layout: board-0001..board-B, with the measured board among them (a
    one-board layout is the measured board alone)."""
    if boards == 1:
        return [measured]
    names = slugs(boards)
    if measured not in names:
        raise SystemExit(f"board {measured} is not among {boards} boards")
    return names


class Many(Bench):
    plans = None

    def database(self, databases, dialect):
        """Seed each layout, settle, count and explain, then measure every layout together.
        Layouts are keyed by their number of comments (the `size` bench.run's rows carry)."""
        a = self.args
        seeded = {}
        try:
            for boards in a.boards:
                total = boards * a.comments
                log(f"{dialect}: seeding {boards:,} boards of {a.comments:,} comments")
                url = databases.url(dialect)
                seeded[total] = {"url": url}
                seeded[total].update(seed(url, a.comments, boards=layout_slugs(boards, a.board),
                                          measured=a.board))
                databases.settle(url)
                info = {k: v for k, v in seeded[total].items() if k not in ("url", "front")}
                self.seeds.append({"dialect": dialect, "size": total, **info})
                log(f"{dialect}: seeded {total:,} in {info['insert_s']:.1f} s, checked in "
                    f"{info['check_s']:.1f} s")
            if a.plans:
                for total, entry in seeded.items():
                    found = measure(entry["url"], a.board, entry["deep"])
                    self.plans.append({"dialect": dialect, "size": total,
                                       "boards": entry["boards"], "requests": found})
                    log(f"{dialect} {total:,}: statements " + ", ".join(
                        f"{name} {len(r['statements'])}" for name, r in found.items()))
            from .cpu import wait_for_idle

            busy = wait_for_idle(databases.pids())
            log(f"{dialect}: database server settled ({busy:.2f} cores)")
            self.boards(dialect, seeded)
            if a.plans:
                for total, entry in seeded.items():
                    try:
                        counted = count_post(entry["url"], a.board)
                    except Exception as error:  # keep the run's figures whatever happens here
                        log(f"{dialect} {total:,}: counting a post failed: {error!r}")
                        continue
                    self.posts.append({"dialect": dialect, "size": total, **counted})
                    log(f"{dialect} {total:,}: a post sends {len(counted['statements'])} statements")
        finally:
            for entry in seeded.values():
                databases.drop(entry["url"])


def scale_table(run):
    """Per database and endpoint: p50 at each layout, the ratio of medians and the median of the
    rounds' paired ratios, against the smallest layout."""
    results = [r for r in run["results"] if r["target"] == "board"]
    sizes = sorted({r["size"] for r in results})
    small = sizes[0]
    lines = ["| database | endpoint | " + " | ".join(
        f"p50 ms, {label(run, s)}" for s in sizes) + " | " + " | ".join(
        f"ratio {label(run, s)} (paired)" for s in sizes[1:]) + " | req/s | other CPU |",
        "|---|---|" + "---:|" * len(sizes) + "---:|" * (len(sizes) - 1) + "---:|---:|"]
    for dialect in run["databases"]:
        for endpoint in run["endpoints"]:
            rows = {s: find(results, dialect, s, endpoint) for s in sizes}
            if not all(rows.values()):
                continue
            a = rows[small]
            ratios = []
            for s in sizes[1:]:
                b = rows[s]
                pairs = list(zip(a.get("repeats", [a]), b.get("repeats", [b])))
                paired = statistics.median(y["p50_us"] / x["p50_us"] for x, y in pairs)
                ratios.append(f"**{b['p50_us'] / a['p50_us']:.2f} ×** ({paired:.2f} ×)")
            lines.append(f"| {DIALECT_NAMES[dialect]} | {ENDPOINTS[endpoint]} | "
                         + " | ".join(ms(rows[s]["p50_us"]) for s in sizes) + " | "
                         + " | ".join(ratios) + " | "
                         + " / ".join(f"{rows[s]['rps']:,.0f}" for s in sizes) + " | "
                         + f"{max(r['other_cores'] for r in rows.values()):.2f} |")
    return "\n".join(lines)


def label(run, size):
    boards = next(s["boards"] for s in run["seeds"] if s["size"] == size)
    return f"{boards:,} × {size // boards:,}"


def find(results, dialect, size, endpoint):
    return next((r for r in results if (r["dialect"], r["size"], r["endpoint"])
                 == (dialect, size, endpoint)), None)


def plan_table(run):
    """Per database, request and statement: statements, indexes, rows read, time, per layout."""
    lines = ["| database | request | layout | statements | indexes used | rows read | ms |",
             "|---|---|---|---:|---|---:|---:|"]
    for entry in run["plans"]:
        for name, request in entry["requests"].items():
            statements = request["statements"]
            indexes = sorted({i for s in statements for i in s["indexes"]
                              if not i.startswith("sqlite_autoindex")})
            scans = sorted({t for s in statements for t in s.get("seq_scans", []) + s.get("full_scans", [])})
            rows = [s["rows"] for s in statements]
            lines.append(
                f"| {DIALECT_NAMES[entry['dialect']]} | {name} | {label(run, entry['size'])} | "
                f"{len(statements)} | {', '.join(indexes)}"
                + (f"; **full scan of {', '.join(scans)}**" if scans else "") + " | "
                + (" + ".join(f"{r:,}" for r in rows) if None not in rows else "—") + " | "
                + " + ".join(f"{s['ms']:.2f}" for s in statements) + " |")
    return "\n".join(lines)


def post_table(run):
    lines = ["| database | layout | status | statements |", "|---|---|---:|---:|"]
    for entry in run["posts"]:
        lines.append(f"| {DIALECT_NAMES[entry['dialect']]} | {label(run, entry['size'])} | "
                     f"{entry['status']} | {len(entry['statements'])} |")
    return "\n".join(lines)


def render(run):
    ceilings = ", ".join(f"{r['rps']:,.0f} ({r['label']})" for r in run["results"]
                         if r["target"] == "ceiling")
    seeds = "\n".join(["| database | layout | comments | insert | check |", "|---|---|---:|---:|---:|",
                       *(f"| {DIALECT_NAMES[s['dialect']]} | {label(run, s['size'])} | "
                         f"{s['count']:,} | {s['insert_s']:.1f} s | {s['check_s']:.1f} s |"
                         for s in run["seeds"])])
    return "\n".join([
        BEGIN,
        f"### Run of {run['started']} ({run['minutes']:.1f} minutes)",
        "",
        f"```sh\n{run['command']}\n```",
        "",
        "| machine | |", "|---|---|", machine(run["server_versions"]), "",
        f"Board measured: `{run['board']}`. wrk {run['connections']} connections, {run['warmup']} s "
        f"warm-up then {run['duration']} s, {run['repeats']} rounds per endpoint in alternating "
        f"order; ceiling (bare Flask route) req/s: {ceilings}.",
        "",
        "#### Medians and ratios (against the one-board layout, same run)",
        "",
        scale_table(run),
        "",
        "#### Statements per request and their plans",
        "",
        plan_table(run),
        "",
        post_table(run),
        "",
        "#### Seeding",
        "",
        seeds,
        END,
    ])


def main(argv=None):
    args = parse(argv)
    if not wrk_available():
        sys.exit("bench: wrk is not installed (apt-get install wrk)")
    started, results_dir = start_run("-many")
    began = time.monotonic()
    log(f"results and gunicorn logs in {results_dir}")
    with Databases() as databases:
        bench = Many(args, results_dir, databases)
        bench.plans, bench.posts = [], []
        log("ceiling (bare Flask route)")
        bench.ceiling("start")
        for dialect in args.databases:
            bench.database(databases, dialect)
            # What is measured so far, should a later database fail.
            (results_dir / "partial.json").write_text(json.dumps(
                {"seeds": bench.seeds, "results": bench.results, "plans": bench.plans,
                 "posts": bench.posts}, indent=1, default=str))
        log("ceiling again")
        bench.ceiling("end")
        server_versions = databases.versions()
    run = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "minutes": (time.monotonic() - began) / 60,
        "command": ".venv/bin/python -m bench.many " + shlex.join(sys.argv[1:] if argv is None else argv),
        "board": args.board, "boards": args.boards, "comments": args.comments,
        "databases": args.databases, "endpoints": args.endpoints, "duration": args.duration,
        "warmup": args.warmup, "repeats": args.repeats, "connections": args.connections,
        "server_versions": server_versions, "seeds": bench.seeds, "results": bench.results,
        "plans": bench.plans, "posts": bench.posts,
    }
    (results_dir / "results.json").write_text(json.dumps(run, indent=1, default=str))
    generated = render(run)
    publish(generated, results_dir, "many.md", args.docs, (BEGIN, END))
    log(f"done in {run['minutes']:.1f} minutes")


if __name__ == "__main__":
    main()
