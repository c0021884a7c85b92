"""Browser tests: the board in a real server on loopback, driven by Debian's headless Chromium.

pytest-playwright provides `browser`, `context`, `page` and `new_context`; this file points its
launcher at /usr/bin/chromium (Playwright's own browser download cannot work on these machines),
starts the app once per session on an SQLite file built by the migrations, empties the board before
every test, and watches every page of every context for console errors, uncaught exceptions,
Content-Security-Policy violations and failed requests: a test fails on any it did not expect.
"""

import re
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from board import create_app, models
from board.extensions import db
from harness.ports import free_port
from tests.conftest import unavailable
from tests.helpers import add_comments, count

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
POLL_SECONDS = 1
AXE = Path(__file__).parent / "vendor" / "axe.min.js"

# Runs in every page before its own scripts: a CSP violation becomes a console error, which the
# watcher below reports (Chromium logs most violations itself; this catches all of them).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline")
    + " in " + event.sourceFile + ":" + event.lineNumber);
}, true);
"""


# --- Chromium --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed ({CHROMIUM} is missing): apt-get install chromium")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    return {**browser_context_args, "base_url": live_server.url, "locale": "en-GB"}


# --- The app in a real server ----------------------------------------------------------------

@dataclass
class LiveServer:
    url: str
    app: object

    def add(self, content, author="Seeder", posted=None):
        """Store one comment directly, as another visitor would have. Returns its id."""
        with self.app.app_context():
            comment = models.Comment(
                author=author, content=content, posted=posted or datetime.now(timezone.utc)
            )
            db.session.add(comment)
            db.session.commit()
            return comment.id

    def add_many(self, n, start, step=timedelta(minutes=1), author="Seeder"):
        """n comments "Comment 0" .. "Comment n-1", oldest first. Returns their ids."""
        return add_comments(self.app, n, start, step, author)

    def count(self):
        return count(self.app)

    def clear(self):
        with self.app.app_context():
            db.session.execute(text("DELETE FROM comments"))
            db.session.commit()


@pytest.fixture(scope="session")
def live_server():
    folder = Path(tempfile.mkdtemp(prefix="board-browser-"))
    app = create_app("testing", {
        "DATABASE_URL": f"sqlite:///{folder / 'board.sqlite'}",
        "BOARD_POLL_SECONDS": POLL_SECONDS,
    })
    with app.app_context():
        flask_migrate.upgrade()
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def empty_board(live_server):
    live_server.clear()
    yield live_server


# --- Watching every page for problems --------------------------------------------------------

class Problems:
    """Console errors, page errors, CSP violations, failed requests and error responses."""

    def __init__(self):
        self.found = []
        self.allowed = []
        self.listening = True

    def allow(self, pattern):
        """Expect problems matching `pattern` (a regular expression) in this test."""
        self.allowed.append(re.compile(pattern))

    def add(self, problem):
        if self.listening:
            self.found.append(problem)

    def unexpected(self):
        return [p for p in self.found if not any(a.search(p) for a in self.allowed)]

    def clear(self):
        self.found.clear()

    def watch(self, context):
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.add(f"page error: {error.error}"))
        context.on("requestfailed", lambda request: self.add(
            f"request failed: {request.method} {request.url} ({request.failure})"
        ))
        context.on("response", self._response)
        return context

    def _console(self, message):
        if message.type in ("error", "assert"):
            where = message.location.get("url", "")
            self.add(f"console {message.type}: {message.text} [{where}]")

    def _response(self, response):
        if response.status >= 400:
            self.add(f"response {response.status}: {response.request.method} {response.url}")


@pytest.fixture(autouse=True)
def problems():
    problems = Problems()
    yield problems
    unexpected = problems.unexpected()
    assert not unexpected, "the browser reported problems:\n" + "\n".join(unexpected)


@pytest.fixture
def new_context(new_context, problems):
    """pytest-playwright's factory, with every context it makes watched for problems."""

    def make(**kwargs):
        return problems.watch(new_context(**kwargs))

    yield make
    # Closing contexts aborts polls in flight: that is the test ending, not a failure.
    problems.listening = False


# --- Small helpers the tests share -----------------------------------------------------------

@pytest.fixture
def board(page):
    """The board page, loaded, with htmx and board.js ready."""
    return open_board(page)


def open_board(page):
    page.goto("/")
    wait_ready(page)
    return page


def wait_ready(page):
    page.wait_for_function("window.htmx !== undefined && document.readyState === 'complete'")


def settle(page):
    """Wait for the page's last requests (the favicon's, say), before leaving it: a request cut
    short by navigating away would be reported as failed."""
    page.wait_for_load_state("networkidle")


def is_post_url(url):
    """The form's POST /comments, not the poll's GET /comments?after=..."""
    return url.split("#")[0].endswith("/comments")


def record_announcements(page):
    """Keep everything the aria-live region says in window.announced."""
    page.evaluate("""() => {
        window.announced = [];
        const region = document.getElementById("announcer");
        new MutationObserver(() => region.textContent && window.announced.push(region.textContent))
            .observe(region, { childList: true, characterData: true, subtree: true });
    }""")


def comment_ids(page):
    """Ids of the comments on the page, top to bottom."""
    return page.eval_on_selector_all("#comments article.comment", "els => els.map(e => e.id)")


def comment_texts(page):
    return page.eval_on_selector_all(
        "#comments article.comment .content", "els => els.map(e => e.textContent)"
    )


def run_axe(page):
    """axe-core's violations on the page, run under the page's CSP.

    Scripts evaluated by Playwright (the DevTools protocol) are not subject to the page's
    Content-Security-Policy, so axe.min.js is evaluated as-is: no bypass_csp needed.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate("""async () => {
        const result = await axe.run(document, { resultTypes: ["violations"] });
        return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary),
        }));
    }""")
