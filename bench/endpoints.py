"""The requests the benchmark makes of the board, built once a board is served and seeded: on the
default board at / (bench.run), or on a board at /b/<slug> (bench.many)."""

import html
import re
from typing import NamedTuple
from urllib.parse import quote

from harness.raw_http import first_visit, request

HTMX = {"HX-Request": "true"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NAMES = ("page", "older", "poll", "post_htmx", "post_plain")
# Not measured by default: a poll that brings the board's newest NEWS comments (200).
EXTRA = ("poll_news",)
NEWS = 5


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
    """GET the board's page, an older page deep in the history, an idle poll, a poll with news,
    a post via htmx, one without JS: on the default board at /, or on board `seeded["slug"]` at
    /b/<slug> when that is not the default board.

    The session cookie goes with every request, as a browser's does after its first visit; the
    posts carry the csrf_token bound to it. Each post's content is distinct (a counter in
    bench/wrk/post.lua plus `nonce`), so a duplicate-content guard never trips.
    """
    token, cookie, page = first_visit(port)
    browser = {"Cookie": cookie}
    slug = seeded.get("slug")
    prefix = f"/b/{slug}" if slug and slug != "main" else ""
    if prefix:  # the board's own page, for its poller
        status, _, body = request(port, "GET", prefix, headers=browser)
        if status != 200:
            raise RuntimeError(f"GET {prefix} answered {status}")
    else:
        body = page.body
    # 55 older threads (bench/seed.py DEEP): a full page of 50 and a next link.
    deep = seeded.get("deep") or seeded["oldest"] + 55
    poll = poll_url(body, seeded["newest"])
    endpoints = [
        Endpoint("page", "GET", prefix or "/", browser, 200),
        Endpoint("older", "GET", f"{prefix}/comments?before={deep}", browser | HTMX, 200),
        Endpoint("poll", "GET", poll, browser | HTMX, 204),
    ]
    if len(seeded.get("board_newest", ())) > NEWS:
        # The same poll from a cursor NEWS comments back on this board: they come, newest first.
        after = seeded["board_newest"][NEWS]
        endpoints.append(Endpoint("poll_news", "GET",
                                  poll.replace(f"after={seeded['newest']}", f"after={after}"),
                                  browser | HTMX, 200))
    for name, mode, expected in (("post_htmx", "htmx", 201), ("post_plain", "plain", 303)):
        endpoints.append(Endpoint(
            name, "POST", f"{prefix}/comments", browser | FORM | (HTMX if mode == "htmx" else {}),
            expected,
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
    if endpoint.name == "older" and page_shape(body)["threads"] != 50:
        raise RuntimeError("the older page does not hold 50 threads")
    if endpoint.name == "poll_news" and body.count(b'<article class="comment') != NEWS:
        raise RuntimeError(f"the poll with news does not bring {NEWS} comments: {body[:300]!r}")
    return body


def page_shape(body):
    """What a page of threads shows: threads, replies, and the "Show N more replies" links with
    their N (templates/_thread.html, _comment.html, _replies.html)."""
    more = [int(n) for n in re.findall(rb'class="more-replies"[^>]*>Show (\d+) more repl', body)]
    return {"threads": body.count(b'<section class="thread"'),
            "replies": body.count(b'<article class="comment reply'), "more": more}


def describe(shape):
    more = shape["more"]
    return (f"{shape['threads']} threads, {shape['replies']} replies, {len(more)} \"Show N more\""
            + (f" (N = {', '.join(map(str, more))})" if more else ""))
