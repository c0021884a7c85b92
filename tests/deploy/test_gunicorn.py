"""gunicorn: deploy/gunicorn.conf.py serves real HTTP on loopback, and gives gunicorn the settings
its environment asks for."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.process import clean_env
from harness.raw_http import request
from tests.deploy.conftest import GUNICORN_CONF, ROOT, comments_in, form_of, gunicorn, post_comment


def test_gunicorn_serves_the_board_and_logs_request_ids(sqlite_url, tmp_path):
    with gunicorn(tmp_path, DATABASE_URL=sqlite_url, WEB_CONCURRENCY="2") as server:
        page = request(server.port, "GET", "/")
        health = request(server.port, "GET", "/healthz")
        posted = post_comment(server.port, "Served by gunicorn")
        after = request(server.port, "GET", "/")
        graceful = server.stop()

    assert page.status == 200 and form_of(page.text) is not None
    assert health.status == 200 and json.loads(health.text) == {"status": "ok"}
    assert posted.status == 303
    assert "Served by gunicorn" in " ".join(comments_in(after.text))
    assert graceful == 0, server.log
    log = server.log
    assert log.count("Booting worker") >= 2
    for response, line in ((page, '"GET / HTTP/1.1" 200'), (health, '"GET /healthz HTTP/1.1" 200')):
        request_id = response.headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
        assert any(line in entry and f"request_id={request_id}" in entry
                   for entry in log.splitlines()), log
    assert "Traceback" not in log


@pytest.mark.parametrize("trusted", [1, 0])
def test_forwarded_headers_count_only_from_trusted_proxies(sqlite_url, tmp_path, trusted):
    # The rate limiter keys on the client address: one post a minute per address. One worker,
    # since memory:// counts are per process.
    settings = {"DATABASE_URL": sqlite_url, "WEB_CONCURRENCY": "1",
                "BOARD_TRUSTED_PROXIES": str(trusted), "BOARD_POST_LIMIT": "1 per minute"}
    with gunicorn(tmp_path, **settings) as server:
        statuses = [
            post_comment(server.port, f"From {address}", {"X-Forwarded-For": address}).status
            for address in ("203.0.113.7", "198.51.100.9")
        ]
        echoed = request(server.port, "GET", "/healthz", headers={"X-Request-ID": "from-proxy-1"})

    if trusted:
        assert statuses == [303, 303]  # two clients behind the proxy, one post each
        assert echoed.headers["X-Request-ID"] == "from-proxy-1"
    else:
        assert statuses == [303, 429]  # one client (the peer) that forged a header
        assert echoed.headers["X-Request-ID"] != "from-proxy-1"


def gunicorn_settings(**env):
    """The settings deploy/gunicorn.conf.py gives gunicorn under `env`."""
    code = ("import json, runpy, sys; s = runpy.run_path(sys.argv[1]); "
            "print(json.dumps({k: s[k] for k in ('bind', 'workers', 'timeout', "
            "'graceful_timeout', 'access_log_format', 'preload_app', 'chdir')}))")
    result = subprocess.run([sys.executable, "-c", code, str(GUNICORN_CONF)],
                            env=clean_env(**env), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_gunicorn_config_defaults_and_overrides():
    defaults = gunicorn_settings()
    assert defaults["bind"] == ["127.0.0.1:8000"]
    assert defaults["workers"] == 2 * os.cpu_count() + 1
    assert "%({x-request-id}o)s" in defaults["access_log_format"]
    assert 0 < defaults["graceful_timeout"] and 0 < defaults["timeout"]
    assert Path(defaults["chdir"]) == ROOT
    chosen = gunicorn_settings(WEB_CONCURRENCY="3", GUNICORN_BIND="0.0.0.0:9000",
                               GUNICORN_TIMEOUT="45")
    assert (chosen["workers"], chosen["bind"], chosen["timeout"]) == (3, ["0.0.0.0:9000"], 45)
