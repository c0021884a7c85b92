"""The board's routes. Each one parses input, calls a query, and renders a template."""

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from . import authors, models
from .errors import render_error, unavailable
from .extensions import db, limiter
from .forms import CommentForm, ConfirmForm, EditForm, ListingArgs
from .htmx import is_htmx, vary_on_htmx
from .security import counts_against_limit, first_post_of, post_limit

bp = Blueprint("board", __name__)
bp.after_request(vary_on_htmx)


def listing_args():
    args = ListingArgs(request.args, current_app.config["BOARD_PAGE_SIZE"])
    if args.errors:
        abort(400, " ".join(args.errors))
    return args


def board_page(form, status=200):
    args = listing_args()
    if args.after is not None:
        abort(400, "The board page takes before, not after.")
    page = models.page_before(args.before, args.limit)
    return render_template("board.html", form=form, page=page, before=args.before,
                           since=models.poll_since()), status


@bp.get("/")
def index():
    return board_page(CommentForm())


@bp.get("/comments")
def list_comments():
    args = listing_args()
    if not is_htmx():
        # Fragments are for htmx; a person following the URL gets the page it belongs to.
        return redirect(url_for(".index", before=args.before), 303)
    if args.after is not None:
        since = models.poll_since() if args.since is None else args.since
        poll = models.poll(args.after, since, args.limit)
        if not poll.comments and not poll.changes:
            return "", 204
        return render_template("_poll.html", poll=poll)
    page = models.page_before(args.before, args.limit)
    return render_template("_comments.html", page=page)


@bp.post("/comments")
@limiter.limit(post_limit, deduct_when=counts_against_limit)
def create_comment():
    if request.mimetype != "application/x-www-form-urlencoded":
        abort(415, "Send the comment as a form (application/x-www-form-urlencoded).")
    form = CommentForm()
    if not form.validate():
        return form_rejected(form, 422)
    if form.website.data or not first_post_of(form.content.data):
        # A bot, or a repeat of what this client just posted: looks accepted, stores nothing.
        return posted(None)
    comment = models.add(form.author.data, form.content.data)
    authors.remember(comment)
    return posted(comment)


def posted(comment):
    if not is_htmx():
        return redirect(url_for(".index"), 303)
    if comment is None:
        return "", 201
    return render_template("_comment.html", comment=comment), 201


@bp.errorhandler(CSRFError)
def csrf_failed(error):
    if request.endpoint != "board.create_comment":
        return render_error(400, "This form had expired. Reload the page and try again.")
    # Only a form body is read back into the form: a JSON body may not even parse.
    form = CommentForm(formdata=request.form, meta={"csrf": False})
    form.form_errors.append("This form had expired. Your text is kept: press Post again.")
    return form_rejected(form, 400)


def form_rejected(form, status):
    """The form again, with its messages and the user's text: in place for htmx, else the page."""
    if not is_htmx():
        return board_page(form, status)
    headers = {"HX-Retarget": "#comment-form", "HX-Reswap": "outerHTML"}
    return render_template("_form.html", form=form), status, headers


# Ids beyond a signed 64-bit integer cannot exist: 404, not an overflow in the driver.
COMMENT_URL = "/comments/<int(min=1, max=9223372036854775807):comment_id>"


def visible_comment(comment_id):
    comment = db.session.get(models.Comment, comment_id)
    if comment is None or comment.state != models.VISIBLE:
        abort(404, "There is no such comment.")
    return comment


def own_comment(comment_id):
    comment = visible_comment(comment_id)
    if reason := authors.refusal(comment):
        abort(403, reason)
    return comment


@bp.get(COMMENT_URL)
def show_comment(comment_id):
    comment = visible_comment(comment_id)
    if is_htmx():  # "Cancel" while editing puts the comment back
        return render_template("_comment.html", comment=comment)
    return render_template("comment.html", comment=comment)


@bp.route(COMMENT_URL + "/edit", methods=["GET", "POST"])
def edit_comment(comment_id):
    comment = own_comment(comment_id)
    form = EditForm(obj=comment)
    if form.validate_on_submit():
        models.change(comment, content=form.content.data, edited=models.clock())
        if is_htmx():
            return render_template("_comment.html", comment=comment)
        return redirect(url_for(".index", _anchor=f"comment-{comment.id}"), 303)
    template = "_edit_form.html" if is_htmx() else "edit.html"
    return render_template(template, form=form, comment=comment), 422 if form.errors else 200


@bp.route(COMMENT_URL + "/delete", methods=["GET", "POST"])
def delete_comment(comment_id):
    comment = own_comment(comment_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        models.change(comment, state=models.DELETED)
        if is_htmx():
            return render_template("_removed.html", comment=comment)
        return redirect(url_for(".index"), 303)
    template = "_delete_form.html" if is_htmx() else "delete.html"
    return render_template(template, form=form, comment=comment)


@bp.app_context_processor
def ownership():
    # A function, so the session is read only by templates that show a comment.
    return {"owns": lambda comment: comment.id in authors.owned_ids()}


@bp.get("/api/comments")
def api_comments():
    """JSON, paginated like the board: newest first with a `next` cursor to older comments, or
    with `after`, the comments stored since, oldest first, with `next` to continue."""
    args = listing_args()
    if args.after is not None:
        comments = models.newer_than(args.after, args.limit)
        cursor = {"after": comments[-1].id if comments else args.after}
        more = len(comments) == args.limit
    else:
        page = models.page_before(args.before, args.limit)
        comments, cursor, more = page.comments, {"before": page.older}, page.older is not None
    next_url = url_for(".api_comments", limit=args.limit, **cursor) if more else None
    return jsonify(comments=[as_json(comment) for comment in comments], next=next_url)


def as_json(comment):
    return {
        "id": comment.id,
        "author": comment.author,
        "content": comment.content,
        "posted": json_time(comment.posted),
        "edited": json_time(comment.edited),
        "url": url_for(".show_comment", comment_id=comment.id, _external=True),
    }


def json_time(moment):
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@bp.get("/feed.atom")
def feed():
    comments = models.newest(current_app.config["BOARD_PAGE_SIZE"]).comments
    updated = max((c.edited or c.posted for c in comments), default=models.clock())
    body = render_template("feed.xml", comments=comments, updated=updated)
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
