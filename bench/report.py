"""Turn a run's results into markdown: the table, the targets of issues 5 and 15, the machine."""

import platform
import re
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

ENDPOINTS = {
    "page": "`GET /`",
    "older": "`GET /comments?before=…` (htmx, 50 threads deep in history)",
    "poll": "`GET /comments?after=<newest>` (htmx, idle: 204)",
    "post_htmx": "`POST /comments` via htmx (201)",
    "post_plain": "`POST /comments` without JS (303)",
}
DIALECT_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mariadb": "MariaDB"}

BEGIN = "<!-- bench:begin (written by `python -m bench.run`; edit outside these markers) -->"
END = "<!-- bench:end -->"


def ms(us):
    return f"{us / 1000:.2f}"


def fmt_rps(rps):
    return f"{rps:,.0f}" if rps >= 100 else f"{rps:.2f}"


def fmt_size(n):
    return f"{n:,}"


def table(results, ceiling_rps):
    lines = [
        "| database | comments | endpoint | req/s | × ceiling | p50 ms | p99 ms | p99/p50 | bytes | errors | DB CPU | other CPU |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r["target"] == "ceiling":
            lines.append(row("—", "—", f"ceiling ({r['label']})", r, ceiling_rps))
    order = {name: i for i, name in enumerate(ENDPOINTS)}
    boards = [r for r in results if r["target"] in ("board", "tutorial")]
    boards.sort(key=lambda r: (list(DIALECT_NAMES).index(r["dialect"]),
                               r["target"] == "tutorial", order.get(r["endpoint"], 9), r["size"]))
    for r in boards:
        name = ENDPOINTS[r["endpoint"]]
        if r["target"] == "tutorial":
            name = "tutorial design `GET /`"
        lines.append(row(DIALECT_NAMES[r["dialect"]], fmt_size(r["size"]), name, r, ceiling_rps))
    return "\n".join(lines)


def row(database, size, endpoint, r, ceiling_rps):
    errors = r["errors"] + r.get("locked", 0)
    size_bytes = f"{r['body_bytes']:,}" if r.get("body_bytes") is not None else ""
    return (f"| {database} | {size} | {endpoint} | {fmt_rps(r['rps'])} | "
            f"{r['rps'] / ceiling_rps:.3f} | {ms(r['p50_us'])} | {ms(r['p99_us'])} | "
            f"{r['p99_us'] / max(r['p50_us'], 1):.1f} | {size_bytes} | {errors} | "
            f"{r.get('database_cores', 0):.2f} | {r['other_cores']:.2f} |")


def find(results, target, dialect, size, endpoint):
    for r in results:
        if (r["target"], r.get("dialect"), r.get("size"), r["endpoint"]) == (target, dialect, size, endpoint):
            return r
    return None


def targets(results, ceiling_rps, sizes, dialects):
    """Each target of issues 5 and 15, checked against this run: (target, where, measured, met).
    Issue 5 set the scale, tail and posting targets; issue 15 the ratios to the ceiling, with
    production settings (rate limiter and duplicate guard on), checked here at the worst size."""
    checks = []
    small, large = min(sizes), max(sizes)
    for dialect in dialects:
        name = DIALECT_NAMES[dialect]
        if dialect in ("sqlite", "postgresql") and small != large:
            for endpoint in ("page", "older", "poll"):
                a, b = (find(results, "board", dialect, s, endpoint) for s in (small, large))
                if a and b:
                    ratio = b["p50_us"] / a["p50_us"]
                    checks.append((f"scale: p50 at {large:,} ≤ 1.2 × p50 at {small:,}",
                                   f"{name} {ENDPOINTS[endpoint]}",
                                   f"{ratio:.2f}× ({ms(a['p50_us'])} → {ms(b['p50_us'])} ms)",
                                   ratio <= 1.2))
        for endpoint, goal in (("page", 0.35), ("older", 0.35), ("poll", 0.60),
                               ("post_htmx", {"sqlite": 0.25}.get(dialect, 0.15))):
            found = [r for r in results if r["target"] == "board" and r["dialect"] == dialect
                     and r["endpoint"] == endpoint]
            if not found:
                continue
            worst = min(found, key=lambda r: r["rps"])
            ratio = worst["rps"] / ceiling_rps
            label = {"page": "page", "older": "page", "poll": "poll", "post_htmx": "htmx post"}[endpoint]
            checks.append((f"{label}: ≥ {goal:.2f} of ceiling", f"{name} {ENDPOINTS[endpoint]}",
                           f"{ratio:.3f} (worst size: {worst['size']:,}, {fmt_rps(worst['rps'])} req/s)",
                           ratio >= goal))
        posts = [r for r in results if r["target"] == "board" and r["dialect"] == dialect
                 and r["endpoint"].startswith("post")]
        if posts:
            locked = sum(r.get("locked", 0) for r in posts)
            failed = sum(r["errors"] for r in posts)
            checks.append(("posts: no \"database is locked\", no failed request", f"{name} posts",
                           f"{locked} locked, {failed} failed of {sum(r['requests'] for r in posts):,}",
                           locked == 0 and failed == 0))
        pages = [r for r in results if r["target"] == "board" and r["dialect"] == dialect
                 and r["endpoint"] == "page"]
        if pages:
            worst = max(pages, key=lambda r: r["p99_us"] / r["p50_us"])
            ratio = worst["p99_us"] / worst["p50_us"]
            checks.append(("tail: p99 of `GET /` ≤ 3 × p50", f"{name} (worst size: {worst['size']:,})",
                           f"{ratio:.2f}× ({ms(worst['p50_us'])} / {ms(worst['p99_us'])} ms)",
                           ratio <= 3))
    return checks


def open_board_checks(open_run):
    """Issue 15's open-board targets, at the most tabs measured on each database."""
    checks = []
    interval = open_run["args"]["interval"]
    most = max(r["tabs"] for r in open_run["results"])
    for r in open_run["results"]:
        if r["tabs"] != most:
            continue
        where = f"{DIALECT_NAMES[r['dialect']]}, {r['tabs']:,} tabs on {r['boards_with_tabs']:,} boards"
        checks.append(("open boards: poll p99 ≤ 250 ms", where, f"{r['p99_ms']} ms",
                       r["p99_ms"] is not None and r["p99_ms"] <= 250))
        share = r["delivered_share"]
        checks.append((f"open boards: a new comment on ≥ 99 % of its board's tabs within "
                       f"{interval + 1:g} s", where,
                       "no post" if share is None else f"{share * 100:.1f} % of {r['deliveries']:,}",
                       share is not None and share >= 0.99))
    return checks


def page_scale(results, sizes, dialects, goal=1.2):
    """The board page's median at the largest size over its median at the smallest, per database
    ("Cheap at a million"), with what each page showed. The rounds measured the sizes in turn, so
    each round also gives a paired ratio; their median is shown beside the ratio of medians."""
    small, large = min(sizes), max(sizes)
    lines = []
    for dialect in dialects:
        a, b = (find(results, "board", dialect, size, "page") for size in (small, large))
        if not (a and b) or small == large:
            continue
        ratio = b["p50_us"] / a["p50_us"]
        rounds = list(zip(a.get("repeats", [a]), b.get("repeats", [b])))
        paired = statistics.median(y["p50_us"] / x["p50_us"] for x, y in rounds)
        lines.append(
            f"| {DIALECT_NAMES[dialect]} | {ms(a['p50_us'])} | {ms(b['p50_us'])} | **{ratio:.2f}×** | "
            f"{paired:.2f}× ({len(rounds)}) | {'met' if ratio <= goal else '**missed**'} | "
            f"{shown(a)} | {shown(b)} | {max(a['other_cores'], b['other_cores']):.2f} |")
    if not lines:
        return ""
    return "\n".join([
        f"| database | p50 ms at {small:,} | p50 ms at {large:,} | ratio | paired ratio (rounds) "
        f"| ≤ {goal}× | page at {small:,} | page at {large:,} | other CPU |",
        "|---|---:|---:|---:|---:|---|---|---|---:|", *lines])


def shown(result):
    """threads / replies / "Show N more" links (largest N) of the page's body."""
    shape = result.get("shape")
    if not shape:
        return ""
    more = shape["more"]
    return (f"{shape['threads']} / {shape['replies']} / {len(more)}"
            + (f" (≤ {max(more)})" if more else ""))


def seed_table(seeds):
    if not any(s.get("threaded") for s in seeds):
        return "\n".join(["| database | comments | insert |", "|---|---:|---:|", *(
            f"| {DIALECT_NAMES[s['dialect']]} | {s['size']:,} | {s['insert_s']:.1f} s |" for s in seeds)])
    return "\n".join([
        "| database | comments | threads | replies | to a reply | threads with replies | ≥ 100 "
        "| of 500 | insert | check |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|", *(
            f"| {DIALECT_NAMES[s['dialect']]} | {s['size']:,} | {s['threads']:,} | "
            f"{s['replies']:,} | {s['reply_to_reply']:,} | {s['threads_with_replies']:,} | "
            f"{s['threads_100_plus']:,} | {s['threads_at_max']:,} | {s['insert_s']:.1f} s | "
            f"{s['check_s']:.1f} s |" for s in seeds)])


def tutorial_factors(results, dialects):
    lines = []
    for dialect in dialects:
        for t in sorted((r for r in results if r["target"] == "tutorial" and r["dialect"] == dialect),
                        key=lambda r: r["size"]):
            b = find(results, "board", dialect, t["size"], "page")
            if b and t["requests"]:
                lines.append(f"| {DIALECT_NAMES[dialect]} | {t['size']:,} | {fmt_rps(b['rps'])} | "
                             f"{fmt_rps(t['rps'])} | **{b['rps'] / t['rps']:,.0f}×** | "
                             f"{ms(t['p50_us'])} vs {ms(b['p50_us'])} | "
                             f"{t['body_bytes']:,} vs {b['body_bytes']:,} |")
    if not lines:
        return "The tutorial design completed no request in its measurement window."
    return "\n".join([
        "| database | comments | board `GET /` req/s | tutorial `GET /` req/s | factor | p50 ms (tutorial vs board) | bytes (tutorial vs board) |",
        "|---|---:|---:|---:|---:|---:|---:|", *lines])


def command_output(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine(server_versions):
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    import gunicorn

    facts = [
        ("CPU", model.group(1) if model else "unknown"),
        ("cores (nproc)", command_output(["nproc"])),
        ("memory", f"{int(memory.group(1)) / 1024 / 1024:.1f} GiB" if memory else "unknown"),
        ("kernel", platform.release()),
        ("Python", sys.version.split()[0]),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", server_versions.get("postgresql", "not run").split(" on ")[0]),
        ("MariaDB", server_versions.get("mariadb", "not run")),
        ("gunicorn", gunicorn.__version__),
        ("wrk", command_output(["wrk", "--version"]).splitlines()[0].split(" Copyright")[0]
         if command_output(["wrk", "--version"]) else "unknown"),
    ]
    return "\n".join(f"| {name} | {value} |" for name, value in facts)


def render(run):
    """The generated part of docs/benchmarks.md."""
    results, ceiling_rps = run["results"], run["ceiling_rps"]
    checks = targets(results, ceiling_rps, run["sizes"], run["databases"])
    open_run = run.get("open_boards")
    if open_run and open_run["results"]:
        checks += open_board_checks(open_run)
    check_lines = "\n".join(f"| {'met' if met else '**missed**'} | {goal} | {where} | {value} |"
                            for goal, where, value, met in checks)
    seeds = seed_table(run["seeds"])
    scale = page_scale(results, run["sizes"], run["databases"])
    ceilings = ", ".join(f"{fmt_rps(r['rps'])} ({r['label']})" for r in results if r["target"] == "ceiling")
    factors = tutorial_factors(results, run["databases"])
    parts = [
        BEGIN,
        f"## Latest run: {run['started']} ({run['minutes']:.1f} minutes)",
        "",
        "Command:",
        "",
        f"```sh\n{run['command']}\n```",
        "",
        "| machine | |",
        "|---|---|",
        machine(run["server_versions"]),
        "",
        f"Settings: gunicorn {run['workers']} sync workers on 127.0.0.1, app preloaded"
        f"{' and gc.freeze()' if run.get('gc_freeze', True) else ' without gc.freeze()'} "
        "(bench/gunicorn_conf.py), for every target; "
        f"wrk with {run['connections']} connections and {run['threads']} thread, {run['warmup']} s "
        f"warm-up (discarded) then {run['duration']} s per endpoint. Ceiling req/s: {ceilings}; "
        f"ratios use their mean, **{fmt_rps(ceiling_rps)}**. Production settings passed to the "
        f"board: {run['limiter_env']} (the duplicate guard at its default window).",
        "",
        "### Results",
        "",
        table(results, ceiling_rps),
        "",
        "`× ceiling` is the row's requests/s divided by the ceiling's; `bytes` is the body of one "
        "response to that GET; `errors` counts socket errors, timeouts, non-2xx/3xx responses and "
        "\"database is locked\" lines in gunicorn's log; `DB CPU` is the cores the database server's "
        "processes used during the measurement (of the machine's 2; SQLite runs inside the workers); "
        "`other CPU` is the cores that work outside "
        "the benchmark (other programs on the machine) used during the measurement, which was "
        f"repeated up to {run['retries']} times while that exceeded {run['disturbed']} cores, "
        "keeping the least disturbed attempt.",
        "",
    ]
    if any(r["target"] == "tutorial" for r in results):
        parts += ["### The tutorial's design (every comment on every page)", "",
                  f"Measured for {run.get('tutorial_duration', run['duration'])} s, with one request "
                  "as warm-up.", "", factors, ""]
    if scale:
        parts += ["### The board page at the smallest and the largest size", "",
                  "Median (p50) of `GET /` at each size, their ratio (target: ≤ 1.2), the median of "
                  "the rounds' paired ratios, and what the page showed: threads / replies / "
                  "\"Show N more replies\" links (the largest N).", "", scale, ""]
    if open_run and open_run["results"]:
        parts += ["### Many open boards", "",
                  "bench.open_boards after the endpoints (docs/benchmarks.md, \"Many open "
                  f"boards\", says how): `{open_run['command']}`.", "", open_run["table"], ""]
    parts += ["### Targets of issues 5 and 15, checked against this run", "",
              "| | target | where | measured |", "|---|---|---|---|", check_lines, "",
              "### Seeding (bulk insert after migrations, then the shape checked against the rows)",
              "", seeds, "", END]
    return "\n".join(parts)


def write_docs(path, generated, markers=(BEGIN, END)):
    """Replace the generated block between `markers` in `path`, keeping everything written
    around it (or add the block at the end)."""
    begin, end = markers
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = head + generated + tail
    else:
        text = (text or "# Benchmarks\n\n").rstrip("\n") + "\n\n" + generated + "\n"
    path.write_text(text)


def publish(generated, results_dir, filename, docs, markers=(BEGIN, END)):
    """A finished run's report: into its results folder, into `docs` between its markers (unless
    `docs` is "-"), and on standard output."""
    (results_dir / filename).write_text(generated + "\n")
    if docs != "-":
        write_docs(docs, generated, markers)
    print(generated)


if __name__ == "__main__":
    # Re-render a finished run: python -m bench.report bench/results/<time>/results.json [docs.md]
    import json

    run = json.loads(Path(sys.argv[1]).read_text())
    generated = render(run)
    if len(sys.argv) > 2:
        write_docs(sys.argv[2], generated)
    print(generated)
