"""Serving an app with gunicorn on loopback and driving it with wrk, each bounded in time."""

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPTS = Path(__file__).resolve().parent / "wrk"
CONF = Path(__file__).resolve().parent / "gunicorn_conf.py"


class Gunicorn(contextlib.AbstractContextManager):
    """`with Gunicorn("flask_app:app", env, log) as server:` serves on 127.0.0.1:server.port.

    The same settings for every target: `workers` sync workers, bench/gunicorn_conf.py (preload,
    gc.freeze() as deploy/gunicorn.conf.py does), access log off.
    """

    def __init__(self, app, env, log, workers=2):
        self.app = app
        self.env = env
        self.log = Path(log)
        self.workers = workers
        self.port = free_port()
        self.process = None

    def __enter__(self):
        command = [sys.executable, "-m", "gunicorn", "--config", str(CONF),
                   "--workers", str(self.workers),
                   "--worker-class", "sync", "--bind", f"127.0.0.1:{self.port}",
                   "--chdir", str(ROOT), "--error-logfile", str(self.log), "--log-level", "info",
                   "--timeout", "120", self.app]
        # Own session: a Ctrl-C reaches the benchmark, which then stops gunicorn itself.
        self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(self.port, seconds=60, process=self.process)
            self.wait_for_workers()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_for_workers(self, seconds=60):
        """Both workers must have loaded the app before the clock starts."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            booted = self.log.read_text(errors="replace").count("Booting worker")
            if booted >= self.workers:
                time.sleep(0.5)  # the app is preloaded; give the workers a moment to settle
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: see {self.log}")
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn workers did not boot in {seconds}s: see {self.log}")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def __exit__(self, *exc):
        self.stop()
        return False

    def log_count(self, text):
        return self.log.read_text(errors="replace").count(text) if self.log.exists() else 0


def request(port, method, path, headers=None, body=None, timeout=120):
    """One request; returns (status, headers, body bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def browser_session(port):
    """GET / as a first visit does: the form's csrf_token, the session cookie it is bound to,
    and the page."""
    status, headers, body = request(port, "GET", "/")
    if status != 200:
        raise RuntimeError(f"GET / answered {status}")
    match = re.search(rb'name="csrf_token" value="([^"]+)"', body)
    cookies = [value.split(";", 1)[0] for name, value in headers if name.lower() == "set-cookie"]
    session = [cookie for cookie in cookies if cookie.startswith("session=")]
    if not match or not session:
        raise RuntimeError("GET / gave no csrf_token field or no session cookie")
    return match.group(1).decode(), session[0], body


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
