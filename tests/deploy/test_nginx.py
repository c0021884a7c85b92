"""nginx: deploy/nginx.conf agrees with the app, and serves the board in front of gunicorn (with only
its host-specific lines changed) when nginx is installed."""

import re
import shutil
import ssl

from bs4 import BeautifulSoup

from board.config import Config
from harness.nginx import certificate, find_nginx, nginx
from harness.ports import free_ports
from harness.raw_http import request
from tests.deploy.conftest import DEPLOY, ROOT, comments_in, form_of, gunicorn, post_comment
from tests.helpers import unavailable

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
    found = find_nginx()
    if not found:
        unavailable("nginx not found (apt-get install nginx, or set BOARD_TEST_NGINX)")
    if not shutil.which("openssl"):
        unavailable("openssl not found (apt-get install openssl)")
    return found


def nginx_in_front(tmp_path, app_port):
    """deploy/nginx.conf with only its host-specific lines changed, in a throwaway nginx."""
    binary = nginx_binary()
    cert, key = certificate(tmp_path, "board.example.org")
    http_port, https_port = free_ports(2)
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
    server = nginx(binary, tmp_path, site, https_port)
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
