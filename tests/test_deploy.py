"""Every way of deploying the board, checked for real where this machine can and statically where not.

- PythonAnywhere: deploy/pythonanywhere_wsgi.py is loaded the way PythonAnywhere's loader does
  (project path substituted, executed as a module in a fresh process) and serves a page and a post.
- gunicorn (deploy/gunicorn.conf.py) serves real HTTP on loopback; nginx (deploy/nginx.conf) in front
  of it when nginx is installed.
- Containers: there is no Docker engine here, so Dockerfile, compose.yaml and the docs that show them
  are checked against each other.
"""

import ctypes
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
import yaml
from bs4 import BeautifulSoup
from sqlalchemy.engine import make_url

from board import create_app
from board.config import Config, check_driver_installed, normalise_database_url
from board.extensions import db
from tests.conftest import unavailable
from tests.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
WSGI_FILE = DEPLOY / "pythonanywhere_wsgi.py"
WSGI_PLACEHOLDER = '"/home/username/board"'
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
SECRET_KEY = secrets.token_hex(32)
# Settings a test process may carry that must not leak into the servers it starts.
LEAKY = ("DATABASE_URL", "SECRET_KEY", "FLASK_", "BOARD_", "GUNICORN_", "WEB_CONCURRENCY",
         "PYTHONPATH", "PORT")


def clean_env(**settings):
    env = {key: value for key, value in os.environ.items() if not key.startswith(LEAKY)}
    return env | settings


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


# --- PythonAnywhere -------------------------------------------------------------------------------

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


# --- gunicorn and nginx ---------------------------------------------------------------------------

class Response:
    def __init__(self, response):
        self.status = response.status
        self.headers = response.headers
        self.text = response.read().decode()


def request(port, method, path, body=None, headers=None, context=None):
    if context is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    else:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=20, context=context)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        return Response(connection.getresponse())
    finally:
        connection.close()


def post_comment(port, content, headers=None, context=None):
    """What a browser does: load the page, keep its session cookie, post the form."""
    headers = dict(headers or {})
    page = request(port, "GET", "/", headers=headers, context=context)
    token = form_of(page.text).find("input", {"name": "csrf_token"})["value"]
    cookie = SimpleCookie(page.headers["Set-Cookie"])["session"]
    body = urllib.parse.urlencode({"csrf_token": token, "content": content, "author": ""})
    headers |= {"Cookie": f"session={cookie.value}",
                "Content-Type": "application/x-www-form-urlencoded"}
    return request(port, "POST", "/comments", body=body, headers=headers, context=context)


def die_with_parent():
    """In the child, before exec: SIGTERM when the test process dies, however it dies."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Server:
    """A server process on loopback, stopped in time whatever happens."""

    def __init__(self, command, log, port, env, cwd):
        self.command, self.log_path, self.port, self.env, self.cwd = command, log, port, env, cwd
        self.process = None

    def __enter__(self):
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=die_with_parent,
            )
        try:
            wait_for_port(self.port, seconds=30, process=self.process)
        except RuntimeError as error:
            self.stop()
            pytest.fail(f"{self.command[0]} did not start: {error}\n{self.log}")
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.process.returncode

    def __exit__(self, *exc):
        self.stop()

    @property
    def log(self):
        return self.log_path.read_text(errors="replace")


def gunicorn(tmp_path, **settings):
    port = free_port()
    env = clean_env(GUNICORN_BIND=f"127.0.0.1:{port}", FLASK_CONFIG="production",
                    SECRET_KEY=SECRET_KEY, **settings)
    command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)]
    # Started from elsewhere: the config finds the project itself.
    return Server(command, tmp_path / "gunicorn.log", port, env, cwd=tmp_path)


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


NGINX_CONF = DEPLOY / "nginx.conf"


def nginx_directives(name):
    return re.findall(rf"^\s*{name}\s+([^;]+);", NGINX_CONF.read_text(), re.MULTILINE)


def test_nginx_config_matches_the_app():
    assert nginx_directives("client_max_body_size") == [f"{Config.MAX_CONTENT_LENGTH // 1024}k"]
    static = NGINX_CONF.read_text().split("location /static/", 1)[1].split("}", 1)[0]
    assert re.search(r"alias\s+\S+/static/;", static)
    assert "expires max" in static and "immutable" in static
    headers = dict(value.split(None, 1) for value in nginx_directives("proxy_set_header"))
    assert headers["Host"] == "$host"
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Forwarded-Host"] == "$host"  # overwritten: ProxyFix trusts it
    assert headers["X-Request-ID"] == "$request_id"
    assert "BOARD_TRUSTED_PROXIES=1" in NGINX_CONF.read_text()


def nginx_binary():
    found = (os.environ.get("BOARD_TEST_NGINX") or shutil.which("nginx")
             or shutil.which("nginx", path="/usr/sbin"))
    if not found:
        unavailable("nginx not found (apt-get install nginx, or set BOARD_TEST_NGINX)")
    if not shutil.which("openssl"):
        unavailable("openssl not found (apt-get install openssl)")
    return found


def two_free_ports():
    first = free_port()
    with socket.socket() as holder:  # held, so that the second search skips it
        holder.bind(("127.0.0.1", first))
        return first, free_port()


def nginx_in_front(tmp_path, app_port):
    """deploy/nginx.conf with only its host-specific lines changed, in a throwaway nginx."""
    binary = nginx_binary()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=board.example.org", "-addext", "subjectAltName=DNS:board.example.org",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    http_port, https_port = two_free_ports()
    site = NGINX_CONF.read_text()
    for old, new in {
        "listen [::]:80;": "", "listen [::]:443 ssl;": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "127.0.0.1:8000": f"127.0.0.1:{app_port}",
        "/srv/board/app/static/": f"{ROOT / 'static'}/",
        "/etc/letsencrypt/live/board.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/board.example.org/privkey.pem": str(key),
        "/var/log/nginx/board.access.log": str(tmp_path / "access.log"),
        "/var/log/nginx/board.error.log": str(tmp_path / "error.log"),
    }.items():
        assert old in site, old
        site = site.replace(old, new)
    (tmp_path / "board.conf").write_text(site)
    temp = tmp_path / "nginx-temp"
    temp.mkdir()
    (tmp_path / "nginx.conf").write_text(f"""
daemon off;
master_process off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-main.log;
events {{ worker_connections 64; }}
http {{
    types {{ text/html html; text/css css; application/javascript js; image/svg+xml svg; }}
    access_log {tmp_path}/nginx-access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {tmp_path}/board.conf;
}}
""")
    command = [binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e",
               str(tmp_path / "nginx-main.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    server = Server(command, tmp_path / "nginx.out", https_port, clean_env(), cwd=tmp_path)
    server.http_port = http_port
    server.context = ssl.create_default_context(cafile=str(cert))
    server.context.check_hostname = False  # we connect to 127.0.0.1 with Host: board.example.org
    return server


def test_nginx_in_front_of_gunicorn(sqlite_url, tmp_path):
    settings = {"DATABASE_URL": sqlite_url, "WEB_CONCURRENCY": "1", "BOARD_TRUSTED_PROXIES": "1"}
    with gunicorn(tmp_path, **settings) as app_server:
        with nginx_in_front(tmp_path, app_server.port) as proxy:
            browser = {"Host": "board.example.org", "Referer": "https://board.example.org/"}
            plain = request(proxy.http_port, "GET", "/", headers={"Host": "board.example.org"})
            page = request(proxy.port, "GET", "/", headers=browser, context=proxy.context)
            css = BeautifulSoup(page.text, "html.parser").find("link", rel="stylesheet")["href"]
            static = request(proxy.port, "GET", css, headers=browser, context=proxy.context)
            posted = post_comment(proxy.port, "Through nginx", browser, proxy.context)
            too_big = request(proxy.port, "POST", "/comments", body="x" * (64 * 1024 + 1),
                              headers=browser, context=proxy.context)
            after = request(proxy.port, "GET", "/", headers=browser, context=proxy.context)
        app_server.stop()

    assert plain.status == 301 and plain.headers["Location"] == "https://board.example.org/"
    assert page.status == 200 and form_of(page.text) is not None
    assert re.fullmatch(r"/static/board\.css\?v=[0-9a-f]+", css)
    assert static.status == 200 and static.headers["Server"].startswith("nginx")
    cache = ", ".join(static.headers.get_all("Cache-Control"))
    assert "immutable" in cache and "max-age=315360000" in cache
    # Secure cookie, https seen through X-Forwarded-Proto, Referer checked against the Host.
    assert posted.status == 303, posted.text
    assert "Through nginx" in " ".join(comments_in(after.text))
    assert too_big.status == 413
    # One id per request, from nginx to the app and into both access logs.
    request_id = page.headers["X-Request-ID"]
    assert f"request_id={request_id}" in (tmp_path / "access.log").read_text()
    assert f"request_id={request_id}" in app_server.log
    assert "/static/" not in app_server.log  # nginx served it
    assert '"POST /comments HTTP/1.1" 413' not in app_server.log


# --- containers -------------------------------------------------------------------------------------

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]


def dockerfile_instructions():
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def exec_form(arguments):
    return json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)


def test_dockerfile_builds_a_slim_non_root_image_running_gunicorn():
    steps = dockerfile_instructions()
    names = [name for name, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    copies = [index for index, (name, args) in enumerate(steps) if name == "COPY"]
    requirements = next(index for index in copies if "requirements.txt" in steps[index][1])
    install = next(index for index, (name, args) in enumerate(steps)
                   if name == "RUN" and "pip install" in args and "requirements.txt" in args)
    code = next(index for index in copies if steps[index][1].split()[0] == ".")
    assert requirements < install < code, "dependencies get their own layer, before the code"
    user = [args for name, args in steps if name == "USER"]
    assert user and user[-1] not in ("root", "0"), "runs as a non-root user"
    assert names.index("USER") < names.index("CMD")
    (healthcheck,) = [args for name, args in steps if name == "HEALTHCHECK"]
    assert "/healthz" in healthcheck and "urllib" in healthcheck and "curl" not in healthcheck
    (cmd,) = [exec_form(args) for name, args in steps if name == "CMD"]
    assert cmd == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    env = " ".join(args for name, args in steps if name == "ENV")
    assert "GUNICORN_BIND=0.0.0.0:8000" in env and "FLASK_CONFIG=production" in env
    assert [args for name, args in steps if name == "EXPOSE"] == ["8000"]


def test_compose_runs_postgresql_then_migrations_then_the_web_app():
    assert set(SERVICES) == {"db", "migrate", "web"}
    db_service = SERVICES["db"]
    assert db_service["image"].startswith("postgres:")
    volume = db_service["volumes"][0].split(":")[0]
    assert volume in COMPOSE["volumes"], "the database lives in a named volume"
    assert "pg_isready" in " ".join(db_service["healthcheck"]["test"])

    migrate_service, web = SERVICES["migrate"], SERVICES["web"]
    assert exec_form(" ".join(migrate_service["command"])) == ["flask", "db", "upgrade"]
    assert migrate_service["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert web["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
    assert web.get("command") is None, "web runs the image's CMD: gunicorn with its config"
    for service in (migrate_service, web):
        assert service["build"] == "."
        assert service["env_file"] == [".env"]
        assert service["environment"]["FLASK_CONFIG"] == "production"
    published = web["ports"][0].rsplit(":", 1)[1]
    assert published == "8000"


def test_compose_database_url_reaches_postgresql_with_our_driver():
    url = SERVICES["web"]["environment"]["DATABASE_URL"]
    assert url == SERVICES["migrate"]["environment"]["DATABASE_URL"]
    filled = re.sub(r"\$\{(\w+)(:[-?][^}]*)?\}", lambda m: "x", url)
    normalised = make_url(normalise_database_url(filled))
    assert normalised.drivername == "postgresql+psycopg2" and normalised.host == "db"
    check_driver_installed(str(normalised))


def test_no_sleep_waits_for_the_database():
    for name in ("compose.yaml", "Dockerfile"):
        assert "sleep" not in (ROOT / name).read_text()


def test_secrets_stay_out_of_git_and_the_image():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, timeout=30)
    assert ignored.returncode == 0, ".env must be git-ignored"
    kept = subprocess.run(["git", "check-ignore", "-q", "deploy/env.example"], cwd=ROOT,
                          timeout=30)
    assert kept.returncode == 1, "deploy/env.example must be committed"
    dockerignore = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".git", ".venv", "instance"):
        assert entry in dockerignore


def env_example():
    """{name: value} for every variable deploy/env.example shows, commented out or not."""
    pairs = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=(.*)$", (DEPLOY / "env.example").read_text(),
                       re.MULTILINE)
    return dict(pairs)


def test_env_example_documents_every_setting_with_safe_placeholders():
    example = env_example()
    read = set(re.findall(r"""(?:environ\.get|env_int|env_bool)\(\s*["']([A-Z0-9_]+)["']""",
                          (ROOT / "board" / "config.py").read_text()))
    read |= set(re.findall(r"""environ\.get\(\s*["']([A-Z0-9_]+)["']""", GUNICORN_CONF.read_text()))
    read |= set(re.findall(r"\$\{(\w+)", (ROOT / "compose.yaml").read_text()))
    read |= {"FLASK_CONFIG"}
    assert read <= set(example), f"undocumented: {sorted(read - set(example))}"
    # Empty, so that an unedited copy refuses to start rather than run with a known secret.
    assert example["SECRET_KEY"] == "" and example["POSTGRES_PASSWORD"] == ""


DOCS = {"README.md": ROOT / "README.md", "docs/deploy.md": ROOT / "docs" / "deploy.md"}


def shell_lines(path):
    """The lines of a Markdown file's shell code blocks (```sh, ```bash, ```console)."""
    lines, language = [], None
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            language = None if language is not None else (line[3:].strip() or "text")
        elif language in ("sh", "bash", "console", "shell"):
            lines.append(line.strip().removeprefix("$ "))
    return lines


def compose_services_named(line):
    """The services a `docker compose ...` line acts on."""
    words = shlex.split(line.split("#")[0])[2:]
    words = [word for word in words if not word.startswith("-")]
    if not words:
        return []
    subcommand, rest = words[0], words[1:]
    if subcommand in ("run", "exec"):
        return rest[:1]
    if subcommand in ("up", "logs", "restart", "stop", "start", "build", "ps", "pull", "rm"):
        return rest
    return []


def docker_section(text):
    """The part of a Markdown text under its "Docker Compose" heading, up to the next heading."""
    match = re.search(r"^(#+) .*Docker Compose.*$", text, re.MULTILINE)
    assert match, "a Docker Compose section"
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{len(match.group(1))}}} ", rest, re.MULTILINE)
    return rest[:end.start()] if end else rest


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_docker_commands_in_the_docs_match_the_files(doc):
    text = DOCS[doc].read_text()
    lines = shell_lines(DOCS[doc])
    compose_lines = [line for line in lines if line.startswith("docker compose")]
    compose_lines += re.findall(r"`(docker compose [^`]+)`", text)
    for line in compose_lines:
        assert set(compose_services_named(line)) <= set(SERVICES), line
    for line in lines:
        words = shlex.split(line.split("#")[0]) if "gunicorn" in line else []
        if words and words[0].endswith("gunicorn"):
            assert words[1:3] == ["-c", "deploy/gunicorn.conf.py"], line
        if "cp deploy/env.example" in line:
            assert line.split()[-1] == ".env", line
    assert "docker compose up" in " ".join(compose_lines)
    docker = docker_section(text)
    # Services named in prose: "the `web` service", or a list item "- `db`: ...".
    named = set(re.findall(r"`([\w-]+)` service", docker))
    named |= set(re.findall(r"^\s*- `([\w-]+)`:", docker, re.MULTILINE))
    assert named and named <= set(SERVICES), named
    published = SERVICES["web"]["ports"][0].rsplit(":", 1)[1]
    for port in re.findall(r"https?://(?:localhost|127\.0\.0\.1):(\d+)", docker):
        assert port == published
    assert "deploy/env.example" in docker
    if doc == "docs/deploy.md":
        for service in SERVICES:
            assert f"`{service}`" in docker, f"{doc} names the {service} service"
