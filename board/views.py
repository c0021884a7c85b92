"""The board's HTML routes. Each one parses input, asks reads or models, and renders a partial
(htmx) or the page that includes it (board/htmx.py)."""

import time
from datetime import timedelta

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError

from . import (authors, boards, fragments, languages, markup, models, notifications, reads,
               screening)
from .errors import render_error, too_many_requests
from .extensions import current_storage, db, limiter
from .forms import CommentForm, ConfirmForm, EditForm, ReplyForm, listing_args
from .htmx import is_htmx, render, render_or_redirect, vary_on_htmx
from .rules import (ARCHIVED, ARCHIVED_MESSAGE, CLOSED_MESSAGE, DELETED, HELD, VISIBLE,
                    parent_id, translate)
from .security import (edit_limit, first_post_of, forget_post, give_back_unless_accepted,
                       post_limit)

bp = Blueprint("board", __name__)
bp.after_request(vary_on_htmx)
bp.add_app_template_global(fragments.comment_html, "comment_html")

# The routes of one board: the default board's at /, every other board's under /b/<slug>. A
# request to one of them is on that board (g.board); links built while it is answered stay on
# it (board_in_urls).
BOARD_SCOPED = {"board.index", "board.list_comments", "board.create_comment", "board.preview",
                "api.feed"}
BOARD_PREFIX = "/b/<slug>"


def on_board(rule, **options):
    """Register a view at `rule` for the default board and under /b/<slug> for the others."""
    def register(view):
        bp.add_url_rule(rule, view_func=view, defaults={"slug": None}, **options)
        bp.add_url_rule(BOARD_PREFIX + rule.rstrip("/"), view_func=view, **options)
        return view
    return register


@bp.url_value_preprocessor
def pull_board(endpoint, values):
    if values is not None and "slug" in values:
        slug = values.pop("slug") or boards.default_slug()
        g.board = boards.Unsaved(slug=slug)  # its row comes with the page's first statement


@bp.app_url_defaults
def board_in_urls(endpoint, values):
    board = g.get("board")
    if endpoint in BOARD_SCOPED and "slug" not in values and board is not None:
        values["slug"] = boards.path_slug(board)


def show_board(board):
    """Make `board` (the page's read of g.board's slug) the request's board; 404 when there is
    none, except the default board before its first comment."""
    if board is None:
        # An embedding page's board before its first comment (its key came from /embed or a
        # signed page token) shows empty, like the default board.
        if not (boards.is_default(g.board) or g.board.key):
            abort(404, _("There is no such board."))
        board = g.board
    g.board = board
    languages.board_known()
    return board


def comment_board(comment):
    """The board a comment is on, as the request's board (for its links): one lookup by id."""
    g.board = boards.by_id(comment.board_id) or g.get("board")
    languages.board_known()
    return g.board


@bp.after_request
def posts_use_up_the_allowance_only_when_accepted(response):
    if request.endpoint == "board.create_comment":
        give_back_unless_accepted(response)
    return response

# One URL per comment: ASCII digits, no leading zeros, at most ID_MAX (ids beyond the id column's
# range cannot exist): anything else is 404 (forms.CommentIdConverter, registered by create_app).
COMMENT_URL = "/comments/<comment_id:comment_id>"
# Flask-WTF's description when an HTTPS post has no Referer: a privacy setting or extension
# removed it, and posting again does not help. (Flask-WTF's words, compared: not translated.)
NO_REFERRER = "The referrer header is missing."
REFERRER_NEEDED = _l("Your browser did not say which page this post came from (a privacy "
                     "setting or extension may remove it); this board needs it over HTTPS. Allow "
                     "it for this site and post again.")


def board_page(form=None, status=200, preview=None):
    """The board's page with `form` as it was sent back, or (None) with a new comment form."""
    args = listing_args(request.args, _l("The board page"))
    authors.key_hash()  # made with the form, so tabs opened from it post under one key
    page, listing = fragments.board_listing(show_board(reads.board_alone(g.board.slug)),
                                            args.before, args.limit)
    held = authors.held_here()
    held = reads.held(held, page.board.id) if held and page.board.id else []
    if form is None:
        if (html := fragments.board_shell(page, listing, args.before, args.limit, held)):
            return html, status
        form = new_form(CommentForm)
    return render_template("board.html", form=form, page=page, listing=listing.for_person(),
                           before=args.before, preview=preview, held=held), status


def reply_page(parent, form, status=200, preview=None):
    """The page with a comment and the form that answers it: Reply without JavaScript."""
    authors.key_hash()
    return render_template("reply.html", parent=parent, form=form, preview=preview), status


def new_form(form_class, **values):
    """An empty comment form, with the name this browser last posted under."""
    return form_class(author=authors.remembered_name(), **values)


@on_board("/", methods=["GET"])
def index():
    if request.path != url_for(".index"):
        # /b/<the default board's slug>: the default board has one address, /.
        return redirect(url_for(".index", **request.args), 308)
    return board_page()


@limiter.request_filter
def unlimited():
    """Requests no limit counts skip Flask-Limiter's work (extensions.Limiter), nearly a fifth of
    an idle poll's time and a tenth of a page's. (limiter.exempt does not: Flask-Limiter 4 still
    searches for an exempt view.) They are the listing (the poll and older pages), and every GET
    and HEAD: the board limits only posts (tests/test_security.py checks that every limit is
    on a POST). But while the limit store (Redis) does not answer, GETs go through: a worker asks
    the store again on the next request the limiter looks at, and a page view is the commonest
    (tests/deploy/test_two_servers.py)."""
    if request.endpoint == "board.list_comments":
        return True
    return request.method in ("GET", "HEAD") and current_storage() is limiter.storage


@on_board("/comments", methods=["GET"])
def list_comments():
    args = listing_args(request.args)
    if not is_htmx():
        # Fragments are for htmx; a person following the URL gets the page it belongs to.
        return redirect(url_for(".index", before=args.before), 303)
    if args.after is not None:
        poll = reads.poll(g.board.slug, args.after, args.since, args.limit)
        if poll.behind:
            # htmx reloads the page on HX-Refresh, whatever the status.
            body, status = render_error(
                409, _("This board has fallen too far behind: reload the page."))
            return body, status, {"HX-Refresh": "true"}
        # The same answer for every tab that asks this URL (all the board's tabs that were up
        # to date, in one language): a shared cache (nginx, deploy/nginx.conf) may answer them
        # for a second. So news is written for nobody in particular (fragments.poll_html): the
        # person's own parts ("you", Edit and Delete) are left as markers, and board.js keeps
        # the page's own. nginx keeps an answer while the second it stores as its expiry lasts,
        # and counts max-age from the start of its second, so it kept one up to two: it is told
        # the current second instead (X-Accel-Expires, which it keeps to itself): kept to its end.
        shared = {"Cache-Control": f"public, max-age={POLL_CACHE_SECONDS}",
                  "X-Accel-Expires": f"@{int(time.time())}"}
        if poll.idle:
            return "", 204, shared
        return fragments.poll_html(poll), shared
    page, listing = fragments.board_listing(show_board(reads.board_alone(g.board.slug)),
                                            args.before, args.limit)
    return listing.for_person()


# How long a shared cache may answer a poll for the app: a new comment waits at most this much
# longer than the poll interval.
POLL_CACHE_SECONDS = 1


FIRST_NOT_STORED = _l("You sent this text a moment ago, but it was not stored. Your text is "
                      "kept: press Post again.")
# How long a repeat waits for its first post to commit, looking every FIRST_LOOK_SECONDS.
FIRST_WAIT_SECONDS, FIRST_LOOK_SECONDS = 2.0, 0.1


def stored_first(person, form, answered):
    """The comment a repeat's first post stored, once it has committed, or None."""
    window = timedelta(seconds=current_app.config["BOARD_DUPLICATE_SECONDS"])
    deadline = time.monotonic() + FIRST_WAIT_SECONDS
    while True:
        first = reads.latest_by(person, form.content.data, models.clock() - window, answered,
                                g.board.slug)
        if first is not None or time.monotonic() >= deadline:
            return first
        db.session.rollback()  # the next look sees what committed since (a new snapshot)
        time.sleep(FIRST_LOOK_SECONDS)


def comment_form(**options):
    """The form a post came from: a reply's when it names the comment it answers."""
    return (ReplyForm if request.form.get("parent") else CommentForm)(**options)


@limiter.limit(post_limit)
def create_comment():
    if request.mimetype != "application/x-www-form-urlencoded":
        abort(415, _("Send the comment as a form (application/x-www-form-urlencoded)."))
    form = comment_form()
    if not form.validate():
        return form_rejected(form, 422)
    if form.website.data:
        return posted(None)  # a bot: looks accepted, stores nothing
    person, answered = authors.key_hash(), form.parent_id
    if not first_post_of(person, form.content.data, answered, g.board.slug):
        # A repeat of what this person just posted (a double submit): stored once, and the
        # repeat is answered with the comment that was stored.
        first = stored_first(person, form, answered)
        if first is not None:
            return posted(first)
        # The first never arrived (its worker died before it committed, say): this one is not
        # a repeat after all. Nothing is stored twice, and nothing is lost: the person is told,
        # keeps the text, and the next press of Post stores it.
        forget_post(person, form.content.data, answered, g.board.slug)
        form.form_errors.append(str(FIRST_NOT_STORED))
        return form_rejected(form, 409)
    verdict = screening.screen(screening.Submission(
        form.content.data, form.author.data, person, request.remote_addr or "",
        request.user_agent.string, request.referrer or "", form.started.data, g.board.slug,
        answered))
    if verdict.action == screening.REFUSE:
        g.spam_refused = True  # uses up the post allowance (security.give_back_unless_accepted)
        forget_post(person, form.content.data, answered, g.board.slug)
        models.refuse(verdict.rules, {"author": form.author.data, "board": g.board.slug,
                                      "content": form.content.data[:200], **verdict.detail})
        form.form_errors.append(translate(verdict.message))
        return form_rejected(form, 422)
    try:
        comment = add(form, person, answered, verdict)
    except models.Refused as refusal:
        forget_post(person, form.content.data, answered, g.board.slug)
        if isinstance(refusal, boards.TooManyBoards):
            abort(429, refusal.text)
        if isinstance(refusal, models.NoBoard):
            abort(404, _("There is no such board."))
        # The comment answered went, or the board closed.
        (form.parent.errors if answered else form.form_errors).append(translate(refusal.text))
        return form_rejected(form, 422)
    authors.remember_name(form.author.data)
    if comment.state == HELD:
        authors.remember_held(comment.id)
    return posted(comment)


on_board("/comments", methods=["POST"])(create_comment)


def add(form, person, answered, verdict):
    """Store the post, held when screening or the board's moderation mode says so. A board made
    by this post (the default board, or an embedding page's, whose form carries its signed page
    token) is committed first, then the post is stored from the start, its address too."""
    try:
        return store(form, person, answered, verdict)
    except models.StartOver:  # the default board was just made
        return store(form, person, answered, verdict)
    except models.NoBoard:
        unsaved = boards.from_page_token(request.form.get("page"), g.board.slug)
        if answered or unsaved is None:
            raise
        boards.ensure(unsaved)
        return store(form, person, answered, verdict)


def store(form, person, answered, verdict):
    address = notifications.address_for(form.email.data)
    mine = address is not None and address in authors.confirmed_here()
    post = models.Post(people=(f"email:{address}",) if mine else (),
                       held=verdict.rules if verdict.action == screening.HOLD else (),
                       detail=verdict.detail or None, address_id=address,
                       # An address confirmed elsewhere gets replies only from its own browser:
                       # anyone can type it. Unconfirmed, it gets nothing until its owner confirms.
                       notify_replies=bool(form.notify.data and address and (
                           mine or not notifications.is_confirmed(address))))
    return models.add(form.author.data, form.content.data, person, answered, g.board.slug, post)


def posted(comment):
    """The answer to an accepted post: the stored comment for htmx (a new thread, or a reply
    for the end of its thread), a redirect to where it shows for a browser. None (a bot)
    answers an empty 201."""
    if not is_htmx():
        if comment is not None and comment.thread_id is not None:
            return redirect(url_for(".show_comment", comment_id=comment.id,
                                    _anchor=f"comment-{comment.id}"), 303)
        return redirect(url_for(".index"), 303)
    if comment is None:
        return "", 201
    if comment.thread_id is not None:
        return render_template("_comment.html", comment=comment), 201
    return render_template("_thread.html", thread=comment, replies=[], more=0), 201


@limiter.limit(edit_limit)
def preview():
    """The comment as it would show, stored nowhere: in place for htmx, else the page of the
    form with the text kept."""
    form = comment_form()
    valid = form.validate()
    html = markup.render(form.content.data) if valid else None
    status = 200 if valid else 422
    if is_htmx():
        return render_template("_preview.html", html=html, form=form), status
    return form_page(form, status, preview=html)


on_board("/preview", methods=["POST"])(preview)


def form_page(form, status, preview=None):
    """The page a form was on: the reply page for a reply whose comment is still there, else
    the board."""
    parent = reads.find(form.parent_id) if form.parent_id else None
    if parent is not None and parent.state == VISIBLE:
        return reply_page(parent, form, status, preview)
    return board_page(form, status, preview)


@bp.errorhandler(RateLimitExceeded)
def too_fast(error):
    """Without JavaScript, a post or preview over the limit comes back with its text and why; with
    htmx the form stays as it is and board.js says why."""
    if is_htmx() or request.endpoint not in ("board.create_comment", "board.preview"):
        return too_many_requests(error)
    form = comment_form(formdata=request.form, meta={"csrf": False})
    form.form_errors.append(_("Your text is kept, but this board takes fewer posts than that "
                              "(%(limit)s). Wait a little, then post again.",
                              limit=error.description))
    return form_page(form, 429)


@bp.errorhandler(CSRFError)
def csrf_failed(error):
    no_referrer = error.description == NO_REFERRER
    if request.endpoint != "board.create_comment":
        return render_error(400, REFERRER_NEEDED if no_referrer
                            else _("This form had expired. Reload the page and try again."))
    # Only a form body is read back into the form: a JSON body may not even parse.
    form = comment_form(formdata=request.form, meta={"csrf": False})
    form.form_errors.append(_("Your text is kept. %(why)s", why=REFERRER_NEEDED) if no_referrer
                            else _("This form had expired. Your text is kept: press Post again."))
    return form_rejected(form, 400)


def form_rejected(form, status):
    """The form again, with its messages and the user's text: in place for htmx, else the page."""
    if not is_htmx():
        return form_page(form, status)
    if not form.parent.data:
        headers = {"HX-Retarget": "#comment-form", "HX-Reswap": "outerHTML"}
        return render_template("_form.html", form=form), status, headers
    try:
        answered = parent_id(form.parent.data)
    except ValueError:  # no such form on any page: nothing to put the message in
        return render_error(status, " ".join(form.parent.errors))[0], status, {"HX-Reswap": "none"}
    headers = {"HX-Retarget": f"#reply-form-{answered}", "HX-Reswap": "outerHTML"}
    return render_template("_reply_form.html", form=form, parent_id=answered,
                           in_place=True), status, headers


def visible_comment(comment_id):
    comment = reads.visible(comment_id)
    if comment is None:
        abort(404, _("There is no such comment."))
    return comment


def own_comment(comment_id):
    comment = visible_comment(comment_id)
    if reason := authors.refusal(comment):
        abort(403, reason)
    if comment_board(comment).state == ARCHIVED:
        abort(403, ARCHIVED_MESSAGE)
    return comment


@bp.get(COMMENT_URL)
def show_comment(comment_id):
    """A comment's own page: its thread, with it marked. With htmx, the comment alone: "Cancel"
    while editing puts it back."""
    if is_htmx():
        return render_template("_comment.html", comment=reads.find(visible_comment(comment_id).id))
    return thread_page(reads.thread(comment_id), marked=comment_id)


def thread_page(thread, marked=None):
    if thread is None:
        abort(404, _("This comment was removed.") if marked and reads.find(marked)
              else _("There is no such comment."))
    comment_board(thread.first)
    return render_template("comment.html", thread=thread.first, replies=thread.replies,
                           more=thread.more, earlier=thread.earlier, marked=marked)


@bp.get(COMMENT_URL + "/replies")
def show_replies(comment_id):
    """A thread's replies after reply `after`: "Show N more replies", in place for htmx, else
    the thread's page from there on."""
    after = listing_args(request.args).after
    if not is_htmx():
        return thread_page(reads.thread(comment_id, after))
    first = reads.find(comment_id)
    if first is None or first.thread_id is not None:
        abort(404, _("There is no such thread."))
    replies, more = reads.replies_after(comment_id, after)
    return render_template("_replies.html", thread=first, replies=replies, more=more)


@bp.get(COMMENT_URL + "/reply")
def reply(comment_id):
    """The form that answers a comment: in place under it for htmx, else on a page of its own."""
    parent = visible_comment(comment_id)
    form = new_form(ReplyForm, parent=str(parent.id))
    if is_htmx():
        return render_template("_reply_form.html", form=form, parent_id=parent.id, in_place=True)
    return reply_page(reads.find(parent.id), form)


# Edits and deletes share one allowance per client (BOARD_EDIT_LIMIT); only POSTs use it up.
edits_limited = limiter.shared_limit(edit_limit, scope="edit", methods=["POST"])


@bp.route(COMMENT_URL + "/edit", methods=["GET", "POST"])
@edits_limited
def edit_comment(comment_id):
    comment = own_comment(comment_id)
    form = EditForm(obj=comment)
    if form.validate_on_submit():
        try:
            models.change(comment, content=form.content.data, edited=models.clock())
        except models.Refused as refusal:  # its board archived meanwhile
            abort(403, refusal.text)
        return render_or_redirect("_comment.html", url_for(".show_comment", comment_id=comment.id,
                                                           _anchor=f"comment-{comment.id}"),
                                  comment=reads.find(comment.id))
    status = 422 if form.errors else 200
    return render("_edit_form.html", "edit.html", form=form, comment=comment), status


@bp.route(COMMENT_URL + "/delete", methods=["GET", "POST"])
@edits_limited
def delete_comment(comment_id):
    comment = own_comment(comment_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            models.change(comment, state=DELETED)
        except models.Refused:  # hidden or deleted meanwhile, or its board archived
            abort(404, _("There is no such comment."))
        return render_or_redirect("_removed.html", url_for(".index"), comment=comment)
    return render("_delete_form.html", "delete.html", form=form, comment=comment)


def owns(comment):
    """Whether this browser may still edit or delete the comment: its author's, in time, on a
    board that is not archived."""
    board = g.get("board")
    # A post accepted without the session cookie (board/embed.py) gives no later rights.
    return (authors.owns(comment) and not g.get("cookieless")
            and not (board is not None and board.state == ARCHIVED))


def board_state_message(board):
    return translate(ARCHIVED_MESSAGE if board.state == ARCHIVED else CLOSED_MESSAGE)


@bp.app_context_processor
def ownership():
    # Functions, so the session is read only by templates that show a comment.
    return {"board_title": lambda: boards.tab_title(g.get("board")),
            "board_state_message": board_state_message,
            "page_token": boards.page_token, "form_stamp": screening.form_stamp, "owns": owns, "mine": authors.posted_here,
            "minutes_left": authors.minutes_left, "changeable_until": authors.changeable_until}


@bp.get("/boards")
def list_boards():
    """Open boards, newest activity first, a page at a time (keyset)."""
    args = listing_args(request.args, _l("The list of boards"))
    listing = boards.listing(args.before, args.limit)
    return render("_boards.html", "boards.html", listing=listing, before=args.before)


@bp.get("/recent")
def recent():
    """The newest comments on every open board, each linking to its board."""
    args = listing_args(request.args, _l("The recent comments"))
    page = reads.recent(args.before, args.limit)
    return render("_recent.html", "recent.html", recent=page, before=args.before)


@bp.app_template_global()
def board_url(slug, **values):
    """A board's page, from its slug (the default board's is /)."""
    return url_for("board.index", slug=None if slug == boards.default_slug() else slug, **values)
