"""Response headers, the proxy boundary, request ids, and the guards against abusive posting."""

import hashlib
import logging
import re
import time
import uuid

from flask import current_app, g, has_request_context, request, session
from flask.json.provider import DefaultJSONProvider
from flask.logging import default_handler
from flask_wtf.csrf import generate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix

from .extensions import current_storage, limiter

# Scripts and styles from our own origin only: no inline code, no eval (htmx is configured for it).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# A session's signed CSRF token is used again for this long by a worker: signing it was a tenth
# of a page view. It stays valid WTF_CSRF_TIME_LIMIT (an hour) less at most this.
CSRF_REUSE_SECONDS = 60
CSRF_KEPT = 4096  # sessions' tokens a worker keeps; all forgotten at once when full


class HtmlSafeJSONProvider(DefaultJSONProvider):
    """JSON with <, > and & escaped: inert even where a browser or a page mistakes it for HTML."""

    def dumps(self, obj, **kwargs):
        text = super().dumps(obj, **kwargs)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def request_id():
    """This request's id, made the first time anything asks: a request refused before the
    before_request hooks reach set_request_id (a CSRF failure, a 413) still logs and answers one."""
    if "request_id" not in g:
        # A proxy's id is kept only when we trust the proxy, and only if it looks like an id.
        incoming = request.headers.get("X-Request-ID", "")
        trusted = current_app.config["BOARD_TRUSTED_PROXIES"] > 0
        g.request_id = incoming if trusted and REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    return g.request_id


def set_request_id():
    request_id()


# With BOARD_EMBED_ORIGINS set, those sites may frame the board's pages (static/embed.js): the
# embed page and everything done from it, all in the board blueprint (posts, polls, older
# comments, replies, a comment's page, edits). Nothing else may be framed: /moderate, /boards,
# /recent, the API, error pages outside a board stay frame-ancestors 'none'.
FRAMEABLE_BLUEPRINTS = ("board", "embed")
NEVER_FRAMED = ("board.list_boards", "board.recent")


def framing_origins():
    """The origins that may frame this response's page (empty: nobody)."""
    if request.blueprint in FRAMEABLE_BLUEPRINTS and request.endpoint not in NEVER_FRAMED:
        return current_app.config["BOARD_EMBED_ORIGINS"]
    return []


def content_security_policy(origins):
    # The origins are checked at start (doctor.embed_origins): scheme://host[:port], nothing
    # that could end the directive.
    if not origins:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'",
                                           "frame-ancestors " + " ".join(origins))


def add_headers(response):
    origins = framing_origins()
    # A view's own value wins. One look at what is there, then appends: setdefault would search
    # the headers twice for each (a tenth of an idle poll's time, docs/benchmarks.md).
    present = {name.lower() for name in response.headers.keys()}
    for name, value in HEADERS.items():
        if name == "X-Frame-Options" and origins:
            continue  # DENY would contradict frame-ancestors (it cannot name origins)
        if name.lower() not in present and name != "Content-Security-Policy":
            response.headers.add(name, value)
    response.headers["Content-Security-Policy"] = content_security_policy(origins)
    response.headers["X-Request-ID"] = request_id()
    if response.mimetype == "text/html" and request.endpoint != "static":
        # Pages and htmx fragments carry a CSRF token and one person's Edit and Delete: no
        # shared cache may keep them, no browser may show them again from its history.
        # Static files keep their year-long cache (their URLs change with their content); an
        # answer that is the same for everyone says so itself (the idle poll).
        response.headers.setdefault("Cache-Control", "private, no-store")
    return response


class RequestIdFilter(logging.Filter):
    """Puts the request id on every log record, so an error can be found from a user's report."""

    def filter(self, record):
        record.request_id = request_id() if has_request_context() else "-"
        return True


# Flask-Limiter says when its store (Redis) stops answering, so that it counts in each process's
# memory, and when it answers again: into the app's log, like the app's own lines.
LIMITER_LOG = RequestIdFilter()


def duplicate_key(person, content, parent_id, board):
    digest = hashlib.sha256(f"{board}:{parent_id or 0}:{content}".encode("utf-8", "surrogatepass"))
    return f"board/duplicate/{person}/{digest.hexdigest()}"


def first_post_of(person, content, parent_id=None, board=None):
    """False when `person` (the hash of a browser's author key, board/authors.py) sent the same
    content, on the same board, in reply to the same comment, within BOARD_DUPLICATE_SECONDS: a
    double submit. Keyed on the person, not the address, so two people behind one address may
    both say "Thanks!".

    Counted where the rate limiter counts (extensions.current_storage), so workers that share
    Redis share the memory too.
    """
    window = current_app.config["BOARD_DUPLICATE_SECONDS"]
    if window <= 0 or not current_app.config["RATELIMIT_ENABLED"]:
        return True
    return current_storage().incr(duplicate_key(person, content, parent_id, board), window) == 1


def forget_post(person, content, parent_id=None, board=None):
    """A post that was then refused is no double submit's original: the same text may come again."""
    if current_app.config["BOARD_DUPLICATE_SECONDS"] > 0 and current_app.config["RATELIMIT_ENABLED"]:
        current_storage().clear(duplicate_key(person, content, parent_id, board))


def post_limit():
    return current_app.config["BOARD_POST_LIMIT"]


def edit_limit():
    return current_app.config["BOARD_EDIT_LIMIT"]


def give_back_unless_accepted(response):
    """Posts are counted when they are checked, in one atomic step of the store, so posts sent at
    the same moment cannot all slip under the limit; one that was then refused (bad input, an
    expired form) gives its count back: only accepted posts use up the allowance, and a typo
    fixed after a 422 costs nothing. A post refused as spam (board/screening.py) keeps its
    count: a spammer may not try again and again for free."""
    if response.status_code not in (201, 303, 429) and not g.get("spam_refused"):
        for applied in limiter.current_limits:
            current_storage().incr(applied.key, applied.limit.get_expiry(), amount=-1)
    return response


def csrf_token():
    """Flask-WTF's signed CSRF token for this session (generate_csrf), signed again by this
    worker at most every CSRF_REUSE_SECONDS. Templates' csrf_token() is this."""
    signed = current_app.extensions.setdefault("board_csrf_tokens", {})
    secret = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    now = time.monotonic()
    if "csrf_token" not in g:  # where generate_csrf keeps the request's token
        found = signed.get((secret, session.get("csrf_token")))
        if found is not None and now - found[1] <= CSRF_REUSE_SECONDS:
            g.csrf_token = found[0]
            return found[0]
    token = generate_csrf()  # signed now, or by a form earlier in this request
    key = (secret, session["csrf_token"])  # a new session's raw token is made by generate_csrf
    if key not in signed or now - signed[key][1] > CSRF_REUSE_SECONDS:
        if len(signed) >= CSRF_KEPT:
            signed.clear()
        signed[key] = (token, now)
    return token


def init_app(app):
    app.json = HtmlSafeJSONProvider(app)
    app.jinja_env.globals["csrf_token"] = csrf_token  # after CSRFProtect's generate_csrf
    proxies = app.config["BOARD_TRUSTED_PROXIES"]
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    limiter.init_app(app)
    app.before_request(set_request_id)
    app.after_request(add_headers)
    app.logger.addFilter(RequestIdFilter())
    limiter.logger.setLevel(logging.INFO)  # "Rate limit storage recovered" is an INFO line
    limiter.logger.addFilter(LIMITER_LOG)
    limiter.logger.addHandler(default_handler)
    default_handler.setFormatter(logging.Formatter(
        "[%(asctime)s] %(levelname)s request=%(request_id)s in %(module)s: %(message)s"
    ))
