"""gunicorn settings shared by every target of the benchmark (ceiling, tutorial, board).

As deploy/gunicorn.conf.py runs the board in production: the app is loaded once in the master
and forked (preload), and the garbage collector is told to leave the loaded app's objects alone
(`gc.freeze()`), unless BENCH_GC_FREEZE=0. Workers, bind address and logs come from the command
line (bench/load.py). No access log: it is not part of what is measured.
"""

import gc
import os

preload_app = True
# gunicorn 25+ would open a control socket in $HOME/.gunicorn; two servers would fight over it.
control_socket_disable = True


def when_ready(server):
    if os.environ.get("BENCH_GC_FREEZE", "1") != "0":
        gc.collect()
        gc.freeze()


def post_fork(server, worker):
    # As deploy/gunicorn.conf.py: a pooled connection the master may have opened must never be
    # shared by two processes; drop any (without closing the socket) so each worker opens its own.
    import sys

    for name in ("flask_app", "bench.tutorial_app"):
        app = getattr(sys.modules.get(name), "app", None)
        extension = app.extensions.get("sqlalchemy") if app is not None else None
        if extension is None:
            continue
        with app.app_context():
            for engine in extension.engines.values():
                engine.dispose(close=False)
