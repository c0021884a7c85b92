"""The links in the board's emails, and subscribing to a board: no account, no login.

- /confirm/<token>: the double opt-in. GET shows a button, POST confirms: a mail scanner that
  fetches every link in a message (many do) must not confirm on its owner's behalf. Confirming
  makes this browser count as the address's person (authors.remember_confirmed).
- /unsubscribe/<token>: GET shows a button; POST stops what the link names. Mail clients POST
  `List-Unsubscribe=One-Click` (RFC 8058) without a session or a CSRF token, so this route is
  exempt from CSRF: the signed token is its only authority, and it only ever stops mail.
  A reply email's link stops replies to every comment of that address; a board email's, that
  board's emails; a confirmation's ("not you?"), everything: the address is forgotten.
- POST /subscribe: a board's new comments by email (templates/_subscribe.html on each board).
  An unconfirmed address is asked to confirm first; a confirmed one too, unless it was
  confirmed in this browser. The answer is the same whether the address was known or not.
"""

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from . import authors, boards, notifications
from .extensions import csrf, db, limiter
from .forms import ConfirmForm
from .htmx import is_htmx
from .rules import ARCHIVED
from .security import post_limit

bp = Blueprint("subscriptions", __name__)

CHECK_INBOX = _l("Check your inbox: we sent you a link to confirm. Nothing else is sent to your "
                 "address until you follow it.")


@bp.app_context_processor
def email_settings():
    return {"email_enabled": notifications.email_on}


def bad_link(error):
    abort(400, str(error))  # BadToken: in the reader's language already


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm_page(token):
    try:
        address, board = notifications.read_confirmation(token)
    except notifications.BadToken as error:
        bad_link(error)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400, _("This form had expired. Reload the page and try again."))
        try:
            address, board = notifications.confirm(token)
        except notifications.BadToken as error:
            bad_link(error)
        authors.remember_confirmed(address.id)
        return render_template("confirm.html", done=True, board=board, form=form)
    return render_template("confirm.html", done=False, board=board, form=form)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe_page(token):
    try:
        what, _address, board = notifications.read_unsubscribe(token)
        if request.method == "POST":
            what, board = notifications.unsubscribe(token)
    except notifications.BadToken as error:
        bad_link(error)
    return render_template("unsubscribe.html", done=request.method == "POST", what=what,
                           board=board)


@bp.post("/subscribe")
@limiter.limit(post_limit)
def subscribe():
    if not notifications.email_on():
        abort(404, _("This board sends no email."))
    board = boards.find(request.form.get("board") or "")
    if board is None or board.state == ARCHIVED:
        abort(404, _("There is no such board."))
    g.board = board
    form = ConfirmForm()
    if not form.validate_on_submit():
        return answer(board, error=_("This form had expired. Reload the page and try again."),
                      status=400)
    email = notifications.normal(request.form.get("email"))
    if not notifications.valid_email(email):
        return answer(board, error=_("Give an email address such as ann@example.org."),
                      email=request.form.get("email", "")[:254], status=422)
    address = notifications.stored_address(email)
    if address.confirmed is not None and address.id in authors.confirmed_here():
        notifications.subscribe(address.id, board.id)
        message = _("Subscribed: each new comment on this board comes to you by email.")
    else:
        if address.confirmed is None:  # stored now, sent nothing until confirmed
            notifications.subscribe(address.id, board.id)
        notifications.ask_to_confirm(address.id, email, board.id)
        message = str(CHECK_INBOX)
    db.session.commit()
    return answer(board, message=message)


def answer(board, message=None, error=None, email="", status=200):
    """The form again with what happened: in place for htmx; else a flash on the board's page
    (an error: a page of its own with the form)."""
    if is_htmx():
        return render_template("_subscribe.html", subscribe_message=message,
                               subscribe_error=error, subscribe_email=email), status
    if error is None:
        flash(message)
        return redirect(url_for("board.index", slug=boards.path_slug(board)), 303)
    return render_template("subscribe.html", subscribe_error=error, subscribe_email=email,
                           board=board), status
