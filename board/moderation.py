"""The moderator's page: log in with the board's moderator password, then hide, unhide or delete
any comment. It exists only when BOARD_MODERATOR_PASSWORD_HASH is set."""

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _, lazy_gettext as _l, ngettext

from . import boards, moderators, models, reads, rules
from .extensions import limiter
from .forms import ConfirmForm, LoginForm, listing_args
from .htmx import render, render_or_redirect, vary_on_htmx
from .rules import ARCHIVED, CLOSED, MODERATION_MODES, OPEN, SLUG_MAX, TITLE_MAX, VERBS, translate

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
            form.password.errors.append(ngettext(
                "Too many wrong passwords have been tried on this board; no password is checked "
                "for %(num)d second. Try again then.",
                "Too many wrong passwords have been tried on this board; no password is checked "
                "for %(num)d seconds. Try again then.", wait.seconds))
            return (render_template("login.html", form=form), 429,
                    {"Retry-After": str(wait.seconds)})
        form.password.errors.append(_("That is not the moderator password."))
    return render_template("login.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
def logout():
    if ConfirmForm().validate_on_submit():
        moderators.log_out()
    return redirect(url_for("board.index"), 303)


# Longest text the search takes; longer is refused, not cut, so a search is what was typed.
SEARCH_MAX = 100
# Comments one bulk action takes: a page of the moderator's list at most.
BULK_MAX = 100
def done_message(verb, done):
    """What a bulk action says it did, a whole sentence per verb (for translators)."""
    if verb == "approve":
        return ngettext("Approved %(num)d comment.", "Approved %(num)d comments.", done)
    if verb == "reject":
        return ngettext("Rejected %(num)d comment.", "Rejected %(num)d comments.", done)
    if verb == "hide":
        return ngettext("Hid %(num)d comment.", "Hid %(num)d comments.", done)
    if verb == "unhide":
        return ngettext("Unhid %(num)d comment.", "Unhid %(num)d comments.", done)
    return ngettext("Deleted %(num)d comment.", "Deleted %(num)d comments.", done)


def view_args(values, default="all"):
    """The page's filter (`show`) and search (`q`), or 400 with what is wrong."""
    show, search = values.get("show") or default, (values.get("q") or "").strip()
    if show not in reads.MODERATION_FILTERS:
        abort(400, _("show must be one of %(values)s.",
                     values=", ".join(reads.MODERATION_FILTERS)))
    if len(search) > SEARCH_MAX:
        abort(400, ngettext("Search for at most %(num)d character.",
                            "Search for at most %(num)d characters.", SEARCH_MAX))
    if rules.FORBIDDEN.search(search):  # PostgreSQL refuses a NUL in any text it is sent
        abort(400, _("Search for text: control characters and noncharacters cannot be in a "
                     "comment."))
    return {"show": show, "q": search}


def back_to(view, anchor=None):
    """The moderator page as it was: its filter and search kept."""
    return url_for("moderate.index", show=view["show"], q=view["q"] or None, _anchor=anchor)


@bp.get("/")
def index():
    """The queue of held comments, oldest first, when any wait; otherwise (or as asked) every
    comment, or those in one state, newest first."""
    args = listing_args(request.args, _l("The moderator page"))
    waiting = reads.waiting()
    view = view_args(request.args, "held" if waiting else "all")
    if view["show"] == "held" and not view["q"]:
        page = reads.Page(reads.queue(args.limit)[0])
    else:
        page = reads.for_moderation(args.before, args.limit, view["show"], view["q"])
    return render_template("moderate.html", page=page, view=view, waiting=waiting,
                           filters=reads.MODERATION_FILTERS,
                           decisions=reads.decisions([row.id for row in page.comments]))


@bp.get("/queue-count")
def queue_count():
    """How many comments wait, for the count beside the queue's name (it asks every 10 s)."""
    return render_template("_queue_count.html", waiting=reads.waiting())


@bp.get("/<comment_id:comment_id>")
def row(comment_id):
    """One comment's row: "Cancel" on a question puts it back."""
    comment = reads.moderated(comment_id)
    if comment is None:
        abort(404, _("There is no such comment."))
    view = view_args(request.args)
    return render_or_redirect("_moderation_row.html", back_to(view, f"moderate-{comment_id}"),
                              comment=comment, view=view, decisions=reads.decisions([comment_id]))


def confirmed():
    """Whether a delete was asked about first: it cannot be undone."""
    return request.form.get("confirmed") == "yes"


@bp.post(f"/<comment_id:comment_id>/<any({', '.join(VERBS)}):verb>")
def act(comment_id, verb):
    comment = reads.moderated(comment_id)
    if comment is None:
        abort(404, _("There is no such comment."))
    if not ConfirmForm().validate_on_submit():
        abort(400, _("This form had expired. Reload the page and try again."))
    if verb == "delete" and not confirmed():
        return render("_moderation_confirm.html", "moderate_confirm.html",
                      comments=[comment], verb=verb, view=view_args(request.form),
                      action=url_for("moderate.act", comment_id=comment_id, verb=verb))
    try:
        models.moderate(comment_id, verb)
    except models.Refused as refused:
        abort(409, _("Not done: %(reason)s.", reason=translate(refused.text)))
    view = view_args(request.form)
    return render_or_redirect("_moderation_row.html", back_to(view, f"moderate-{comment_id}"),
                              comment=reads.moderated(comment_id), view=view,
                              decisions=reads.decisions([comment_id]))


@bp.post("/bulk")
def bulk():
    """Hide, unhide or delete the selected comments; a delete asks first. Says what was done
    and what was not (already in that state, or gone meanwhile)."""
    if not ConfirmForm().validate_on_submit():
        abort(400, _("This form had expired. Reload the page and try again."))
    view, verb = view_args(request.form), request.form.get("verb")
    if verb not in VERBS:
        abort(400, _("verb must be one of %(values)s.", values=", ".join(VERBS)))
    try:
        ids = sorted({rules.comment_id(raw) for raw in request.form.getlist("ids")} - {None})
    except ValueError as error:
        abort(400, str(error))
    if not ids:
        flash(_("Select the comments first: nothing was changed."))
        return redirect(back_to(view), 303)
    if len(ids) > BULK_MAX:
        abort(400, ngettext("Select at most %(num)d comment at a time.",
                            "Select at most %(num)d comments at a time.", BULK_MAX))
    if verb == "delete" and not confirmed():
        return render_template("moderate_confirm.html", comments=reads.several(ids), verb=verb,
                               view=view, action=url_for("moderate.bulk"))
    done, refused = 0, []
    for selected in ids:
        try:
            models.moderate(selected, verb)
            done += 1
        except models.Refused as refusal:
            refused.append(translate(refusal.text))
    flash(done_message(verb, done)
          + (" " + _("Not done: %(reason)s.", reason="; ".join(refused)) if refused else ""))
    return redirect(back_to(view), 303)


# Boards ----------------------------------------------------------------------------------------

BOARD_STEPS = {"close": CLOSED, "open": OPEN, "archive": ARCHIVED}


def board_is(slug, state):
    if state == OPEN:
        return _("Board %(slug)s is open.", slug=slug)
    if state == CLOSED:
        return _("Board %(slug)s is closed.", slug=slug)
    return _("Board %(slug)s is archived.", slug=slug)


@bp.get("/boards")
def boards_page():
    return render_template("moderate_boards.html", boards=boards.every(), SLUG_MAX=SLUG_MAX,
                           TITLE_MAX=TITLE_MAX)


@bp.post("/boards")
def create_board():
    """A new open board; a refusal (a slug taken or malformed, no title) says why and keeps
    what was typed."""
    if not ConfirmForm().validate_on_submit():
        abort(400, _("This form had expired. Reload the page and try again."))
    slug, title = (request.form.get("slug") or "").strip(), (request.form.get("title") or "").strip()
    try:
        boards.create(slug, title or slug)
    except models.Refused as refusal:
        return render_template("moderate_boards.html", boards=boards.every(),
                               error=translate(refusal.text),
                               typed={"slug": slug, "title": title}, SLUG_MAX=SLUG_MAX,
                               TITLE_MAX=TITLE_MAX), 422
    flash(_("Board %(slug)s created.", slug=slug))
    return redirect(url_for("moderate.boards_page", _anchor=f"board-{slug}"), 303)


@bp.post("/boards/<slug>")
def change_board(slug):
    """Rename a board (`title`), close, open or archive it (`step`), or set its own moderation
    (`moderation`: off, first, all, or default)."""
    if not ConfirmForm().validate_on_submit():
        abort(400, _("This form had expired. Reload the page and try again."))
    mode = request.form.get("moderation")
    if mode is not None:
        if mode not in (*MODERATION_MODES, "default"):
            abort(400, _("moderation must be one of %(values)s or default.",
                         values=", ".join(MODERATION_MODES)))
        try:
            boards.set_moderation(slug, None if mode == "default" else mode)
        except models.Refused as refusal:
            abort(404, _("Not done: %(reason)s.", reason=translate(refusal.text)))
        flash(_("Board %(slug)s: moderation %(mode)s.", slug=slug, mode=mode))
        return redirect(url_for("moderate.boards_page", _anchor=f"board-{slug}"), 303)
    step, title = request.form.get("step"), request.form.get("title")
    if step is not None and step not in BOARD_STEPS:
        abort(400, _("step must be one of %(values)s.", values=", ".join(BOARD_STEPS)))
    if (step is None) == (title is None):
        abort(400, _("Send either a new title or a step (close, open or archive)."))
    try:
        if step is not None:
            boards.set_state(slug, BOARD_STEPS[step])
            flash(board_is(slug, BOARD_STEPS[step]))
        else:
            boards.rename(slug, title.strip())
            flash(_("Board %(slug)s renamed.", slug=slug))
    except models.Refused as refusal:
        abort(404 if boards.find(slug) is None else 422,
              _("Not done: %(reason)s.", reason=translate(refusal.text)))
    return redirect(url_for("moderate.boards_page", _anchor=f"board-{slug}"), 303)


# Block lists -------------------------------------------------------------------------------------

def blocks_page_with(status=200, **context):
    from . import screening
    return render_template("moderate_blocks.html", blocks=screening.every_block(),
                           refusals=screening.recent_refusals(), kinds=screening.KINDS,
                           hints={kind: translate(hint)
                                  for kind, hint in screening.KIND_HINTS.items()},
                           messages={kind: translate(message)
                                     for kind, message in screening.REFUSALS.items()},
                           WORD_MAX=screening.WORD_MAX, **context), status


@bp.get("/blocks")
def blocks_page():
    return blocks_page_with()


@bp.post("/blocks")
def add_block():
    """A new block list entry; a refusal (malformed, already listed) says why and keeps what was
    typed."""
    from . import screening
    if not ConfirmForm().validate_on_submit():
        abort(400, _("This form had expired. Reload the page and try again."))
    kind, value = request.form.get("kind") or "", request.form.get("value") or ""
    action = request.form.get("action") or screening.HOLD
    try:
        block_id, stored = screening.add_block(kind, value, action)
    except screening.BadEntry as refusal:
        return blocks_page_with(422, error=_("Not added: %(reason)s.",
                                             reason=translate(refusal.text)),
                                typed={"kind": kind, "value": value, "action": action})
    flash(_("Added %(kind)s %(value)s: a match is refused.", kind=kind, value=repr(stored))
          if action == screening.REFUSE else
          _("Added %(kind)s %(value)s: a match is held.", kind=kind, value=repr(stored)))
    return redirect(url_for("moderate.blocks_page", _anchor=f"block-{block_id}"), 303)


@bp.post("/blocks/<comment_id:block_id>/remove")
def remove_block(block_id):
    from . import screening
    if not ConfirmForm().validate_on_submit():
        abort(400, _("This form had expired. Reload the page and try again."))
    try:
        kind, value = screening.remove_block(block_id)
    except models.Refused as refusal:
        abort(404, _("Not done: %(reason)s.", reason=translate(refusal.text)))
    flash(_("Removed %(kind)s %(value)s from the block list.", kind=kind, value=repr(value)))
    return redirect(url_for("moderate.blocks_page"), 303)
