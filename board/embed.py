"""Comments under any page of a listed site: `/embed`, the board of one page (keyed by its path),
shown in an iframe that static/embed.js puts on the page; and posts from a browser that keeps the
board's cookies from such an iframe (a third-party setup).

Which pages may frame what is the security headers' business (board/security.py): with
BOARD_EMBED_ORIGINS set, the board's pages may be framed by exactly those origins."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, request

from . import boards, preferences, views
from .extensions import csrf
from .models import Refused

bp = Blueprint("embed", __name__)

NOT_LISTED = ("This board does not show comments on that site: its origin is not one of the "
              "board's BOARD_EMBED_ORIGINS.")
OTHER_REFERRER = "This board page was asked for by another site than the one it names."


def origin_of(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@bp.get("/embed")
def page():
    """The board of page `key` of the site at `origin`, titled `title` (the page's), in that
    site's `theme` when it gives one: its row, or an empty board that its first comment creates
    (the form carries the signed key and title).
    Also the page the snippet's plain link opens when scripts are off."""
    origin = request.args.get("origin", "")
    if origin not in current_app.config["BOARD_EMBED_ORIGINS"]:
        abort(403, NOT_LISTED)
    # A page of another site than `origin` asked for it: refused here, whatever the framing
    # rules would say (a browser that withholds the Referer is let through; frame-ancestors
    # still keeps the page out of any unlisted site).
    if request.referrer and origin_of(request.referrer) != origin:
        abort(403, OTHER_REFERRER)
    try:
        g.board = boards.for_page(request.args.get("key"), request.args.get("title"))
    except Refused as problem:
        abort(400, str(problem))
    g.embed_origin = origin  # base.html: no masthead; board.js: whom to tell its height
    # The embedding site's theme (static/embed.js: its container's data-theme), light or dark;
    # anything else is ignored and the reader's system decides.
    g.theme = preferences.valid_theme(request.args.get("theme"))
    return views.board_page()


# --- Posting from a browser that keeps the board's cookies out of the iframe ----------------
# Served from another site than the page's, the iframe's requests carry no session cookie
# (SameSite=Lax, and browsers block third-party cookies), so the session-bound CSRF token cannot
# be checked. Such a post is accepted when the browser says it comes from the board's own pages
# (Origin: ours, which no other site can make a browser send): a forged post from another site
# gets the full check and fails. It gains nothing a script could not get by fetching a form, and
# its author gets no rights to edit it later (views.owns), since no cookie can carry them.
POSTS = ("board.create_comment", "board.preview")


@bp.record_once
def check_csrf_here(state):
    for endpoint in POSTS:  # checked by embedded_posts below instead
        view = state.app.view_functions[endpoint]
        csrf.exempt(f"{view.__module__}.{view.__name__}")


def cookies_blocked():
    return (current_app.config["BOARD_EMBED_ORIGINS"]
            and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
            and request.headers.get("Origin") == request.host_url.rstrip("/"))


@bp.before_app_request
def embedded_posts():
    if request.endpoint not in POSTS or request.method != "POST":
        return
    if cookies_blocked():
        g.cookieless = True
        g.csrf_valid = True  # for the form's own CSRF field (Flask-WTF reads this flag)
    elif current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()
    # A post for an embedding page's board that has no row yet: the board is the one its signed
    # page token names, so that a refused first post (422) gets a form that still carries it.
    if token := request.form.get("page"):
        g.board = boards.from_page_token(token, g.board.slug) or g.board
