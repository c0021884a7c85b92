"""Error pages: a full page for browsers, a fragment for htmx, JSON under /api/; never a trace,
SQL or path."""

from flask import current_app, jsonify, request
from flask.globals import request_ctx
from flask_babel import force_locale, lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from .extensions import db
from .htmx import render
from .rules import translate

TITLES = {
    400: _l("That request didn't make sense"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("That cannot be done now"),
    413: _l("Too large"),
    415: _l("Unsupported format"),
    422: _l("Please check your input"),
    429: _l("Slow down"),
    500: _l("Something went wrong"),
    503: _l("The board is unavailable"),
}


# The board's own words where a route gave none (werkzeug's stock text speaks of "the server"
# and "the requested URL").
MESSAGES = {
    400: _l("The board could not make sense of that request."),
    403: _l("You are not allowed to do that here."),
    404: _l("There is nothing at this address: the link may be mistyped, or what it pointed to "
            "was removed."),
    405: _l("This address does not take that kind of request."),
    413: _l("That is more than the board takes in one request: a comment is at most 4,096 "
            "characters."),
    415: _l("The board cannot read that format."),
    500: _l("The board ran into a problem of its own. Nothing you did caused it; try again in a "
            "moment."),
}

UNTRUSTED_HOST = _l("This board does not answer to that host name.")


def render_error(status, message):
    """`message` may be lazy, or a rules.Text (a refusal from below the routes): it is written
    here, in English for the API's JSON, else in the reader's language."""
    if request_ctx.url_adapter is None:
        # A Host outside BOARD_HOSTS (Flask's TRUSTED_HOSTS): no URL can be built for it, so no
        # page either, and the forged name is not echoed back.
        message = UNTRUSTED_HOST
        if not request.path.startswith("/api/"):
            return current_app.response_class(str(message) + "\n", status, mimetype="text/plain")
    if request.path.startswith("/api/"):
        # For machines: {"error": {"status": 404, "message": "..."}}, whatever went wrong,
        # in English whatever the reader's language.
        with force_locale("en"):
            message = str(message)
        return jsonify(error={"status": status, "message": message}), status
    title = str(TITLES.get(status, _l("Error")))
    message = str(translate(message))
    return render("errors/_error.html", "errors/error.html", title=title, message=message), status


def http_error(error):
    stock = error.description == type(error).description
    return render_error(error.code, MESSAGES.get(error.code, error.description) if stock
                        else error.description)


def too_many_requests(error):
    return render_error(
        429, _l("You are going faster than this board allows (%(limit)s). Wait a little, then try "
                "again.", limit=error.description))


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
        503, _l("The board's database cannot be reached. Nothing was saved; try again in a moment.")
    )


def internal_error(error):
    return render_error(500, MESSAGES[500])


def init_app(app):
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(RateLimitExceeded, too_many_requests)
    app.register_error_handler(DBAPIError, database_error)
    app.register_error_handler(500, internal_error)
