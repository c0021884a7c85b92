"""Raw HTTP to a server on loopback: one request over a fresh connection, a browser's first visit."""

import http.client
import re
from typing import NamedTuple

TOKEN = re.compile(rb'name="csrf_token" value="([^"]+)"')


class Response(NamedTuple):
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self):
        return self.body.decode()


def connect(port, context=None, timeout=120):
    """A connection to 127.0.0.1:port; https when an ssl `context` is given."""
    if context is None:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    return http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)


def request(port, method, path, body=None, headers=None, context=None, timeout=120):
    """One request on its own connection. The timeout allows for a slow page of a huge board."""
    connection = connect(port, context, timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


class Visit(NamedTuple):
    token: str  # the form's csrf_token
    cookie: str  # "session=...", the session cookie the token is bound to
    page: Response


def first_visit(port, headers=None, context=None):
    """GET / as a browser's first visit does."""
    page = request(port, "GET", "/", headers=headers, context=context)
    if page.status != 200:
        raise RuntimeError(f"GET / answered {page.status}")
    token = TOKEN.search(page.body)
    cookies = [value.split(";", 1)[0] for value in page.headers.get_all("Set-Cookie") or ()]
    session = [cookie for cookie in cookies if cookie.startswith("session=")]
    if not token or not session:
        raise RuntimeError("GET / gave no csrf_token field or no session cookie")
    return Visit(token.group(1).decode(), session[0], page)


def post_comment(connection, visit, fields):
    """POST /comments on an open `connection` as the browser of `visit` does with htmx; `fields`
    is the rest of the form, URL-encoded ("author=Ann&content=Hi"). Returns the answer's status."""
    connection.request("POST", "/comments", body=f"csrf_token={visit.token}&{fields}", headers={
        "Cookie": visit.cookie, "HX-Request": "true",
        "Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    return response.status
