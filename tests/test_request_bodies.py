"""Request bodies over MAX_CONTENT_LENGTH (64 KiB) are refused with 413 however they are sent:
with a Content-Length, or chunked (no length up front), which Werkzeug used to cut at the limit
and hand on as if it were the whole body. And a request refused that early still has a request id."""

import logging
import socket
import urllib.parse

import pytest

from board.config import Config
from harness.raw_http import first_visit
from tests.deploy.conftest import gunicorn, migrate
from tests.helpers import count, csrf_token

LIMIT = Config.MAX_CONTENT_LENGTH


def form_with_padding(token, size):
    """A complete, valid comment first, then a field that takes the body to `size` bytes: cut at
    the limit, what is left still posts."""
    head = urllib.parse.urlencode({"csrf_token": token, "content": "Cut short", "author": ""})
    return (head + "&padding=" + "x" * (size - len(head) - len("&padding="))).encode()


def chunked(body, size=8192):
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def send_chunked(port, body, cookie):
    head = ("POST /comments HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
            f"Cookie: {cookie}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        try:
            sock.sendall(chunked(body))
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it was all sent: the answer is still there to read
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except ConnectionResetError:
            pass
    return int(answer.split(b" ", 2)[1]), answer


@pytest.mark.one_database
def test_a_chunked_body_over_the_limit_reaching_gunicorn_is_413(tmp_path):
    url = f"sqlite:///{tmp_path / 'board.sqlite'}"
    migrate(url)
    with gunicorn(tmp_path, DATABASE_URL=url, WEB_CONCURRENCY="1") as server:
        token, cookie, _ = first_visit(server.port, {"Host": "localhost"})
        too_big, answer = send_chunked(server.port, form_with_padding(token, LIMIT + 1000), cookie)
        at_limit, _ = send_chunked(server.port, form_with_padding(token, LIMIT), cookie)
    assert too_big == 413, answer[:500]
    assert at_limit == 303  # exactly 64 KiB, chunked: accepted, as with a Content-Length


@pytest.mark.one_database
def test_a_chunked_body_over_the_limit_is_413_through_the_test_client(app, client):
    token = csrf_token(client)

    def post_chunked(size):
        # The environ gunicorn gives a chunked body: Transfer-Encoding chunked (so no length) and
        # an input stream that gunicorn ends itself (wsgi.input_terminated).
        return client.post("/comments", data=form_with_padding(token, size),
                           content_type="application/x-www-form-urlencoded",
                           environ_overrides={"HTTP_TRANSFER_ENCODING": "chunked",
                                              "wsgi.input_terminated": True})

    assert post_chunked(LIMIT + 1).status_code == 413
    assert count(app) == 0
    assert post_chunked(LIMIT).status_code == 303
    assert count(app) == 1


@pytest.mark.one_database
def test_a_request_refused_before_the_route_still_has_a_request_id(app, client, caplog):
    """A CSRF failure and a 413 happen in Flask-WTF's before_request hook, before the board's
    own hook ran: their answers and their log lines carry an id all the same."""
    @app.errorhandler(413)
    def logged(error):
        app.logger.warning("too large")
        return "too large", 413

    with caplog.at_level(logging.WARNING):
        no_token = client.post("/comments", data={"content": "Hi"})
        too_big = client.post("/comments", data={"content": "x" * (LIMIT + 1)})
    assert no_token.status_code == 400 and too_big.status_code == 413
    for response in (no_token, too_big):
        assert response.headers["X-Request-ID"] not in ("", "-")
    assert no_token.headers["X-Request-ID"] != too_big.headers["X-Request-ID"]
    [record] = [r for r in caplog.records if r.getMessage() == "too large"]
    assert record.request_id == too_big.headers["X-Request-ID"]
