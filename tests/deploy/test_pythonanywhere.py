"""PythonAnywhere: deploy/pythonanywhere_wsgi.py is loaded the way PythonAnywhere's loader does
(project path substituted, executed as a module in a fresh process) and serves a page and a post."""

import json
import secrets
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from harness.process import clean_env
from tests.deploy.conftest import DEPLOY, ROOT, SECRET_KEY, comments_in, form_of, migrate

WSGI_FILE = DEPLOY / "pythonanywhere_wsgi.py"
WSGI_PLACEHOLDER = '"/home/username/board"'

# Runs in a fresh interpreter, outside the repository: PythonAnywhere imports the WSGI file as a
# module and serves its `application`; here werkzeug's test client calls it as a WSGI server would.
WSGI_DRIVER = r'''
import importlib.util
import json
import sys

from bs4 import BeautifulSoup
from werkzeug.test import Client

wsgi_file, content = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("_var_www_username_pythonanywhere_com_wsgi", wsgi_file)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)

# https, as on PythonAnywhere: the production session cookie is Secure and must come back.
base = "https://username.pythonanywhere.com"
client = Client(module.application)


def seen(response):
    return {"status": response.status_code, "headers": response.headers.to_wsgi_list(),
            "body": response.get_data(as_text=True)}


page = client.get("/", base_url=base)
form = BeautifulSoup(page.get_data(as_text=True), "html.parser").find("form", id="comment-form")
token = form.find("input", {"name": "csrf_token"})["value"]
# Flask-WTF checks the Referer on https, as a browser sends it.
posted = client.post("/comments", base_url=base, headers={"Referer": base + "/"},
                     data={"csrf_token": token, "author": "Deployer", "content": content})
after = client.get("/", base_url=base)
print(json.dumps({
    "flask_app": sys.modules["flask_app"].__file__,
    "board": sys.modules["board"].__file__,
    "responses": [seen(page), seen(posted), seen(after)],
}))
'''


def wsgi_file_for(project, tmp_path):
    """The WSGI file as a user saves it on PythonAnywhere: the project path line edited."""
    text = WSGI_FILE.read_text()
    assert text.count(WSGI_PLACEHOLDER) == 1, "the project path placeholder must appear once"
    path = tmp_path / "var_www_username_pythonanywhere_com_wsgi.py"
    path.write_text(text.replace(WSGI_PLACEHOLDER, json.dumps(str(project))))
    return path


def serve_through_wsgi_file(project, tmp_path, env, content):
    driver = tmp_path / "pythonanywhere_loader.py"
    driver.write_text(WSGI_DRIVER)
    elsewhere = tmp_path / "elsewhere"  # not the project: the file alone must find the code
    elsewhere.mkdir(exist_ok=True)
    result = subprocess.run(
        [sys.executable, str(driver), str(wsgi_file_for(project, tmp_path)), content],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def check_page_and_post(outcome, content):
    page, posted, after = outcome["responses"]
    assert page["status"] == 200
    assert form_of(page["body"]) is not None
    cookies = [value for name, value in page["headers"] if name == "Set-Cookie"]
    assert cookies and all("Secure" in cookie for cookie in cookies), "production config in use"
    assert posted["status"] == 303, posted["body"]
    assert dict(posted["headers"])["Location"] == "/"
    assert after["status"] == 200
    assert any(content in comment for comment in comments_in(after["body"]))


@pytest.fixture(params=["sqlite", "mariadb"])
def pythonanywhere_database(request, servers, sqlite_url):
    if request.param == "sqlite":
        return sqlite_url
    # Named as PythonAnywhere names MySQL databases, `username$board`: the $ must survive the URL.
    admin = make_url(servers("mariadb").admin_url())
    name = f"username${secrets.token_hex(4)}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE `{name}`"))
    engine.dispose()
    url = admin.set(database=name).render_as_string(hide_password=False)
    migrate(url)
    return url


def test_pythonanywhere_wsgi_file_serves_the_page_and_a_post(pythonanywhere_database, tmp_path):
    content = "Hello from PythonAnywhere ✓ 🚀"
    env = clean_env(DATABASE_URL=pythonanywhere_database, SECRET_KEY=SECRET_KEY,
                    FLASK_CONFIG="production")
    outcome = serve_through_wsgi_file(ROOT, tmp_path, env, content)
    assert Path(outcome["flask_app"]) == ROOT / "flask_app.py"
    check_page_and_post(outcome, content)


def test_pythonanywhere_settings_come_from_dotenv_beside_the_project(sqlite_url, tmp_path):
    # A clone somewhere else, configured only by its .env: the web app sees no exported variable.
    project = tmp_path / "home" / "username" / "board"
    for folder in ("board", "templates", "static"):
        shutil.copytree(ROOT / folder, project / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "flask_app.py", project)
    (project / ".env").write_text(
        f"DATABASE_URL={sqlite_url}\nSECRET_KEY={SECRET_KEY}\nFLASK_CONFIG=production\n"
    )
    content = "Configured by .env"

    outcome = serve_through_wsgi_file(project, tmp_path, clean_env(), content)

    assert Path(outcome["board"]).parent == project / "board"
    check_page_and_post(outcome, content)
    with sqlite3.connect(make_url(sqlite_url).database) as connection:
        assert connection.execute("SELECT content FROM comments").fetchall() == [(content,)]


def test_pythonanywhere_wsgi_file_holds_no_settings():
    text = WSGI_FILE.read_text()
    assert "from flask_app import app as application" in text
    assert "EDIT 1" in text and "EDIT 2" in text and "Virtualenv" in text
    for secret in ("SECRET_KEY=", "DATABASE_URL=", "environ", "password"):
        assert secret not in text
