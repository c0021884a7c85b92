"""For machines: the JSON API, the Atom feed and the health check."""

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from . import models, reads
from .errors import unavailable
from .extensions import db
from .forms import listing_args
from .rules import iso_utc

bp = Blueprint("api", __name__)


@bp.get("/api/comments")
def comments():
    """JSON, paginated like the board: newest first with a `next` cursor to older comments, or
    with `after`, the comments stored since, oldest first, with `next` to continue."""
    args = listing_args(request.args)
    if args.after is not None:
        found = reads.newer_than(args.after, args.limit)
        cursor = {"after": found[-1].id if found else args.after}
        more = len(found) == args.limit
    else:
        page = reads.page_before(args.before, args.limit)
        found, cursor, more = page.comments, {"before": page.older}, page.older is not None
    next_url = url_for(".comments", limit=args.limit, **cursor) if more else None
    return jsonify(comments=[as_json(comment) for comment in found], next=next_url)


def as_json(comment):
    return {
        "id": comment.id,
        "author": comment.author,
        "content": comment.content,
        "posted": iso_utc(comment.posted, "microseconds"),
        "edited": comment.edited and iso_utc(comment.edited, "microseconds"),
        "url": url_for("board.show_comment", comment_id=comment.id, _external=True),
    }


# The year in the feed's tag: URIs (RFC 4151): a date on which the host was the board's. Fixed
# for good: changing it, or the host, gives every entry a new id and readers show them all again.
TAG_YEAR = 2026


def tag_prefix():
    """`tag:<host>,2026:`, the start of the feed's ids: the first of BOARD_HOSTS, so that ids do
    not depend on the Host of the request that fetched the feed. Without BOARD_HOSTS, the host
    the request named (check-config warns about that under production)."""
    hosts = current_app.config["BOARD_HOSTS"]
    host = hosts[0] if hosts else request.host
    if not host.endswith("]"):  # a port goes; an IPv6 literal ([::1]) stays whole
        host = host.rsplit(":", 1)[0]
    return f"tag:{host},{TAG_YEAR}:"


@bp.get("/feed.atom")
def feed():
    comments = reads.newest(current_app.config["BOARD_PAGE_SIZE"]).comments
    updated = max((c.edited or c.posted for c in comments), default=models.clock())
    body = render_template("feed.xml", comments=comments, updated=updated, tag=tag_prefix())
    return current_app.response_class(body, mimetype="application/atom+xml")


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except DBAPIError as error:
        if not unavailable(error):
            raise
        db.session.rollback()
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")
