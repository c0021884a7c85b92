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
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from board import create_app, markup, models
from board.extensions import db
from harness.ports import free_port
from tests.conftest import unavailable
from tests.helpers import add_comments, board_id, count

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
POLL_SECONDS = 1
# What board.js writes into a comment's time: how long ago (Intl.RelativeTimeFormat, numeric
# "auto", in English). Without the script the server's date stays, which ends in its zone.
RELATIVE = re.compile(r"^(just now|\d+ (minute|hour|day|week|month|year)s? ago|yesterday|"
                      r"last (week|month|year))$")
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

    def add(self, content, author="Seeder", posted=None, parent=None):
        """Store one comment directly, as another visitor would have, with its HTML; a reply to
        comment `parent` when given (its thread's count goes up). Returns its id."""
        with self.app.app_context():
            thread = None
            if parent is not None:
                answered = db.session.get(models.Comment, parent)
                thread = answered.thread_id or answered.id
                models.count_reply(thread, 1)
            comment = models.Comment(
                author=author, content=content, posted=posted or datetime.now(timezone.utc),
                parent_id=parent, thread_id=thread, html=markup.render(content),
                board_id=answered.board_id if parent is not None else board_id(),
            )
            db.session.add(comment)
            db.session.flush()
            models.newest_on_board(comment.board_id, comment_id=comment.id)  # polls look there
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
            db.session.execute(text("DELETE FROM boards"))
            db.session.execute(text("DELETE FROM purged"))
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
        context.on("requestfailed", self._failed)
        context.on("response", self._response)
        return context

    def _failed(self, request):
        # A poll still on its way when the test reloads or leaves the page is cancelled by the
        # browser (ERR_ABORTED), as it would be for anyone: not a fault of the board. A poll that
        # fails any other way, and every other failed request, is reported. The same holds for the
        # favicon: Chromium fetches it by itself after the page has loaded, so a test that leaves
        # the page at once cancels it (seen in CI after a no-JS post's redirect).
        if request.failure == "net::ERR_ABORTED" and CANCELLED_BY_LEAVING.search(request.url):
            return
        self.add(f"request failed: {request.method} {request.url} ({request.failure})")

    def _console(self, message):
        if message.type in ("error", "assert"):
            where = message.location.get("url", "")
            self.add(f"console {message.type}: {message.text} [{where}]")

    def _response(self, response):
        if response.status >= 400:
            self.add(f"response {response.status}: {response.request.method} {response.url}")


CANCELLED_BY_LEAVING = re.compile(r"/comments\?after=\d+|/static/favicon\.svg")


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


def wait_held(page, held, n):
    """Waits until `n` requests are held by a route (its handler runs while Playwright waits)."""
    for _ in range(250):
        if len(held) >= n:
            return
        page.wait_for_timeout(20)
    raise AssertionError(f"{len(held)} of {n} requests held")


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


def violations(page):
    """Every violation axe-core finds on the page, whatever its impact, one paragraph each (an
    empty string when there is none), to compare with "" in an assert."""
    return "\n".join(f"{v['impact']} {v['id']}: {v['help']}\n  " + "\n  ".join(v["nodes"])
                     for v in run_axe(page))


def from_the_top(page):
    """The next Tab goes to the page's first stop, as on a page just loaded: the body takes focus
    for a moment (Chromium starts the next Tab from where focus last was, even after a blur)."""
    page.evaluate("""() => {
        document.body.tabIndex = -1;
        document.body.focus();
        document.body.removeAttribute("tabindex");
        window.scrollTo(0, 0);
    }""")
    return page


# --- A reader's choices: theme and language -----------------------------------------------------

THEMES = ["light", "dark"]
# The languages the board's pages are checked in: a language added to the board is one more
# entry here (its code, as the switcher's cookie holds it).
LANGUAGES = ["en", "ar"]


def choose(context, url, theme=None, language=None):
    """A reader's choices, as the board keeps them (board/preferences.py, board/languages.py):
    cookies on the live server's site for every page `context` opens from now on."""
    cookies = [{"name": name, "value": value, "url": url}
               for name, value in (("theme", theme), ("language", language)) if value]
    context.add_cookies(cookies)
    return context


def page_theme(page):
    """The theme the page is painted in: "dark" or "light", by its background's lightness (the
    stylesheet's, whichever way it was chosen: a cookie, the system's, an embedding site)."""
    return page.evaluate("""() => {
        const [r, g, b] = getComputedStyle(document.documentElement).backgroundColor
            .match(/\\d+/g).map(Number);
        return (r + g + b) / 3 < 128 ? "dark" : "light";
    }""")


def script_says(page, key, count=None):
    """What board.js says for `key` in the page's language (the page's board-messages, from
    board/languages.py): a plain message, or with `count` the form of a count for that number."""
    return page.evaluate("""([key, count]) => {
        const text = JSON.parse(document.querySelector('meta[name="board-messages"]').content);
        if (count === null) return text.messages[key];
        const forms = text.counts[key];
        const form = forms[new Intl.PluralRules(document.documentElement.lang).select(count)];
        return (form || forms.other).replace("%(num)d", String(count));
    }""", [key, count])


# --- The moderator -----------------------------------------------------------------------------

MODERATOR_PASSWORD = "a password for the browser tests"


@pytest.fixture
def moderator(live_server):
    """/moderate on, with MODERATOR_PASSWORD; log_in(page) to use it. The guards against
    password guessing stand back meanwhile (every test logs in from loopback, and some try a
    wrong password on purpose: together they would soon be held back)."""
    config = live_server.app.config
    settings = {"BOARD_MODERATOR_PASSWORD_HASH": generate_password_hash(MODERATOR_PASSWORD),
                "BOARD_LOGIN_LIMIT": "1000 per minute", "BOARD_LOGIN_DELAY_MAX_SECONDS": 0}
    old = {name: config[name] for name in settings}
    config.update(settings)
    yield
    config.update(old)


def log_in(page):
    """Log `page` in as the moderator (the `moderator` fixture is on): at /moderate afterwards."""
    page.goto("/moderate/login")
    page.fill("input[type=password]", MODERATOR_PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    wait_ready(page)


@pytest.fixture
def holding(live_server):
    """Every new comment waits for a moderator (BOARD_MODERATION=all) during the test."""
    config = live_server.app.config
    old = config["BOARD_MODERATION"]
    config["BOARD_MODERATION"] = "all"
    yield live_server
    config["BOARD_MODERATION"] = old


def first_visible(page):
    """The id of the first comment at least partly in view, and how far its top is from the top
    of the viewport, in CSS pixels: what the reader is reading, and where."""
    return page.evaluate("""() => {
        const shown = Array.from(document.querySelectorAll("#comments article.comment"))
            .find((c) => c.offsetParent !== null && c.getBoundingClientRect().bottom > 0);
        return shown ? [shown.id, shown.getBoundingClientRect().top] : null;
    }""")


def post_comment(page, text, author=None):
    """Post `text` from the board's form (with htmx) and return the new comment's id."""
    if author is not None:
        page.fill("#author", author)
    page.fill("#content", text)
    with page.expect_response(lambda r: r.request.method == "POST" and is_post_url(r.url)) as answer:
        page.click("#post-button")
    assert answer.value.status == 201
    mine = page.locator("#comments article.comment", has_text=text).first
    mine.wait_for()
    return int(mine.get_attribute("id").removeprefix("comment-"))
