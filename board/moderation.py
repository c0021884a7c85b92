"""The moderator's page: log in with the board's moderator password, then hide, unhide or delete
any comment. It exists only when BOARD_MODERATOR_PASSWORD_HASH is set."""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from . import moderators, models, reads
from .extensions import limiter
from .forms import ConfirmForm, LoginForm, listing_args
from .htmx import render_or_redirect, vary_on_htmx
from .rules import VERBS

bp = Blueprint("moderate", __name__, url_prefix="/moderate")
bp.after_request(vary_on_htmx)


@bp.before_request
def enabled_and_logged_in():
    if not current_app.config["BOARD_MODERATOR_PASSWORD_HASH"]:
        abort(404)
    if request.endpoint != "moderate.login" and not moderators.logged_in():
        return redirect(url_for("moderate.login"), 303)


def login_limit():
    return current_app.config["BOARD_LOGIN_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            if moderators.log_in(form.password.data):
                return redirect(url_for("moderate.index"), 303)
        except moderators.Wait as wait:
            # No sleeping here: a waiting worker serves no one. Refusing early is the delay.
            seconds = f"{wait.seconds} second{'' if wait.seconds == 1 else 's'}"
            form.password.errors.append(
                "Too many wrong passwords have been tried on this board; no password is checked "
                f"for {seconds}. Try again then.")
            return (render_template("login.html", form=form), 429,
                    {"Retry-After": str(wait.seconds)})
        form.password.errors.append("That is not the moderator password.")
    return render_template("login.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
def logout():
    if ConfirmForm().validate_on_submit():
        moderators.log_out()
    return redirect(url_for("board.index"), 303)


@bp.get("/")
def index():
    args = listing_args(request.args, "The moderator page")
    page = reads.for_moderation(args.before, args.limit)
    return render_template("moderate.html", page=page)


@bp.post(f"/<comment_id:comment_id>/<any({', '.join(VERBS)}):verb>")
def act(comment_id, verb):
    if reads.find(comment_id) is None:
        abort(404, "There is no such comment.")
    if not ConfirmForm().validate_on_submit():
        abort(400, "This form had expired. Reload the page and try again.")
    try:
        _, comment = models.moderate(comment_id, verb)
    except models.Refused as refused:
        abort(409, f"Not done: {refused}.")
    return render_or_redirect("_moderation_row.html",
                              url_for("moderate.index", _anchor=f"moderate-{comment_id}"),
                              comment=comment)
