"""gunicorn on loopback: the one way the tests and the benchmarks start it."""

import sys
import time
from pathlib import Path

from .ports import free_port
from .process import Server

ROOT = Path(__file__).resolve().parent.parent


class Gunicorn(Server):
    """`with Gunicorn(env, log, app="flask_app:app") as server:` serves on 127.0.0.1:server.port.

    `config` is a gunicorn config file (None: gunicorn's defaults); `app` may be left to it.
    `workers`, when given, is passed on, and the server counts as started only once that many
    workers have booted. `options` are more command-line options. gunicorn's log goes to `log`.
    """

    def __init__(self, env, log, app=None, config=None, workers=None, options=(), cwd=ROOT):
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                   # gunicorn 25+ opens a control socket in $HOME/.gunicorn; servers would share it.
                   "--no-control-socket"]
        if config:
            command += ["--config", str(config)]
        if workers:
            command += ["--workers", str(workers)]
        command += [*options, *([app] if app else [])]
        super().__init__(command, log, port, env, cwd)
        self.workers = workers

    def wait_until_ready(self):
        super().wait_until_ready()
        if not self.workers:
            return
        deadline = time.monotonic() + self.seconds
        while self.log.count("Booting worker") < self.workers:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn workers did not boot in {self.seconds}s")
            time.sleep(0.1)
        time.sleep(0.5)  # a preloaded app's workers: give them a moment to settle
