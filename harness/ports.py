"""Free TCP ports on 127.0.0.1, and waiting until a server listens on one."""

import contextlib
import os
import socket
import time


def free_port():
    """A free TCP port below the ephemeral range, so it cannot collide with client sockets."""
    for port in range(21000 + os.getpid() % 5000, 32000):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32000")


def free_ports(count):
    """`count` distinct free ports: each is held while the next is searched for."""
    ports = []
    with contextlib.ExitStack() as held:
        for _ in range(count):
            ports.append(free_port())
            held.enter_context(socket.socket()).bind(("127.0.0.1", ports[-1]))
    return ports


def wait_for_port(port, seconds=30, process=None):
    """Return once something accepts connections on `port`; fail early if `process` exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on port {port} after {seconds}s")


def wait_until_closed(port, seconds=30):
    """Return once nothing accepts connections on `port` any more."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} still accepts connections after {seconds}s")
