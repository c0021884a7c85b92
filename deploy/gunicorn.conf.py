"""gunicorn settings for the board: `gunicorn -c deploy/gunicorn.conf.py` from anywhere.

The app's own settings (SECRET_KEY, DATABASE_URL, FLASK_CONFIG, BOARD_*) come from the environment
or the project's .env, as everywhere else. This file reads only the server's three knobs:

  GUNICORN_BIND     address to listen on (default 127.0.0.1:8000, behind nginx; 0.0.0.0:8000 in
                    a container)
  WEB_CONCURRENCY   worker processes (default 2 x CPU cores + 1)
  GUNICORN_TIMEOUT  seconds a worker may spend on one request before it is killed (default 30)
"""

import gc
import multiprocessing
import os
import sys
from pathlib import Path

# Import the app from the project root whatever the current directory is.
chdir = str(Path(__file__).resolve().parent.parent)
wsgi_app = "flask_app:app"

bind = [os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000"]
# Sync workers: each serves one request at a time, and a request here is short database work.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
# On SIGTERM (systemctl stop, docker stop) workers finish the request in hand, for up to this
# long; compose.yaml gives containers stop_grace_period: 30s to match.
graceful_timeout = 20
# Recycle workers now and then, so a slow leak cannot grow without bound. Not too often: a new
# worker starts with nothing kept (rendered pages, board versions, its database connection),
# and open tabs' polls reach 2,000 requests in seconds (docs/benchmarks.md, "Many open boards").
max_requests = 20000
max_requests_jitter = 2000

# Logs to stdout/stderr: journald or docker collects them. The access line ends with the
# request id the app returns in X-Request-ID (nginx's $request_id when the proxy is trusted),
# so one id finds a request in nginx's log, this log and the app's error log.
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = (
    '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'
)

# Who may set X-Forwarded-* is the app's decision alone (BOARD_TRUSTED_PROXIES, via ProxyFix),
# so gunicorn trusts no forwarding or scheme header itself, from any address.
forwarded_allow_ips = ""
secure_scheme_headers = {}

# gunicorn 25+ opens a control socket for `gunicornc` in $HOME/.gunicorn by default: a thread in
# the master, and a path two servers on one host would fight over. The board does not use it.
control_socket_disable = True

# Load the app once in the master, then fork: a configuration error stops the server at once
# with one message instead of every worker failing to boot, and workers share the loaded code.
# Deploying new code therefore needs a restart (systemctl restart board), not a HUP.
preload_app = True


def when_ready(server):
    # The preloaded app's objects will never be freed: keep the garbage collector from
    # touching them, so forked workers do not copy those memory pages just by collecting.
    gc.freeze()


def post_fork(server, worker):
    # The master built the app and its database engine. A pooled connection must never be
    # shared by two processes; the master opens none, but drop any without closing it (closing
    # would close the socket under its owner) so each worker opens its own.
    module = sys.modules.get(wsgi_app.partition(":")[0])
    if module is None:
        return
    from board.extensions import db

    with module.app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
