"""nginx: deploy/nginx.conf agrees with the app, and serves the board in front of gunicorn (with only
its host-specific lines changed) when nginx is installed: with HSTS and no version in `Server`,
keeping slow clients (slowloris, clients that do not read) off gunicorn's two sync workers, which
the same clients stall when they reach gunicorn directly (the tests marked `attack`), and answering
idle polls from its one-second cache, and nothing else."""

import contextlib
import http.client
import re
import shutil
import socket
import ssl
import threading
import time

import pytest
from bs4 import BeautifulSoup

from board.config import Config
from harness.nginx import certificate, find_nginx, loopback_site, nginx
from harness.ports import free_ports
from harness.raw_http import first_visit, request
from tests.deploy.conftest import DEPLOY, ROOT, comments_in, form_of, gunicorn, post_comment
from tests.helpers import board_id, unavailable

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


def test_nginx_config_hides_its_version_keeps_https_and_buffers():
    text = re.sub(r"#.*", "", NGINX_CONF.read_text())
    servers = text.split("server {")[1:]
    assert len(servers) == 3
    for server in servers:
        assert re.search(r"^\s*server_tokens off;", server, re.MULTILINE), server
    _, plain, tls = servers
    hsts = 'add_header Strict-Transport-Security "max-age=31536000" always;'
    assert hsts not in plain and "listen 443 ssl" in tls
    # On the https server, and again in every location that has add_header of its own (nginx
    # inherits add_header only into a level that has none).
    assert hsts in tls.split("location ", 1)[0]
    for location in tls.split("location ")[1:]:
        assert "add_header" not in location or hsts in location, location
    # The slow-client protection: both buffers on (nginx's defaults), never switched off.
    assert nginx_directives("proxy_buffering") == ["on"]
    assert nginx_directives("proxy_request_buffering") == ["on"]


def test_nginx_config_caches_only_what_the_app_marks_cacheable():
    """The poll's location keeps what the app's Cache-Control allows and nothing else: no
    proxy_cache_valid (which would keep unmarked answers), no ignored headers (Cache-Control,
    Set-Cookie), no methods beyond GET and HEAD."""
    text = re.sub(r"#.*", "", NGINX_CONF.read_text())
    assert re.match(r"\s*proxy_cache_path\s", text), "the cache zone comes first"
    (zone,) = nginx_directives("proxy_cache_path")
    name = re.search(r"keys_zone=(\w+):", zone).group(1)
    (poll,) = re.findall(r"location ~ (\S+) \{([^}]*)\}", text)
    assert poll[0] == r"^(/b/[a-z0-9-]+)?/comments$"
    cached = dict(line.strip().rstrip(";").split(None, 1) for line in poll[1].strip().splitlines())
    assert cached == {"proxy_pass": "http://board_app", "proxy_cache": name,
                      "proxy_cache_key": '"$request_uri $http_hx_request"',
                      "proxy_cache_lock": "on", "proxy_cache_use_stale": "updating"}
    for name in ("proxy_cache_valid", "proxy_ignore_headers", "proxy_cache_methods"):
        assert nginx_directives(name) == [], name
    assert text.count("proxy_cache ") == 1


def test_nginx_config_answers_only_its_server_name():
    """A Host other than the board's reaches a default server that closes the connection (444),
    on both ports; the http->https redirect goes to server_name, never to the client's $host."""
    text = re.sub(r"#.*", "", NGINX_CONF.read_text())
    catch_all, plain, tls = text.split("server {")[1:]
    listens = re.findall(r"^\s*listen\s+([^;]+);", catch_all, re.MULTILINE)
    assert sorted(listens) == sorted(["80 default_server", "[::]:80 default_server",
                                      "443 ssl default_server", "[::]:443 ssl default_server"])
    assert re.search(r"^\s*server_name _;", catch_all, re.MULTILINE)
    assert re.findall(r"^\s*return\s+([^;]+);", catch_all, re.MULTILINE) == ["444"]
    assert "proxy_pass" not in catch_all
    for server in (plain, tls):
        assert "default_server" not in server
        assert nginx_directives("server_name").count("board.example.org") == 2
    assert re.findall(r"^\s*return\s+([^;]+);", plain, re.MULTILINE) == [
        "301 https://$server_name$request_uri"]
    assert not re.search(r"return[^;]*\$host", text)
    # The app is told which hosts are its own, too.
    assert "BOARD_HOSTS=board.example.org" in NGINX_CONF.read_text()


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
    site = loopback_site(NGINX_CONF.read_text(), tmp_path, http_port, https_port, app_port,
                         cert, key, ROOT / "static")
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
    # No version in any answer, and HSTS on every https answer (not on the http redirect).
    for response in (plain, page, static, posted, too_big):
        assert response.headers["Server"] == "nginx", response.headers["Server"]
    assert "Strict-Transport-Security" not in plain.headers
    for response in (page, static, posted, too_big):
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
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


# --- Slow clients: what sync workers cannot take, and nginx takes for them ---------------------

SLOW_SENDERS = 10  # slowloris: a request line, then one header line a second, never the blank line
NON_READERS = 5  # ask for a large answer and never read it
PROBE_EVERY, PROBE_TIMEOUT = 0.5, 2.0
BIG = "/api/comments?limit=100"  # the largest answer: 100 comments, see seed_large_board


def seed_large_board(url, count=100):
    """`count` comments as long as the board allows, of a character JSON writes in 12 bytes
    (an escaped surrogate pair): GET BIG is then about 5 MB, more than the kernel's socket buffers
    between gunicorn and a client that does not read hold, so a worker writing it waits."""
    from board import create_app, models
    from board.extensions import db
    from board.rules import CONTENT_MAX

    app = create_app("testing", {"DATABASE_URL": url})
    with app.app_context():
        board = board_id()
        db.session.add_all(models.Comment(author="Big", content="\U0001F600" * CONTENT_MAX,
                                          board_id=board)
                           for _ in range(count))
        db.session.commit()
        db.engine.dispose()


class SlowClients:
    """`with SlowClients(port, context):` keeps SLOW_SENDERS slowloris sockets and NON_READERS
    non-reading downloads open against 127.0.0.1:port until the block ends; then closes them all."""

    def __init__(self, port, context=None, slow=SLOW_SENDERS, non_readers=NON_READERS):
        self.port, self.context = port, context
        self.slow, self.non_readers = slow, non_readers
        self.sockets, self.stopping = [], threading.Event()
        self.thread = threading.Thread(target=self.drip, daemon=True)

    def open(self, small_window=False):
        sock = socket.socket()
        if small_window:  # the client's receive window stays tiny: the server's sends block
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", self.port))
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_hostname="board.example.org")
        self.sockets.append(sock)
        return sock

    def __enter__(self):
        for _ in range(self.non_readers):
            self.open(small_window=True).sendall(
                f"GET {BIG} HTTP/1.1\r\nHost: board.example.org\r\n\r\n".encode())
        for _ in range(self.slow):
            self.open().sendall(b"GET / HTTP/1.1\r\nHost: board.example.org\r\n")
        self.thread.start()
        return self

    def drip(self):
        slow = self.sockets[self.non_readers:]
        line = 0
        while not self.stopping.wait(1):
            line += 1
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.sendall(f"X-Slow-{line}: {line}\r\n".encode())

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=5)
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


def probe_health(port, seconds, context=None, host="board.example.org"):
    """A GET /healthz every PROBE_EVERY s for `seconds`, each on its own connection and thread,
    so that a stuck probe does not delay the next: each probe's status, or the name of the error
    that ended it (TimeoutError after PROBE_TIMEOUT s), in the order they started."""
    def probe(index):
        try:
            answer = request(port, "GET", "/healthz", headers={"Host": host}, context=context,
                             timeout=PROBE_TIMEOUT)
            results[index] = answer.status
        except OSError as error:  # TimeoutError, ConnectionResetError, ...
            results[index] = type(error).__name__

    count = round(seconds / PROBE_EVERY)
    results, threads = [None] * count, []
    for index in range(count):
        threads.append(threading.Thread(target=probe, args=(index,), daemon=True))
        threads[-1].start()
        time.sleep(PROBE_EVERY)
    for thread in threads:
        thread.join(timeout=PROBE_TIMEOUT + 5)
    return results


def test_slow_clients_through_nginx_leave_healthz_answering(sqlite_url, tmp_path):
    seed_large_board(sqlite_url)
    # Two sync workers, the fewest the docs allow; nginx as deploy/nginx.conf sets it up.
    settings = {"DATABASE_URL": sqlite_url, "WEB_CONCURRENCY": "2", "BOARD_TRUSTED_PROXIES": "1"}
    with gunicorn(tmp_path, **settings) as app_server:
        with nginx_in_front(tmp_path, app_server.port) as proxy:
            with SlowClients(proxy.port, proxy.context):
                probes = probe_health(proxy.port, 12, proxy.context)
                during = app_server.log
            after = request(proxy.port, "GET", "/healthz", headers={"Host": "board.example.org"},
                            context=proxy.context)

    assert len(probes) == 24 and all(status == 200 for status in probes), probes
    assert after.status == 200
    # nginx took every large answer from gunicorn while its clients read nothing, and passed on
    # none of the unfinished requests.
    assert during.count(f'"GET {BIG} HTTP/1.0" 200') == NON_READERS, during
    assert '"GET / HTTP' not in during


@pytest.mark.attack
@pytest.mark.parametrize("attack", [{"slow": 6, "non_readers": 0}, {"slow": 0, "non_readers": 5}],
                         ids=["slowloris", "non-readers"])
def test_the_same_slow_clients_stall_gunicorn_facing_them_directly(sqlite_url, tmp_path, attack):
    """The contrast that proves the attack above is real: without nginx, two sync workers stop
    answering /healthz while the slow clients are connected."""
    seed_large_board(sqlite_url)
    with gunicorn(tmp_path, DATABASE_URL=sqlite_url, WEB_CONCURRENCY="2") as app_server:
        before = request(app_server.port, "GET", "/healthz")
        with SlowClients(app_server.port, **attack):
            time.sleep(0.5)  # let the workers take the slow clients first, as they would
            probes = probe_health(app_server.port, 5)

    assert before.status == 200
    assert len(probes) == 10 and not any(status == 200 for status in probes), probes


def no_answer(port, host, context=None):
    """What a client naming `host` gets: the status, or the name of the error that ended it."""
    try:
        return request(port, "GET", "/", headers={"Host": host}, context=context, timeout=10).status
    except (OSError, http.client.HTTPException) as error:  # RemoteDisconnected: closed, no answer
        return type(error).__name__


def test_nginx_closes_the_connection_for_another_host_and_redirects_to_its_own(sqlite_url,
                                                                               tmp_path):
    settings = {"DATABASE_URL": sqlite_url, "WEB_CONCURRENCY": "1", "BOARD_TRUSTED_PROXIES": "1",
                "BOARD_HOSTS": "board.example.org"}
    with gunicorn(tmp_path, **settings) as app_server:
        with nginx_in_front(tmp_path, app_server.port) as proxy:
            forged = {
                "http": no_answer(proxy.http_port, "evil.example"),
                "https": no_answer(proxy.port, "evil.example", proxy.context),
                "https, board's name with a dot": no_answer(proxy.port, "board.example.org.evil",
                                                            proxy.context),
            }
            upper = request(proxy.http_port, "GET", "/x?y=1", headers={"Host": "BOARD.example.ORG"})
            page = request(proxy.port, "GET", "/", headers={"Host": "board.example.org"},
                           context=proxy.context)
        app_server.stop()

    assert forged == dict.fromkeys(forged, "RemoteDisconnected"), forged
    assert upper.status == 301 and upper.headers["Location"] == "https://board.example.org/x?y=1"
    assert page.status == 200
    assert "evil" not in app_server.log  # never passed on to the app


# --- The poll cache: idle polls answered by nginx, everything else by the app --------------------

BROWSER = {"Host": "board.example.org", "Referer": "https://board.example.org/"}
# nginx counts max-age in whole seconds (an answer stored during second S would be kept until
# S + 2 begins): the app says when its second ends (X-Accel-Expires), so an idle answer is kept
# at most 1 s (a new comment waits that long at most, plus a poll's time).
HELD_AT_MOST = 1.0


@pytest.fixture
def proxied(sqlite_url, tmp_path):
    """One gunicorn worker behind deploy/nginx.conf, set as the deploy sets it behind nginx
    (BOARD_POLL_FRESH_SECONDS=0: nginx's cache is the only wait): (app server, nginx)."""
    settings = {"DATABASE_URL": sqlite_url, "WEB_CONCURRENCY": "1", "BOARD_TRUSTED_PROXIES": "1",
                "BOARD_POLL_FRESH_SECONDS": "0"}
    with gunicorn(tmp_path, **settings) as app_server:
        with nginx_in_front(tmp_path, app_server.port) as proxy:
            yield app_server, proxy


class Tab:
    """An open board through nginx: its session, its poller's URL, its requests."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.visit = first_visit(proxy.port, BROWSER, proxy.context)
        poller = BeautifulSoup(self.visit.page.text, "html.parser").find(id="poller")
        self.url = poller["data-hx-get"]

    def poll(self, htmx=True):
        headers = BROWSER | {"Cookie": self.visit.cookie} | ({"HX-Request": "true"} if htmx else {})
        return request(self.proxy.port, "GET", self.url, headers=headers,
                       context=self.proxy.context)

    def post(self, content):
        """An htmx post: (status, the new comment's id)."""
        body = f"csrf_token={self.visit.token}&author=&content={content}"
        answer = request(self.proxy.port, "POST", "/comments", body=body, context=self.proxy.context,
                         headers=BROWSER | {"Cookie": self.visit.cookie, "HX-Request": "true",
                                            "Content-Type": "application/x-www-form-urlencoded"})
        found = re.search(r'id="comment-(\d+)"', answer.text)
        return answer.status, found and int(found.group(1))


def reached_app(app_server, method, url):
    """How many `method url` requests gunicorn logged (nginx asks it over HTTP/1.0); gunicorn
    logs a request just after answering it, so give it a moment first."""
    time.sleep(0.3)
    return app_server.log.count(f'"{method} {url} HTTP/1.0"')


def test_nginx_answers_the_second_idle_poll_from_its_cache(proxied):
    app_server, proxy = proxied
    tab, other = Tab(proxy), Tab(proxy)
    # At the start of a second: the answer is kept until the second ends (X-Accel-Expires).
    time.sleep(1 - time.time() % 1)
    answers = [tab.poll(), tab.poll(), other.poll()]

    assert tab.url == other.url
    assert [answer.status for answer in answers] == [204, 204, 204]
    assert answers[0].headers["Cache-Control"] == "public, max-age=1"
    assert not any(answer.headers.get_all("Set-Cookie") for answer in answers)
    assert reached_app(app_server, "GET", tab.url) == 1  # within the second: all from the cache
    # Without HX-Request the same URL is another request (a redirect to the page): not that answer.
    plain = tab.poll(htmx=False)
    assert plain.status == 303
    assert reached_app(app_server, "GET", tab.url) == 2


def test_nginx_keeps_a_poll_with_news_for_a_second_and_never_a_post(proxied):
    """A poll's news is the same for every tab that asks its URL (the author's too): nginx
    answers the other tabs from its cache for the rest of the second. A post is never kept."""
    app_server, proxy = proxied
    tab, other = Tab(proxy), Tab(proxy)
    posts = [tab.post("First"), tab.post("Second")]
    time.sleep(1 - time.time() % 1)  # at the start of a second: kept until the second ends
    news = [tab.poll(), other.poll()]

    assert [status for status, _ in posts] == [201, 201]
    assert reached_app(app_server, "POST", "/comments") == 2
    assert tab.url == other.url
    for answer in news:
        assert answer.status == 200
        assert answer.headers["Cache-Control"] == "public, max-age=1"
        assert not answer.headers.get_all("Set-Cookie")
        assert all(f'id="comment-{id_}"' in answer.text for _, id_ in posts)
    assert news[0].text == news[1].text
    assert reached_app(app_server, "GET", tab.url) == 1  # the other tab's: from the cache


def test_a_new_comment_shows_in_a_poll_within_a_second_of_its_post(proxied):
    """An idle answer is cached; a post comes; polling the same URL brings the comment once the
    cached answer expires, HELD_AT_MOST after the post at most."""
    app_server, proxy = proxied
    tab = Tab(proxy)
    time.sleep(1 - time.time() % 1)  # kept from the start of a second: the longest it can be
    assert tab.poll().status == 204  # now cached
    status, comment = tab.post("Here")
    posted = time.monotonic()
    statuses = []
    while time.monotonic() - posted < HELD_AT_MOST + 3:
        answer = tab.poll()
        statuses.append(answer.status)
        if f'id="comment-{comment}"' in answer.text:
            break
        time.sleep(0.05)
    waited = time.monotonic() - posted

    assert status == 201 and statuses[-1] == 200, statuses
    assert set(statuses[:-1]) <= {204}, statuses
    # The margin is for a loaded machine (each poll's own time); a cache that held news for a
    # poll interval or longer would still fail.
    assert waited < HELD_AT_MOST + 1.5, (waited, statuses)
