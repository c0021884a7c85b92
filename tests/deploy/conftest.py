"""Every way of deploying the board, checked for real where this machine can and statically where not.

- PythonAnywhere (test_pythonanywhere.py): deploy/pythonanywhere_wsgi.py is loaded the way
  PythonAnywhere's loader does (project path substituted, executed as a module in a fresh process)
  and serves a page and a post.
- gunicorn (test_gunicorn.py): deploy/gunicorn.conf.py serves real HTTP on loopback.
- nginx (test_nginx.py): deploy/nginx.conf in front of gunicorn, when nginx is installed.
- Containers (test_containers.py): there is no Docker engine here, so Dockerfile, compose.yaml and
  the docs that show them are checked against each other.
- Settings (test_settings.py): deploy/env.example and what stays out of git and the image.

This file holds what they share: paths, a migrated SQLite database, and reading the board's pages.
"""

import secrets
import urllib.parse
from pathlib import Path

import flask_migrate
import pytest
from bs4 import BeautifulSoup

from board import create_app
from board.extensions import db
from harness.gunicorn import Gunicorn
from harness.process import clean_env
from harness.raw_http import first_visit, request

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
SECRET_KEY = secrets.token_hex(32)


def migrate(url):
    app = create_app("testing", {"DATABASE_URL": url})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'board.sqlite'}"
    migrate(url)
    return url


def form_of(html):
    return BeautifulSoup(html, "html.parser").find("form", id="comment-form")


def comments_in(html):
    return [tag.get_text(" ", strip=True)
            for tag in BeautifulSoup(html, "html.parser").select(".comment")]


def post_comment(port, content, headers=None, context=None):
    """What a browser does: load the page, keep its session cookie, post the form."""
    headers = dict(headers or {})
    token, cookie, _ = first_visit(port, headers, context)
    body = urllib.parse.urlencode({"csrf_token": token, "content": content, "author": ""})
    headers |= {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    return request(port, "POST", "/comments", body=body, headers=headers, context=context)


def gunicorn(tmp_path, **settings):
    """gunicorn with deploy/gunicorn.conf.py, in production, with `settings` in its environment.
    Started from elsewhere: the config finds the project itself."""
    env = clean_env(FLASK_CONFIG="production", SECRET_KEY=SECRET_KEY, **settings)
    return Gunicorn(env, tmp_path / "gunicorn.log", config=GUNICORN_CONF, cwd=tmp_path)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "attack: attacks gunicorn directly to show what a test through nginx guards "
        "against (loopback only, bounded in sockets and seconds); -m 'not attack' skips them")
