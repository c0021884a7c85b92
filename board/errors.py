"""Error pages: a full page for browsers, a fragment for htmx, JSON under /api/; never a trace,
SQL or path."""

from flask import current_app, jsonify, request
from flask.globals import request_ctx
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db
from .htmx import render

TITLES = {
    400: "That request didn't make sense",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "That cannot be done now",
    413: "Too large",
    415: "Unsupported format",
    422: "Please check your input",
    429: "Slow down",
    500: "Something went wrong",
    503: "The board is unavailable",
}


UNTRUSTED_HOST = "This board does not answer to that host name."


def render_error(status, message):
    if request_ctx.url_adapter is None:
        # A Host outside BOARD_HOSTS (Flask's TRUSTED_HOSTS): no URL can be built for it, so no
        # page either, and the forged name is not echoed back.
        message = UNTRUSTED_HOST
        if not request.path.startswith("/api/"):
            return current_app.response_class(message + "\n", status, mimetype="text/plain")
    if request.path.startswith("/api/"):
        # For machines: {"error": {"status": 404, "message": "..."}}, whatever went wrong.
        return jsonify(error={"status": status, "message": message}), status
    title = TITLES.get(status, "Error")
    return render("errors/_error.html", "errors/error.html", title=title, message=message), status


def http_error(error):
    return render_error(error.code, error.description)


def too_many_requests(error):
    return render_error(
        429, f"You are going faster than this board allows ({error.description}). "
        "Wait a little, then try again."
    )


def unavailable(error):
    """Is this the database being away (503), rather than a bug in a query (500)?

    A driver error SQLAlchemy cannot classify (mysql-connector's ConnectionTimeoutError) comes
    as a bare DBAPIError; those arise at connection level, so they count as unavailability.
    """
    return isinstance(error, (OperationalError, InterfaceError)) or type(error) is DBAPIError


def database_error(error):
    db.session.rollback()
    if not unavailable(error):
        current_app.logger.error("database error", exc_info=error)
        return internal_error(error)
    current_app.logger.error("database unavailable", exc_info=error)
    return render_error(
        503, "The board's database cannot be reached. Nothing was saved; try again in a moment."
    )


def internal_error(error):
    return render_error(500, InternalServerError.description)


def init_app(app):
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(RateLimitExceeded, too_many_requests)
    app.register_error_handler(DBAPIError, database_error)
    app.register_error_handler(500, internal_error)
