"""A server process on loopback, stopped in time whatever happens, and the environment it gets."""

import contextlib
import ctypes
import os
import signal
import subprocess
from pathlib import Path

from .ports import wait_for_port, wait_until_closed

# Settings the starting process may carry that must not leak into the servers it starts.
LEAKY = ("DATABASE_URL", "SECRET_KEY", "FLASK_", "BOARD_", "GUNICORN_", "WEB_CONCURRENCY",
         "PYTHONPATH", "PORT")


def clean_env(**settings):
    """This process's environment without LEAKY settings, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(LEAKY)}
    return env | settings


def die_with_parent():
    """In the child, before exec: SIGTERM when the starting process dies, however it dies."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Server:
    """`with Server(command, log, port, env, cwd) as server:` runs `command` until the block ends.

    Its output goes to the file `log` (`server.log` reads it). It runs in its own session, so a
    Ctrl-C reaches only the starter, which then stops it; it gets SIGTERM if the starter dies.
    """

    def __init__(self, command, log, port, env, cwd, seconds=60):
        self.command, self.log_path, self.port = command, Path(log), port
        self.env, self.cwd, self.seconds = env, cwd, seconds
        self.process = None

    def __enter__(self):
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=die_with_parent,
            )
        try:
            self.wait_until_ready()
        except RuntimeError as error:
            self.stop()
            raise RuntimeError(f"{self.command[0]} did not start: {error}\n{self.log}") from None
        except BaseException:
            self.stop()
            raise
        return self

    def wait_until_ready(self):
        wait_for_port(self.port, seconds=self.seconds, process=self.process)

    def stop(self, sig=signal.SIGTERM):
        """Send `sig`, wait, and kill the whole session if that was not enough; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.process.returncode

    def kill(self):
        """SIGKILL the server and every process it started (its session) at once, as when its
        host dies: nothing gets to finish or close anything. Returns once the server is gone and
        its port refuses connections (children that shared the socket die a moment later)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        wait_until_closed(self.port)

    def __exit__(self, *exc):
        self.stop()

    @property
    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
