"""Where does a request's time go? Profile the board's gunicorn workers under wrk load with py-spy.

    .venv/bin/python -m bench.profile --database sqlite --size 1000 --endpoint page --duration 10

Seeds a board as bench.run does, serves it with the same gunicorn settings, drives one endpoint
with wrk and records both workers with `py-spy record --subprocesses` (sampling, from outside the
process; pip install py-spy, see requirements-dev.txt). Prints the share of the workers' busy
samples spent in each function (inclusive and self) and in each library, and keeps the raw
collapsed stacks (for flamegraph tools or speedscope) in bench/results/.

Sampling slows the workers a little, so the req/s printed here is below bench.run's.
"""

import argparse
import collections
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

from harness.process import clean_env

from .databases import Databases
from .endpoints import NAMES, board_endpoints, probe
from .load import ROOT, gunicorn, wrk
from .run import limiter_env, log
from .seed import seed

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql", "mariadb"])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--endpoint", default="page", choices=NAMES)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second (250)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--top", type=int, default=40, help="functions to list (40)")
    parser.add_argument("--app", default="flask_app:app", help="WSGI app to profile (flask_app:app)")
    return parser.parse_args(argv)


def library(path):
    """py-spy names files by module path: 'jinja2/environment.py', 'socket.py', '<frozen runpy>'."""
    path = path.strip("<>").removeprefix("frozen ")
    return path.split("/", 1)[0].removesuffix(".py")


def frames(line):
    stack, _, count = line.rpartition(" ")
    parsed = []
    for frame in stack.split(";"):
        match = FRAME.match(frame)
        function, path = (match["function"], match["file"]) if match else (frame, "?")
        parsed.append((function, path))
    return parsed, int(count)


def summarise(raw, top):
    inclusive, selfs, libs = collections.Counter(), collections.Counter(), collections.Counter()
    total = 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        stack, count = frames(line)
        # Drop the thread and process labels py-spy may put at the root.
        stack = [(f, p) for f, p in stack if p != "?" or f.startswith("<")]
        if not stack:
            continue
        total += count
        seen = set()
        for function, path in stack:
            key = f"{function}  [{path}]"
            if key not in seen:
                inclusive[key] += count
                seen.add(key)
        leaf_function, leaf_path = stack[-1]
        selfs[f"{leaf_function}  [{leaf_path}]"] += count
        # A sample belongs to the innermost library that is not the standard library's plumbing.
        libs[library(leaf_path)] += count
    lines = [f"{total} samples of busy worker time", "", "inclusive (share of samples with the function on the stack):"]
    # Frames on (nearly) every stack are gunicorn's and runpy's plumbing: start below them.
    shown = [(key, n) for key, n in inclusive.most_common() if n < 0.9 * total][:top]
    lines += [f"  {100 * n / total:5.1f}%  {key}" for key, n in shown]
    lines += ["", "self (share of samples where the function itself was running):"]
    lines += [f"  {100 * n / total:5.1f}%  {key}" for key, n in selfs.most_common(top // 2)]
    lines += ["", "by the library of the innermost frame:"]
    lines += [f"  {100 * n / total:5.1f}%  {key}" for key, n in libs.most_common(20)]
    return "\n".join(lines)


def main(argv=None):
    args = parse(argv)
    pyspy = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
    if not os.path.exists(pyspy):
        sys.exit("bench.profile: py-spy is not installed (pip install -r requirements-dev.txt)")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"profile-{stamp}"
    out.mkdir(parents=True)
    with Databases() as databases:
        url = databases.url(args.database)
        seeded = seed(url, args.size)
        env = clean_env(FLASK_CONFIG="production", SECRET_KEY=secrets.token_hex(32), DATABASE_URL=url,
                        **limiter_env())
        with gunicorn(args.app, env, out / "gunicorn.log", workers=args.workers) as server:
            endpoint = next(e for e in board_endpoints(server.port, seeded, secrets.token_hex(3))
                            if e.name == args.endpoint)
            probe(server.port, endpoint)
            wrk(server.port, endpoint.path, 2, args.connections, 1, endpoint.headers,
                endpoint.script, endpoint.script_args)
            raw = out / "stacks.txt"
            spy = subprocess.Popen(
                [pyspy, "record", "--pid", str(server.process.pid), "--subprocesses",
                 "--rate", str(args.rate), "--duration", str(args.duration), "--nonblocking",
                 "--format", "raw", "--output", str(raw)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
            try:
                time.sleep(0.5)
                result = wrk(server.port, endpoint.path, args.duration - 1, args.connections, 1,
                             endpoint.headers, endpoint.script, endpoint.script_args)
                spy.wait(timeout=args.duration + 60)
            finally:
                if spy.poll() is None:
                    os.killpg(spy.pid, signal.SIGKILL)
                    spy.wait()
    log(f"{args.database} {args.size:,} {args.endpoint}: {result['rps']:.0f} req/s while sampled, "
        f"p50 {result['p50_us'] / 1000:.2f} ms")
    summary = summarise(raw.read_text(), args.top)
    (out / "summary.txt").write_text(summary + "\n")
    print(summary)
    log(f"raw stacks and summary in {out}")


if __name__ == "__main__":
    main()
