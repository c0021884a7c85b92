"""The board's routes. Each one parses input, calls a query, and renders a template."""

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from . import models
from .errors import unavailable
from .extensions import db, limiter
from .forms import CommentForm, ListingArgs
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
    page = models.older_than(args.before, args.limit) if args.before else models.newest(args.limit)
    return render_template("board.html", form=form, page=page, before=args.before), status


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
        page = models.newer_than(args.after, args.limit)
        if not page.comments:
            return "", 204
        return render_template("_poll.html", page=page)
    page = models.older_than(args.before, args.limit) if args.before else models.newest(args.limit)
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
    return posted(models.add(form.author.data, form.content.data))


def posted(comment):
    if not is_htmx():
        return redirect(url_for(".index"), 303)
    if comment is None:
        return "", 201
    return render_template("_comment.html", comment=comment), 201


@bp.errorhandler(CSRFError)
def csrf_failed(error):
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
@bp.get("/comments/<int(min=1, max=9223372036854775807):comment_id>")
def show_comment(comment_id):
    comment = db.get_or_404(models.Comment, comment_id, description="There is no such comment.")
    return render_template("comment.html", comment=comment)


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
