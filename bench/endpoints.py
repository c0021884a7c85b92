"""The five requests the benchmark makes of the board, built once a board is served and seeded."""

import html
import re
from typing import NamedTuple
from urllib.parse import quote

from harness.raw_http import first_visit, request

HTMX = {"HX-Request": "true"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NAMES = ("page", "older", "poll", "post_htmx", "post_plain")


class Endpoint(NamedTuple):
    name: str
    method: str
    path: str
    headers: dict
    expected: int
    probe_body: str | None = None
    script: str = "get.lua"
    script_args: tuple = ()


def board_endpoints(port, seeded, nonce):
    """GET /, an older page deep in the history, an idle poll, a post via htmx, one without JS.

    The session cookie goes with every request, as a browser's does after its first visit; the
    posts carry the csrf_token bound to it. Each post's content is distinct (a counter in
    bench/wrk/post.lua plus `nonce`), so a duplicate-content guard never trips.
    """
    token, cookie, page = first_visit(port)
    browser = {"Cookie": cookie}
    deep = seeded["oldest"] + 55  # 55 older comments: a full page of 50 and a next link
    endpoints = [
        Endpoint("page", "GET", "/", browser, 200),
        Endpoint("older", "GET", f"/comments?before={deep}", browser | HTMX, 200),
        Endpoint("poll", "GET", poll_url(page.body, seeded["newest"]), browser | HTMX, 204),
    ]
    for name, mode, expected in (("post_htmx", "htmx", 201), ("post_plain", "plain", 303)):
        endpoints.append(Endpoint(
            name, "POST", "/comments", browser | FORM | (HTMX if mode == "htmx" else {}), expected,
            probe_body=f"csrf_token={quote(token)}&author=probe&content=Probe+{mode}+{nonce}",
            script="post.lua", script_args=(quote(token), cookie, mode, nonce)))
    return endpoints


def poll_url(page, newest):
    """The poll exactly as the page asks for it (its #poller's hx-get, which may carry more
    cursors than `after`); `after=<newest id>` if the page has no poller."""
    poller = re.search(rb'<div id="poller"[^>]*?hx-get="([^"]+)"', page, re.S)
    url = html.unescape(poller.group(1).decode()) if poller else f"/comments?after={newest}"
    if f"after={newest}" not in url:
        raise RuntimeError(f"the page polls {url}, not after the newest comment {newest}")
    return url


def probe(port, endpoint):
    """One request that must answer as expected; returns the body (for GETs' sizes)."""
    status, _, body = request(port, endpoint.method, endpoint.path, body=endpoint.probe_body,
                              headers=endpoint.headers)
    if status != endpoint.expected:
        raise RuntimeError(f"{endpoint.method} {endpoint.path} answered {status}, "
                           f"not {endpoint.expected}: {body[:300]!r}")
    if endpoint.name == "older" and body.count(b'class="comment"') != 50:
        raise RuntimeError("the older page does not hold 50 comments")
    return body
