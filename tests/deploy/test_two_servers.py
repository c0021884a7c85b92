"""Two app servers behind nginx: two gunicorns (standing in for two hosts, two workers each) as
the upstream of deploy/nginx.conf, sharing one PostgreSQL and one Redis, as docs/deploy.md's "Two
app servers" sets them up. A post limit holds across both; a comment posted through one arrives on
a board served by the other; one server killed under load leaves reads and posts to the other,
with every post stored once or answered with an error; with Redis stopped the board keeps
serving on per-process limits, says so in its log, and shares its counts again once Redis is back.

Real servers throughout, each bounded in time and stopped by the test that started it."""

import contextlib
import http.client
import itertools
import re
import ssl
import threading
import time
import urllib.parse
from collections import Counter

import pytest
import sqlalchemy as sa
import yaml

from board.config import normalise_database_url
from board.doctor import missing_storage_package
from harness.nginx import certificate, loopback_site, nginx
from harness.ports import free_ports
from harness.raw_http import first_visit, request
from harness.redis import Redis, Unavailable
from tests.deploy.conftest import ROOT, gunicorn, migrate
from tests.deploy.test_nginx import NGINX_CONF, nginx_binary
from tests.helpers import unavailable

LIMIT = 3  # posts per client address in the tests of the limit
UNLIMITED = "100000 per hour"  # the load test's: every post through nginx is one client
BROWSER = {"Host": "board.example.org", "Referer": "https://board.example.org/"}
RECOVERED = "Rate limit storage recovered"
FELL_BACK = "Rate limit storage unreachable - falling back to in-memory storage"


@pytest.fixture
def database(servers):
    """A new, migrated PostgreSQL database: one server's file cannot be shared by two hosts."""
    url = servers("postgresql").create_database()
    migrate(url)
    return url


@pytest.fixture
def redis(tmp_path):
    try:
        server = Redis(tmp_path / "redis")
    except Unavailable as error:
        unavailable(str(error))
    with server:
        yield server


def with_second_server(site, port):
    """deploy/nginx.conf's text with a second app server in its upstream block: a copy of the
    block's own server line (its parameters are the ones under test) pointing at `port`."""
    block = re.search(r"^upstream board_app \{$.*?^\}", site, re.MULTILINE | re.DOTALL).group(0)
    (line,) = [line for line in block.splitlines() if line.strip().startswith("server ")]
    assert "127.0.0.1:8000" in line, line
    second = line.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    return site.replace(block, block.replace(line, f"{line}\n{second}"))


@contextlib.contextmanager
def two_servers(tmp_path, database, redis, **settings):
    """Servers `a` and `b` (gunicorn with deploy/gunicorn.conf.py, production, the same
    SECRET_KEY) and `proxy`, nginx with both as its upstream."""
    env = {"DATABASE_URL": database, "BOARD_RATELIMIT_STORAGE_URI": redis.url,
           "BOARD_TRUSTED_PROXIES": "1", "BOARD_WORKER_HOSTS": "2", "WEB_CONCURRENCY": "2",
           **settings}
    for name in ("a", "b", "nginx"):
        (tmp_path / name).mkdir()
    binary, folder = nginx_binary(), tmp_path / "nginx"
    cert, key = certificate(folder, "board.example.org")
    with gunicorn(tmp_path / "a", **env) as a, gunicorn(tmp_path / "b", **env) as b:
        http_port, https_port = free_ports(2)  # now: free_port() would hand out these again
        site = loopback_site(with_second_server(NGINX_CONF.read_text(), b.port), folder,
                             http_port, https_port, a.port, cert, key, ROOT / "static")
        with nginx(binary, folder, site, https_port) as proxy:
            proxy.context = ssl.create_default_context(cafile=str(cert))
            proxy.context.check_hostname = False  # 127.0.0.1, with Host: board.example.org
            yield a, b, proxy


def post(port, visit, content, headers=None, context=None):
    """POST /comments with htmx, as the browser of `visit`; the answer."""
    body = urllib.parse.urlencode({"csrf_token": visit.token, "content": content, "author": ""})
    return request(port, "POST", "/comments", body=body, context=context, timeout=60, headers={
        **(headers or {}), "Cookie": visit.cookie, "HX-Request": "true",
        "Content-Type": "application/x-www-form-urlencoded"})


def alternating_posts(servers, address, count):
    """`count` posts from one client (one browser at `address`), to each server in turn; their
    statuses. The session from the first server's page is good on the other (one SECRET_KEY)."""
    client = {"X-Forwarded-For": address}  # trusted: BOARD_TRUSTED_PROXIES=1
    visit = first_visit(servers[0].port, client)
    return [post(servers[n % 2].port, visit, f"From {address}, post {n}", client).status
            for n in range(count)]


def stored_contents(database):
    engine = sa.create_engine(normalise_database_url(database), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        contents = Counter(connection.scalars(sa.text("SELECT content FROM comments")))
    engine.dispose()
    return contents


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(0.2)


def test_the_site_gets_a_second_server_in_its_upstream():
    site = with_second_server(NGINX_CONF.read_text(), 8001)
    (block,) = re.findall(r"^upstream board_app \{$.*?^\}", site, re.MULTILINE | re.DOTALL)
    servers = re.findall(r"^\s*server\s+(\S+)", block, re.MULTILINE)
    assert servers == ["127.0.0.1:8000", "127.0.0.1:8001"]


def test_compose_counts_in_its_own_redis():
    """compose.yaml's web (and every command run as it) counts in compose's Redis, which is on
    the compose network only, keeps nothing on disk, and need not be up for the board to start."""
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    redis, web = services["redis"], services["web"]
    assert redis["image"].split(":")[0] == "redis" and "ports" not in redis
    assert "redis-cli" in redis["healthcheck"]["test"]
    assert redis["command"][redis["command"].index("--save") + 1] == ""
    url = urllib.parse.urlsplit(web["environment"]["BOARD_RATELIMIT_STORAGE_URI"])
    assert (url.scheme, url.hostname, url.port) == ("redis", "redis", 6379)
    assert missing_storage_package(url.geturl()) is None
    assert web["depends_on"]["redis"] == {"condition": "service_started"}


def test_a_post_limit_holds_across_both_servers(tmp_path, database, redis):
    with two_servers(tmp_path, database, redis, BOARD_POST_LIMIT=f"{LIMIT} per hour") as (a, b, _):
        statuses = alternating_posts((a, b), "203.0.113.1", 3 * LIMIT)
    assert statuses == [201] * LIMIT + [429] * (2 * LIMIT)


def test_a_comment_posted_through_one_server_arrives_on_a_board_served_by_the_other(
        tmp_path, database, redis):
    with two_servers(tmp_path, database, redis) as (a, b, _):
        page = request(b.port, "GET", "/")
        poll = re.search(r'id="poller"[^>]*data-hx-get="([^"]+)"', page.text).group(1)
        poll = poll.replace("&amp;", "&")
        assert re.fullmatch(r"/comments\?after=\d+&since=\d+&lang=en", poll), poll
        assert request(b.port, "GET", poll, headers={"HX-Request": "true"}).status == 204

        assert post(a.port, first_visit(a.port), "Posted through a").status == 201
        answers = []

        def arrived():
            answers.append(request(b.port, "GET", poll, headers={"HX-Request": "true"}))
            return answers[-1].status == 200

        wait_until(arrived, 30, "the comment posted through a on b's poll")
    assert "Posted through a" in answers[-1].text
    assert {answer.status for answer in answers[:-1]} <= {204}


class Load:
    """`with Load(proxy) as load:` posters (each a browser of its own) and readers through nginx
    until the block ends. load.posts: (started, content, status); load.reads: (started, status);
    started on time.monotonic(), status a number or the name of a network error."""

    def __init__(self, proxy, posters=3, readers=2):
        self.proxy, self.stopping = proxy, threading.Event()
        self.posts, self.reads = [], []
        visits = [first_visit(proxy.port, BROWSER, proxy.context) for _ in range(posters)]
        self.threads = [threading.Thread(target=self.post_as, args=(n, visit), daemon=True)
                        for n, visit in enumerate(visits)]
        self.threads += [threading.Thread(target=self.read, daemon=True) for _ in range(readers)]

    def answer(self, send):
        try:
            return send().status
        except (OSError, http.client.HTTPException) as error:  # a network error, to a person
            return type(error).__name__

    def post_as(self, poster, visit):
        for n in itertools.count():
            if self.stopping.is_set():
                return
            started, content = time.monotonic(), f"Poster {poster}, post {n}"
            status = self.answer(lambda: post(self.proxy.port, visit, content, BROWSER,
                                              self.proxy.context))
            self.posts.append((started, content, status))

    def read(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            status = self.answer(lambda: request(self.proxy.port, "GET", "/", headers=BROWSER,
                                                 context=self.proxy.context, timeout=60))
            self.reads.append((started, status))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in self.threads)

    def posts_after(self, moment):
        return [post for post in self.posts if post[0] >= moment]

    def reads_after(self, moment):
        return [read for read in self.reads if read[0] >= moment]


def test_one_server_killed_under_load_leaves_the_board_to_the_other(tmp_path, database, redis):
    with two_servers(tmp_path, database, redis, BOARD_POST_LIMIT=UNLIMITED) as (a, b, proxy):
        with Load(proxy) as load:
            wait_until(lambda: len(load.posts) >= 15 and len(load.reads) >= 10, 60,
                       "posts and reads through both servers")
            a.kill()
            killed = time.monotonic()
            wait_until(lambda: len(load.posts_after(killed)) >= 15
                       and len(load.reads_after(killed)) >= 10, 60,
                       "posts and reads after the kill")
        assert b.process.poll() is None

    # Everything asked after the kill went to b, and was answered as if nothing had happened.
    assert {status for _, _, status in load.posts_after(killed)} == {201}
    assert {status for _, status in load.reads_after(killed)} == {200}
    # In flight at the kill: answered, or an error the person sees (nginx's 502, a dropped
    # connection; the page keeps their text), never a refusal or a 500 of the board's.
    refused = [status for _, _, status in load.posts if status != 201]
    assert all(status in (502, 504) or isinstance(status, str) for status in refused), refused
    # And nothing is stored twice, nothing answered as stored is missing.
    stored = stored_contents(database)
    assert max(stored.values()) == 1
    accepted = {content for _, content, status in load.posts if status == 201}
    assert accepted <= set(stored), accepted - set(stored)


def test_with_redis_stopped_the_board_counts_per_process_until_redis_returns(
        tmp_path, database, redis):
    with two_servers(tmp_path, database, redis, BOARD_POST_LIMIT=f"{LIMIT} per hour") as (a, b, _):
        redis.stop()
        for server in (a, b):
            assert request(server.port, "GET", "/").status == 200
        # Each of the four processes counts on its own: each server takes at least LIMIT of its
        # 3 x LIMIT posts, and at most LIMIT per worker; the rest are still refused.
        down = Counter(alternating_posts((a, b), "203.0.113.2", 6 * LIMIT))
        assert set(down) == {201, 429} and 2 * LIMIT <= down[201] <= 4 * LIMIT, down
        for server in (a, b):
            assert FELL_BACK in server.log, server.log

        redis.restart()
        fell_back = {server: server.log.count(FELL_BACK) for server in (a, b)}

        def every_worker_is_back():
            # The limiter asks a fallen-back worker's store again after 1, 2, 4 ... 32 s, when
            # a request comes: keep both servers' workers asked.
            for server in (a, b):
                request(server.port, "GET", "/")
            return all(server.log.count(RECOVERED) >= fell_back[server] for server in (a, b))

        wait_until(every_worker_is_back, 90, "every worker back on Redis")
        back = alternating_posts((a, b), "203.0.113.3", 3 * LIMIT)
    assert back == [201] * LIMIT + [429] * (2 * LIMIT)
