"""Redis on loopback, for the shared rate-limit and duplicate counts several workers use."""

import shutil
from pathlib import Path

from .ports import free_port
from .process import Server, clean_env


class Unavailable(Exception):
    """redis-server is not on this machine; the message says how to install it."""


class Redis(Server):
    """`with Redis(folder) as redis:` serves on redis.url until the block ends: no persistence,
    no password, bound to 127.0.0.1 only."""

    def __init__(self, folder):
        binary = shutil.which("redis-server")
        if binary is None:
            raise Unavailable("redis-server is not installed: apt-get install redis-server")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder),
                   "--save", "", "--appendonly", "no", "--protected-mode", "yes"]
        super().__init__(command, folder / "redis.log", port, clean_env(), folder)
        self.url = f"redis://127.0.0.1:{port}/0"

    def restart(self):
        """After stop(): the same server again, on the same port and URL, with nothing in it."""
        self.__enter__()
