"""Serving an app with gunicorn on loopback (harness.gunicorn) and driving it with wrk, each bounded
in time."""

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

from harness.gunicorn import ROOT, Gunicorn  # ROOT, the project: for bench.run and bench.profile too

WRK_SCRIPTS = Path(__file__).resolve().parent / "wrk"
CONF = Path(__file__).resolve().parent / "gunicorn_conf.py"


def gunicorn(app, env, log, workers=2):
    """`with gunicorn("flask_app:app", env, log) as server:` serves on 127.0.0.1:server.port.

    The same settings for every target: `workers` sync workers, bench/gunicorn_conf.py (preload,
    gc.freeze() as deploy/gunicorn.conf.py does), access log off. The clock may start at once:
    every worker has loaded the app.
    """
    return Gunicorn(env, log, app=app, config=CONF, workers=workers,
                    options=("--worker-class", "sync", "--log-level", "info", "--timeout", "120"))


def wrk_available():
    return shutil.which("wrk") is not None


def wrk(port, path, duration, connections=4, threads=1, headers=None, script="get.lua",
        script_args=(), timeout_s=30):
    """Run wrk for `duration` seconds; returns the JSON that bench/wrk/report.lua prints."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s",
               f"--timeout={timeout_s}s", "-s", str(WRK_SCRIPTS / script)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    if script_args:
        command += ["--", *script_args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True, text=True)
    try:
        out, err = process.communicate(timeout=duration + timeout_s + 30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise RuntimeError(f"wrk did not finish: {' '.join(command)}") from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    line = next((l for l in out.splitlines() if l.startswith("BENCH_JSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err.strip() or out.strip()}")
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    return result
