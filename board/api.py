"""For machines: the JSON API, the Atom feed and the health check."""

from flask import Blueprint, abort, current_app, g, jsonify, render_template, request, url_for
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from . import boards, models, reads
from .errors import unavailable
from .extensions import db
from .forms import listing_args
from .rules import iso_utc, key_problem
from .templating import as_html

bp = Blueprint("api", __name__)


@bp.get("/api/comments")
def comments():
    """JSON, paginated like the board: newest first with a `next` cursor to older comments, or
    with `after`, the comments stored since, oldest first, with `next` to continue. Every
    visible comment, replies too, each once: `parent` and `thread` say where it belongs."""
    args = listing_args(request.args)
    if args.after is not None:
        found = reads.newer_than(args.after, args.limit)
        cursor = {"after": found[-1].id if found else args.after}
        more = len(found) == args.limit
    else:
        page = reads.visible_before(args.before, args.limit)
        found, cursor, more = page.comments, {"before": page.older}, page.older is not None
    next_url = url_for(".comments", limit=args.limit, **cursor) if more else None
    return jsonify(comments=[as_json(comment) for comment in found], next=next_url)


def as_json(comment):
    """`content` is what was written (Markdown); `html` is how the board shows it. `parent` is the
    comment answered (null for a thread's first comment), `thread` the thread's first comment
    (the comment itself for that one)."""
    return {
        "id": comment.id,
        "author": comment.author,
        "content": comment.content,
        "html": str(as_html(comment)),
        "parent": comment.parent_id,
        "thread": comment.thread_id or comment.id,
        "posted": iso_utc(comment.posted, "microseconds"),
        "edited": comment.edited and iso_utc(comment.edited, "microseconds"),
        "url": url_for("board.show_comment", comment_id=comment.id, _external=True),
    }


COUNTS_MAX = 100  # page keys in one /api/counts request


@bp.get("/api/counts")
def counts():
    """How many visible comments the boards of these pages have (`key` repeated, up to
    COUNTS_MAX), 0 for a page without a board: "12 comments" links on a site's index page
    (static/embed.js). One statement; cached briefly by anyone, since it is public."""
    keys = request.args.getlist("key")
    if not keys:
        abort(400, "Name the pages: /api/counts?key=/a/page/&key=/another/page/")
    if len(keys) > COUNTS_MAX:
        abort(400, f"Ask for at most {COUNTS_MAX} pages at a time.")
    for key in keys:
        if problem := key_problem(key):
            abort(400, problem)
    found = boards.counts(keys)
    response = jsonify(counts={key: found.get(key, 0) for key in keys})
    response.headers["Cache-Control"] = "public, max-age=30"
    return response


@bp.after_request
def listed_sites_may_read_counts(response):
    """The pages of a listed site ask for counts from their own origin (CORS); errors too, so
    that their scripts can read why."""
    if request.endpoint == "api.counts":
        origin = request.headers.get("Origin")
        if origin in current_app.config["BOARD_EMBED_ORIGINS"]:
            response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
    return response


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


@bp.url_value_preprocessor
def pull_board(endpoint, values):
    if values is not None and "slug" in values:
        g.board = boards.Unsaved(slug=values.pop("slug") or boards.default_slug())


@bp.get("/feed.atom", defaults={"slug": None})
@bp.get("/b/<slug>/feed.atom")
def feed():
    """A board's newest visible comments, replies too, newest first; a reply says what it
    answers."""
    board = boards.find(g.board.slug)
    if board is None and not boards.is_default(g.board):
        abort(404, "There is no such board.")
    g.board = board or g.board
    size = current_app.config["BOARD_PAGE_SIZE"]
    comments = reads.board_feed(board.id, size) if board else []
    default = boards.is_default(g.board)
    # The default board's feed keeps the id it had when it was the only board.
    return atom(comments, "feed" if default else f"board-{g.board.slug}",
                f"{boards.tab_title(g.board)}: newest comments", url_for("board.index", _external=True))


@bp.get("/recent.atom")
def recent_feed():
    """The newest visible comments on every open board."""
    return atom(reads.recent(None, current_app.config["BOARD_PAGE_SIZE"]).comments, "recent",
                "Board: recent comments on every board", url_for("board.recent", _external=True))


def atom(comments, feed_id, title, alternate):
    updated = max((c.edited or c.posted for c in comments), default=models.clock())
    body = render_template("feed.xml", comments=comments, updated=updated, tag=tag_prefix(),
                           feed_id=feed_id, feed_title=title, alternate=alternate)
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
