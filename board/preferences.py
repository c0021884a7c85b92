"""A reader's choices, kept in cookies: one cookie per choice, each an entry of CHOICES: the theme
(light or dark) and the language; a new choice is one more entry, and the same route keeps it.

The language: a page is in the reader's choice when they made one (board/languages.py), and the
form comes back to the same page, now in it.

The theme: without a choice the page follows the reader's system (board.css, by
prefers-color-scheme). A choice is written on the page's <html> by the server (base.html:
data-theme="dark"), so the first paint is already right with no script at all (the CSP allows no
inline one). An embedding site passes its own (/embed?theme=dark, board/embed.py), which wins
inside its iframe.

POST /preferences keeps the choices its form names (theme=dark; "auto" forgets one) and answers
303 to `next`, a path of this site (anything else goes to the board), or 204 to htmx (board.js
has already applied the choice to the page). Like every post it carries the form's CSRF token.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, redirect, request, url_for

from flask_babel import gettext, lazy_gettext

from .htmx import is_htmx
from .rules import LANGUAGES

bp = Blueprint("preferences", __name__)

# The value that forgets a choice: the page goes back to its default (for the theme, the system's).
FORGET = "auto"
MAX_AGE = 365 * 24 * 3600  # a choice is kept for a year from the last time it was made
RETURN_MAX = 2000  # the longest `next` followed back


@dataclass(frozen=True)
class Choice:
    """One choice a reader can make: its form field, which is also its cookie's name, the values
    it takes, and what it is called in a refusal ("There is no such theme.")."""

    name: str
    values: tuple
    called: str

    def valid(self, value):
        """`value` when it is one of this choice's values, else None."""
        return value if value in self.values else None


CHOICES = {choice.name: choice for choice in (
    Choice("theme", ("light", "dark"), lazy_gettext("theme")),
    # Read by board/languages.py (its COOKIE), which decides a page's language.
    Choice("language", LANGUAGES, lazy_gettext("language")),
)}


def chosen(name):
    """The reader's choice of `name`, from its cookie; None when none was made (or the cookie
    holds anything but one of its values)."""
    return CHOICES[name].valid(request.cookies.get(name))


def valid_theme(value):
    return CHOICES["theme"].valid(value)


def theme():
    """The page's theme, for base.html: the embedding site's (g.theme, from /embed?theme=), else
    the reader's choice, else None (the system's decides, in the stylesheet)."""
    return g.get("theme") or chosen("theme")


def same_site(path):
    """`path` when it is a path on this site ("/b/garden?before=9"), else None. Never another
    host ("//evil.example", "https://evil.example/"), a scheme ("javascript:..."), a backslash
    (browsers read "/\\evil.example" as "//evil.example") or a control character (browsers drop
    tabs and newlines, so "/\\t/evil.example" would be "//evil.example")."""
    if not path or len(path) > RETURN_MAX or not path.startswith("/") or path.startswith("//"):
        return None
    if "\\" in path or any(ord(c) < 32 or ord(c) == 127 for c in path):
        return None
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return None
    return path


def here():
    """Where a choice made on this page goes back to (the form's `next`): this page's path for a
    GET; for the answer to a post (a form sent back with a message), the page it was posted from
    when the browser says so (its Referer, same site only), else nothing (the board)."""
    if request.method == "GET":
        return request.full_path if request.query_string else request.path
    referrer = urlsplit(request.referrer or "")
    if f"{referrer.scheme}://{referrer.netloc}/" != request.host_url:
        return None
    return same_site(referrer.path + (f"?{referrer.query}" if referrer.query else ""))


@bp.post("/preferences")
def choose():
    """Keep the choices the form names, then back to the page it came from."""
    made = {}
    for name, choice in CHOICES.items():
        if name not in request.form:
            continue
        value = request.form[name]
        if value != FORGET and not choice.valid(value):
            abort(400, gettext("There is no such %(choice)s.", choice=choice.called))
        made[name] = value
    if not made:
        abort(400, gettext("Nothing was chosen."))
    if is_htmx():
        response = current_app.response_class(status=204)
    else:
        back = same_site(request.form.get("next")) or url_for("board.index", slug=None)
        response = redirect(back, 303)
    options = {"path": "/", "secure": current_app.config["SESSION_COOKIE_SECURE"],
               "httponly": True, "samesite": "Lax"}
    for name, value in made.items():
        if value == FORGET:
            response.delete_cookie(name, **options)
        else:
            response.set_cookie(name, value, max_age=MAX_AGE, **options)
    return response


bp.add_app_template_global(theme)
bp.add_app_template_global(here, "return_path")
