"""Response headers, the proxy boundary, request ids, and the guards against abusive posting."""

import hashlib
import logging
import re
import uuid

from flask import current_app, g, has_request_context, request
from flask.json.provider import DefaultJSONProvider
from flask.logging import default_handler
from werkzeug.middleware.proxy_fix import ProxyFix

from .extensions import limiter

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


def add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["X-Request-ID"] = request_id()
    if response.mimetype == "text/html" and request.endpoint != "static":
        # Pages and htmx fragments carry a CSRF token and one person's Edit and Delete: no
        # shared cache may keep them, no browser may show them again from its history.
        # Static files keep their year-long cache (their URLs change with their content).
        response.headers["Cache-Control"] = "private, no-store"
    return response


class RequestIdFilter(logging.Filter):
    """Puts the request id on every log record, so an error can be found from a user's report."""

    def filter(self, record):
        record.request_id = request_id() if has_request_context() else "-"
        return True


def first_post_of(person, content):
    """False when `person` (the hash of a browser's author key, board/authors.py) sent the same
    content within BOARD_DUPLICATE_SECONDS: a double submit. Keyed on the person, not the
    address, so two people behind one address may both say "Thanks!".

    Counted in the rate limiter's storage, so workers that share Redis share the memory too.
    """
    window = current_app.config["BOARD_DUPLICATE_SECONDS"]
    if window <= 0 or not current_app.config["RATELIMIT_ENABLED"]:
        return True
    digest = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()
    key = f"board/duplicate/{person}/{digest}"
    return limiter.storage.incr(key, window) == 1


def post_limit():
    return current_app.config["BOARD_POST_LIMIT"]


def edit_limit():
    return current_app.config["BOARD_EDIT_LIMIT"]


def give_back_unless_accepted(response):
    """Posts are counted when they are checked, in one atomic step of the store, so posts sent at
    the same moment cannot all slip under the limit; one that was then refused (bad input, an
    expired form) gives its count back: only accepted posts use up the allowance, and a typo
    fixed after a 422 costs nothing."""
    if response.status_code not in (201, 303, 429):
        for applied in limiter.current_limits:
            limiter.storage.incr(applied.key, applied.limit.get_expiry(), amount=-1)
    return response


def init_app(app):
    app.json = HtmlSafeJSONProvider(app)
    proxies = app.config["BOARD_TRUSTED_PROXIES"]
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    limiter.init_app(app)
    app.before_request(set_request_id)
    app.after_request(add_headers)
    app.logger.addFilter(RequestIdFilter())
    default_handler.setFormatter(logging.Formatter(
        "[%(asctime)s] %(levelname)s request=%(request_id)s in %(module)s: %(message)s"
    ))
