"""The reader's language. Which one a response is in: for a poll, the one its URL names (the
polling page's); else the reader's own choice (the switcher's cookie), else the board's language,
else BOARD_LANGUAGE, else the best of the reader's Accept-Language among the shipped ones
(rules.LANGUAGES), else English. Flask-Babel translates with the catalogs in board/translations
and writes dates in that language; responses that depend on it say so (Vary: Accept-Language).

The catalogs are the .po files themselves: a worker compiles one in memory the first time it
needs it, so no compiled file can be older than its source (none is committed or built)."""

import io
import json
import threading
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import current_app, g, has_request_context, request
from flask_babel import Babel, Domain, _get_current_context, get_locale, lazy_gettext, refresh
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from .rules import LANGUAGES, RIGHT_TO_LEFT

COOKIE = "language"
CATALOGS = Path(__file__).resolve().parent / "translations"
babel = Babel()


class Catalogs(Domain):
    """Flask-Babel's message domain, read from board/translations/<code>/LC_MESSAGES/messages.po
    and compiled in memory once per worker and language (English is the source: no catalog).

    A request looks its catalog up once: it is kept in the context where Flask-Babel keeps a
    context's translations (`babel_translations`, which its refresh() and force_locale() reset),
    not looked up again for each of a page's words through Flask-Babel's context proxies."""

    def __init__(self):
        super().__init__(translation_directories=[str(CATALOGS)])
        self.compiled, self.lock = {}, threading.Lock()

    def get_translations(self):
        context = _get_current_context()
        found = getattr(context, "babel_translations", None)
        if found is None:
            found = self.catalog(str(get_locale() or "en"))
            if context is not None:
                context.babel_translations = found
        return found

    def catalog(self, code):
        found = self.compiled.get(code)
        if found is None:
            with self.lock:
                found = self.compiled.setdefault(code, compile_catalog(code))
        return found


def compile_catalog(code):
    """The translations of language `code` from its .po file (fuzzy entries left out), marked
    with their code."""
    source = CATALOGS / code / "LC_MESSAGES" / "messages.po"
    if code == "en" or not source.is_file():
        translations = NullTranslations()
    else:
        with source.open("rb") as po:
            catalog = read_po(po, locale=code)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        translations = Translations(compiled)
    translations.board_language = code
    return translations


def translations():
    return babel.domain_instance.get_translations()


def chosen():
    """The reader's language (see the module's docstring): one of rules.LANGUAGES. Outside a
    request (a command), BOARD_LANGUAGE or English."""
    if not has_request_context():
        return current_app.config["BOARD_LANGUAGE"] or "en"
    # A poll's answer is shared by every tab that asks its URL (a public cache keeps it): it is
    # written in the language the URL names, the polling page's (_poller.html).
    if request.endpoint == "board.list_comments" and request.args.get("lang") in LANGUAGES:
        return request.args["lang"]
    cookie = request.cookies.get(COOKIE)
    if cookie in LANGUAGES:
        return cookie
    board = getattr(g.get("board"), "language", None)
    if board in LANGUAGES:
        return board
    configured = current_app.config["BOARD_LANGUAGE"]
    if configured:
        return configured
    header = request.headers.get("Accept-Language", "")
    if len(header) > ACCEPT_KEPT_LENGTH:
        return best_of(header)
    return kept_best_of(header)


def best_of(accept_language):
    """The shipped language an Accept-Language header likes best, else English."""
    return parse_accept_header(accept_language, LanguageAccept).best_match(LANGUAGES,
                                                                            default="en")


# Browsers send a few dozen distinct headers, each every time: a worker works each out once (a
# twentieth of a page's time). Longer ones than this are rare, and are worked out every time.
ACCEPT_KEPT_LENGTH = 200
kept_best_of = lru_cache(maxsize=1024)(best_of)


def board_known():
    """The request's board was read: its own language may now choose (anything said before, a
    form's messages, was said in the reader's)."""
    if getattr(g.get("board"), "language", None):
        refresh()


def current():
    """The response's language as a code of rules.LANGUAGES ("pt_BR")."""
    return translations().board_language


def tag(code=None):
    """A language's BCP 47 tag, for lang attributes and Intl ("pt-BR")."""
    return (code or current()).replace("_", "-")


def direction(code=None):
    return "rtl" if (code or current()) in RIGHT_TO_LEFT else "ltr"


@lru_cache(maxsize=None)
def name(code):
    """A language's own name for itself ("Deutsch"), for the switcher."""
    own = Locale.parse(code).get_display_name(code)
    return own[:1].upper() + own[1:]


# What board.js says, in the page's language: plain messages, and counts, whose form Intl's
# PluralRules picks in the browser ({CLDR category: the text, with %(num)d for the number}).
SCRIPT_MESSAGES = {
    "justNow": lazy_gettext("just now"),
    "edited": lazy_gettext("Edited %(date)s"),
    "showMore": lazy_gettext("Show more"),
    "showLess": lazy_gettext("Show less"),
    "orKeys": lazy_gettext("or %(keys)s"),
    "unreachable": lazy_gettext("The board could not be reached. Check your connection and try "
                                "again."),
    "tooFast": lazy_gettext("You are posting too fast."),
    "unavailable": lazy_gettext("The board is unavailable right now. Nothing was lost: try again "
                                "in a moment."),
    "failed": lazy_gettext("Something went wrong (%(status)s). Try again in a moment."),
    "posted": lazy_gettext("Your comment was posted."),
    "replied": lazy_gettext("Your reply was posted."),
    "commentHeld": lazy_gettext("Your comment awaits approval: only you can see it until a "
                                "moderator approves it."),
    "replyHeld": lazy_gettext("Your reply awaits approval: only you can see it until a moderator "
                              "approves it."),
    "lostContact": lazy_gettext("Lost contact with the board; retrying."),
    "and": lazy_gettext("%(first)s and %(second)s"),
}
def counted(singular, plural):
    """A count's two English forms, found by `pybabel extract -k counted:1,2` (README)."""
    return singular, plural


SCRIPT_COUNTS = {
    "minutesLeft": counted("%(num)d min", "%(num)d min"),
    "tryAgainIn": counted("Try again in %(num)d second.", "Try again in %(num)d seconds."),
    "replies": counted("%(num)d reply", "%(num)d replies"),
    "newComments": counted("%(num)d new comment", "%(num)d new comments"),
    "newReplies": counted("%(num)d new reply", "%(num)d new replies"),
    "olderLoaded": counted("%(num)d older comment loaded", "%(num)d older comments loaded"),
    "repliesLoaded": counted("%(num)d more reply loaded", "%(num)d more replies loaded"),
}
_script_messages = {}


def script_messages():
    """board.js's messages in the page's language, as JSON (a meta tag's content); worked out
    once per worker and language."""
    code = current()
    found = _script_messages.get(code)
    if found is None:
        found = _script_messages[code] = json.dumps(
            {"messages": {key: str(text) for key, text in SCRIPT_MESSAGES.items()},
             "counts": {key: plural_forms(*forms) for key, forms in SCRIPT_COUNTS.items()}},
            ensure_ascii=False, sort_keys=True)
    return found


def plural_forms(singular, plural):
    """{CLDR plural category: the text ngettext gives for a number of that category}."""
    locale = get_locale() or Locale("en")
    forms = {}
    for number in range(0, 200):
        category = locale.plural_form(number)
        if category not in forms:
            forms[category] = _raw_ngettext(singular, plural, number)
    return forms


def _raw_ngettext(singular, plural, number):
    """ngettext's text for `number`, its %(num)d left in (board.js puts the number in)."""
    return translations().ungettext(singular, plural, number)


def vary(response):
    # Pages and fragments are written in the language the reader's headers chose.
    if response.mimetype == "text/html" and "public" not in response.headers.get("Cache-Control", ""):
        response.vary.add("Accept-Language")
        response.headers.setdefault("Content-Language", tag())
    return response


def init_app(app):
    babel.init_app(app, locale_selector=chosen)
    if not isinstance(babel.__dict__.get("domain_instance"), Catalogs):
        babel.domain_instance = Catalogs()  # one per process, whatever the number of apps
    # The templates' words, straight from the request's catalog (Flask-Babel's own callables go
    # through get_domain() first, for every word).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.after_request(vary)
    app.add_template_global(current, "language")
    app.add_template_global(tag, "language_tag")
    app.add_template_global(direction, "text_direction")
    app.add_template_global(name, "language_name")
    app.add_template_global(LANGUAGES, "LANGUAGES")
    app.add_template_global(script_messages)
