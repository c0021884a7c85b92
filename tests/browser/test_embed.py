"""Comments under another site's page, in Chromium: static/embed.js on a page served from another
origin (a second server on loopback) puts the page's board in an iframe, a comment posted inside
it is stored on a board made for the page, with the page's title, and the iframe grows to fit; a
page of a site that BOARD_EMBED_ORIGINS does not list gets no board, and no board is made.

127.0.0.1:<other port> is another origin but the same site as the board (what serving the board
from a subdomain of the site gives: its cookies are first-party); localhost:<port> is another
site (a third-party setup: Chromium does not send the board's SameSite=Lax cookie into it)."""

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from board.extensions import db
from board.models import BOARDS
from harness.ports import free_port
from tests.browser.conftest import is_post_url

pytestmark = pytest.mark.browser

TITLE = "A walk in Lisbon"


class HostSite:
    """Another site's pages: every path answers `self.page`, the page of a blog post."""

    def __init__(self):
        self.page = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/favicon.ico":
                    self.send_response(204)
                    self.end_headers()
                    return
                body = site.page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def origin(self, host="127.0.0.1"):
        return f"http://{host}:{self.port}"

    def serve(self, board_url, extra=""):
        """The blog post's page: the snippet (a container with the no-script link, the script)
        and a "comments" link on the page that embed.js fills with the count."""
        fallback = html.escape(f"{board_url}/embed?key=/post/1&origin=ORIGIN")
        self.page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title></head>
<body>
  <h1>{TITLE}</h1>
  <p>The post.</p>
  <p><a id="count" href="#comments" data-board-count-key="/post/1">Comments</a></p>
  <div id="comments" class="board-comments" data-board-key="/post/1">
    <a id="fallback" href="{fallback}">Comments</a>
  </div>
  {extra}
  <script src="{board_url}/static/embed.js" async></script>
</body></html>"""

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def host_site():
    site = HostSite()
    yield site
    site.stop()


@pytest.fixture
def listed(live_server, host_site):
    """The live board, for this test, lists the host site's two origins (127.0.0.1 and
    localhost, on its port)."""
    config = live_server.app.config
    before = config["BOARD_EMBED_ORIGINS"]
    config["BOARD_EMBED_ORIGINS"] = [host_site.origin("127.0.0.1"), host_site.origin("localhost")]
    host_site.serve(live_server.url)
    yield host_site
    config["BOARD_EMBED_ORIGINS"] = before


def page_boards(live_server):
    with live_server.app.app_context():
        return db.session.execute(sa.select(BOARDS.c.key, BOARDS.c.title, BOARDS.c.comments)
                                  .where(BOARDS.c.key.is_not(None))).all()


def iframe_height(page):
    return page.evaluate("document.querySelector('#comments iframe').getBoundingClientRect().height")


def wait_sized(page):
    """Until the board has told the page its height (the iframe's style says pixels)."""
    page.wait_for_function("(document.querySelector('#comments iframe') || {style: {}})"
                           ".style.height.endsWith('px')")


def board_frame(page):
    frame = page.frame_locator("#comments iframe")
    expect(frame.locator("#comment-form")).to_be_visible()
    return frame


def content_height(page):
    frame = next(f for f in page.frames if "/embed?" in f.url)
    return frame.evaluate("document.documentElement.getBoundingClientRect().height")


def assert_fits(page):
    """The iframe is as tall as the board in it (no scroll bar inside), once the last message
    has arrived."""
    for _ in range(50):
        if abs(iframe_height(page) - content_height(page)) <= 1:
            return
        page.wait_for_timeout(100)
    assert iframe_height(page) == content_height(page)


def post_in(page, frame, text):
    frame.locator("#content").fill(text)
    with page.expect_response(lambda r: r.request.method == "POST" and is_post_url(r.url)) as answer:
        frame.locator("#post-button").click()
    assert answer.value.status == 201
    expect(frame.locator("#comments article.comment", has_text=text)).to_be_visible()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"], ids=["same-site", "third-party"])
def test_the_embed_on_another_sites_page_posts_a_comment_and_resizes(page, new_context, live_server,
                                                                     listed, host):
    page.goto(f"{listed.origin(host)}/post/1")
    frame = board_frame(page)
    expect(page.locator("#fallback")).to_have_count(0)  # the iframe took the link's place
    expect(page.locator("#count")).to_have_text("0 comments")
    wait_sized(page)
    before = iframe_height(page)
    assert_fits(page)
    assert frame.locator("header.masthead").count() == 0
    assert frame.locator("h1").inner_text() == TITLE

    for n in range(3):
        post_in(page, frame, f"Lovely photos, part {n}. " + "More words here. " * 20)
    page.wait_for_function(f"document.querySelector('#comments iframe')"
                           f".getBoundingClientRect().height > {before + 100}")
    assert_fits(page)

    [(key, title, comments)] = page_boards(live_server)
    assert (key, title, comments) == ("/post/1", TITLE, 3)
    # Same site: the author's cookie came along, so the author may edit; a third-party iframe
    # gets no cookie, so the comment is posted but offers no Edit.
    edits = frame.locator("#comments article.comment a.edit, #comments article.comment .edit")
    if host == "127.0.0.1":
        expect(edits.first).to_be_visible()
    else:
        expect(edits).to_have_count(0)
    # Another reader's visit (the counts are cached for 30 s in the first reader's browser).
    other = new_context().new_page()
    other.goto(f"{listed.origin(host)}/post/1")
    expect(other.locator("#count")).to_have_text("3 comments")
    expect(board_frame(other).locator("#comments article.comment")).to_have_count(3)


def test_without_scripts_the_link_opens_the_pages_board(new_context, live_server, listed):
    page = new_context(java_script_enabled=False).new_page()
    origin = listed.origin()
    page.goto(f"{origin}/post/1")
    href = page.locator("#fallback").get_attribute("href").replace("ORIGIN", origin)
    page.goto(href, referer=f"{origin}/post/1")
    page.fill("#content", "Posted without scripts")
    page.click("#post-button")
    expect(page.locator("#comments article.comment", has_text="Posted without scripts")).to_be_visible()
    assert [row.key for row in page_boards(live_server)] == ["/post/1"]


def test_a_page_of_a_site_that_is_not_listed_gets_no_board(page, live_server, host_site,
                                                          problems):
    config = live_server.app.config
    before = config["BOARD_EMBED_ORIGINS"]
    config["BOARD_EMBED_ORIGINS"] = ["https://blog.example.org"]
    try:
        # embed.js names the page's true origin; the hand-written iframe claims a listed one.
        claimed = f"{live_server.url}/embed?key=/post/1&origin=https://blog.example.org"
        host_site.serve(live_server.url, extra=f'<iframe id="liar" src="{html.escape(claimed)}"></iframe>')
        problems.allow(r"response 403: GET .*/embed\?")
        problems.allow(r"status of 403 \(\) \[chrome-error://chromewebdata/\]")
        problems.allow(r"frame-ancestors|Refused to (frame|display)|ERR_BLOCKED_BY_RESPONSE")
        # Nor may its pages read the board's counts (no CORS header for it).
        problems.allow(r"/api/counts\?.*(blocked by CORS policy|ERR_FAILED)|ERR_FAILED.*/api/counts\?")
        with page.expect_response(lambda r: "/embed?" in r.url and "liar" not in r.url
                                  and "blog.example.org" not in r.url) as refused:
            page.goto(f"{host_site.origin()}/post/1")
        assert refused.value.status == 403
        page.wait_for_load_state("networkidle")
        for selector in ("#comments iframe", "#liar"):
            expect(page.frame_locator(selector).locator("#comment-form")).to_have_count(0)
        assert not any(frame.url.startswith(live_server.url + "/embed")
                       and frame.locator("#comment-form").count() for frame in page.frames)
        assert page_boards(live_server) == []
        expect(page.locator("#count")).to_have_text("Comments")
    finally:
        config["BOARD_EMBED_ORIGINS"] = before
