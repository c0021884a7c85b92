"""The board's HTML routes. Each one parses input, asks reads or models, and renders a partial
(htmx) or the page that includes it (board/htmx.py)."""

from datetime import timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from . import authors, models, reads
from .errors import render_error
from .extensions import limiter
from .forms import CommentForm, ConfirmForm, EditForm, listing_args
from .htmx import is_htmx, render, render_or_redirect, vary_on_htmx
from .rules import DELETED
from .security import edit_limit, first_post_of, give_back_unless_accepted, post_limit

bp = Blueprint("board", __name__)
bp.after_request(vary_on_htmx)


@bp.after_request
def posts_use_up_the_allowance_only_when_accepted(response):
    if request.endpoint == "board.create_comment":
        give_back_unless_accepted(response)
    return response

# One URL per comment: ASCII digits, no leading zeros, at most ID_MAX (ids beyond the id column's
# range cannot exist): anything else is 404 (forms.CommentIdConverter, registered by create_app).
COMMENT_URL = "/comments/<comment_id:comment_id>"
# Flask-WTF's description when an HTTPS post has no Referer: a privacy setting or extension
# removed it, and posting again does not help.
NO_REFERRER = "The referrer header is missing."
REFERRER_NEEDED = ("Your browser did not say which page this post came from (a privacy setting "
                   "or extension may remove it); this board needs it over HTTPS. Allow it for "
                   "this site and post again.")


def board_page(form, status=200):
    args = listing_args(request.args, "The board page")
    authors.key_hash()  # made with the form, so tabs opened from it post under one key
    page = reads.page_before(args.before, args.limit)
    return render_template("board.html", form=form, page=page, before=args.before), status


@bp.get("/")
def index():
    return board_page(CommentForm())


@bp.get("/comments")
def list_comments():
    args = listing_args(request.args)
    if not is_htmx():
        # Fragments are for htmx; a person following the URL gets the page it belongs to.
        return redirect(url_for(".index", before=args.before), 303)
    if args.after is not None:
        since = reads.latest_revision() if args.since is None else args.since
        poll = reads.poll(args.after, since, args.limit)
        if poll.behind:
            # htmx reloads the page on HX-Refresh, whatever the status.
            body, status = render_error(409, "This board has fallen too far behind: reload the page.")
            return body, status, {"HX-Refresh": "true"}
        if not poll.comments and not poll.changes:
            return "", 204
        return render_template("_poll.html", poll=poll)
    page = reads.page_before(args.before, args.limit)
    return render_template("_comments.html", page=page)


@bp.post("/comments")
@limiter.limit(post_limit)
def create_comment():
    if request.mimetype != "application/x-www-form-urlencoded":
        abort(415, "Send the comment as a form (application/x-www-form-urlencoded).")
    form = CommentForm()
    if not form.validate():
        return form_rejected(form, 422)
    if form.website.data:
        return posted(None)  # a bot: looks accepted, stores nothing
    person = authors.key_hash()
    if not first_post_of(person, form.content.data):
        # A repeat of what this person just posted (a double submit): stored once, and the
        # repeat is answered with the comment that was stored.
        window = timedelta(seconds=current_app.config["BOARD_DUPLICATE_SECONDS"])
        return posted(reads.latest_by(person, form.content.data, models.clock() - window))
    return posted(models.add(form.author.data, form.content.data, person))


def posted(comment):
    """The answer to an accepted post: the stored comment for htmx, the board for a browser.
    None (a bot, or a repeat whose first post has not committed yet) answers an empty 201."""
    if not is_htmx():
        return redirect(url_for(".index"), 303)
    if comment is None:
        return "", 201
    return render_template("_comment.html", comment=comment), 201


@bp.errorhandler(CSRFError)
def csrf_failed(error):
    no_referrer = error.description == NO_REFERRER
    if request.endpoint != "board.create_comment":
        return render_error(400, REFERRER_NEEDED if no_referrer
                            else "This form had expired. Reload the page and try again.")
    # Only a form body is read back into the form: a JSON body may not even parse.
    form = CommentForm(formdata=request.form, meta={"csrf": False})
    form.form_errors.append(f"Your text is kept. {REFERRER_NEEDED}" if no_referrer
                            else "This form had expired. Your text is kept: press Post again.")
    return form_rejected(form, 400)


def form_rejected(form, status):
    """The form again, with its messages and the user's text: in place for htmx, else the page."""
    if not is_htmx():
        return board_page(form, status)
    headers = {"HX-Retarget": "#comment-form", "HX-Reswap": "outerHTML"}
    return render_template("_form.html", form=form), status, headers


def visible_comment(comment_id):
    comment = reads.visible(comment_id)
    if comment is None:
        abort(404, "There is no such comment.")
    return comment


def own_comment(comment_id):
    comment = visible_comment(comment_id)
    if reason := authors.refusal(comment):
        abort(403, reason)
    return comment


@bp.get(COMMENT_URL)
def show_comment(comment_id):
    # With htmx, "Cancel" while editing puts the comment back.
    return render("_comment.html", "comment.html", comment=visible_comment(comment_id))


# Edits and deletes share one allowance per client (BOARD_EDIT_LIMIT); only POSTs use it up.
edits_limited = limiter.shared_limit(edit_limit, scope="edit", methods=["POST"])


@bp.route(COMMENT_URL + "/edit", methods=["GET", "POST"])
@edits_limited
def edit_comment(comment_id):
    comment = own_comment(comment_id)
    form = EditForm(obj=comment)
    if form.validate_on_submit():
        models.change(comment, content=form.content.data, edited=models.clock())
        return render_or_redirect("_comment.html", url_for(".index", _anchor=f"comment-{comment.id}"),
                                  comment=comment)
    status = 422 if form.errors else 200
    return render("_edit_form.html", "edit.html", form=form, comment=comment), status


@bp.route(COMMENT_URL + "/delete", methods=["GET", "POST"])
@edits_limited
def delete_comment(comment_id):
    comment = own_comment(comment_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        models.change(comment, state=DELETED)
        return render_or_redirect("_removed.html", url_for(".index"), comment=comment)
    return render("_delete_form.html", "delete.html", form=form, comment=comment)


@bp.app_context_processor
def ownership():
    # A function, so the session is read only by templates that show a comment.
    return {"owns": authors.owns}
