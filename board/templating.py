"""What templates see beyond their context: the comment rules they show (display names, times,
moderation verbs), a comment's stored HTML, local dates, and versioned static URLs."""

import hashlib
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import current_app
from flask_babel import gettext, lazy_gettext, ngettext
from markupsafe import Markup, escape

from . import languages, models
from .rules import ANONYMOUS, VISIBLE, iso_utc, verbs_for


def long_date(moment):
    """Friday, 07 July 2017 at 18:47 UTC, in the page's language and BOARD_TIMEZONE (UTC by
    default), which it names: without JavaScript nothing turns it into the reader's own time."""
    local = moment.astimezone(ZoneInfo(current_app.config["BOARD_TIMEZONE"]))
    # The pattern is Unicode's (LDML); each language's catalog gives its own. The zone is named
    # as the time zone database names it (UTC, IST, CEST), in every language.
    pattern = gettext("EEEE, dd MMMM y 'at' HH:mm")
    return f"{format_datetime(local, pattern, locale=languages.current())} {local.tzname()}"


def display_name(author):
    return author or gettext(ANONYMOUS)


def as_html(comment):
    """A comment's HTML, rendered when it was stored (board/markup.py). One stored before
    Markdown has none until `flask board rerender`: its text, escaped, with its line breaks."""
    if comment.html is not None:
        return Markup(comment.html)
    return Markup("<p>{}</p>").format(Markup("<br>\n").join(escape(comment.content).split("\n")))


# Avatar colours (board.css .avatar-0 to -7), each with white text above 4.5:1.
AVATAR_COLOURS = 8


def avatar(author):
    """A name's initial and its colour class, the same for the same name everywhere: no image,
    no outside service. Anonymous is a muted "?"."""
    if not author:
        return "?", "anonymous"
    digest = hashlib.sha256(author.casefold().encode("utf-8", "surrogatepass")).digest()
    return author[0].upper(), f"avatar-{digest[0] % AVATAR_COLOURS}"


def replies(count):
    return ngettext("%(num)d reply", "%(num)d replies", count)


@lru_cache(maxsize=None)
def file_version(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def version_static_urls(endpoint, values):
    """Add ?v=<content hash> to static URLs, so they can be cached for a year and still change."""
    if endpoint == "static" and "filename" in values:
        path = Path(current_app.static_folder) / values["filename"]
        if path.is_file():
            values["v"] = file_version(str(path))


# What the moderator's page calls the verbs, states and filters (rules.VERBS, rules' states,
# reads.MODERATION_FILTERS), in the page's language.
VERB_LABELS = {"approve": lazy_gettext("Approve"), "reject": lazy_gettext("Reject"),
               "hide": lazy_gettext("Hide"), "unhide": lazy_gettext("Unhide"),
               "delete": lazy_gettext("Delete")}
STATE_LABELS = {"visible": lazy_gettext("visible"), "hidden": lazy_gettext("hidden"),
                "deleted": lazy_gettext("deleted"), "held": lazy_gettext("held")}
FILTER_LABELS = {"held": lazy_gettext("Held"), "all": lazy_gettext("All"),
                 "visible": lazy_gettext("Visible"), "hidden": lazy_gettext("Hidden"),
                 "deleted": lazy_gettext("Deleted")}
BOARD_STATE_LABELS = {"open": lazy_gettext("open"), "closed": lazy_gettext("closed"),
                      "archived": lazy_gettext("archived")}
BOARD_STEP_LABELS = {"open": lazy_gettext("Open"), "close": lazy_gettext("Close"),
                     "archive": lazy_gettext("Archive")}
MODERATION_LABELS = {"off": lazy_gettext("off"), "first": lazy_gettext("first"),
                     "all": lazy_gettext("all")}
BLOCK_KIND_LABELS = {"word": lazy_gettext("word"), "name": lazy_gettext("name"),
                     "network": lazy_gettext("network")}
LISTING_HEADINGS = {"held": lazy_gettext("Held comments"), "all": lazy_gettext("Every comment"),
                    "visible": lazy_gettext("Visible comments"),
                    "hidden": lazy_gettext("Hidden comments"),
                    "deleted": lazy_gettext("Deleted comments")}


def init_app(app):
    app.add_template_global(VERB_LABELS, "VERB_LABELS")
    app.add_template_global(STATE_LABELS, "STATE_LABELS")
    app.add_template_global(FILTER_LABELS, "FILTER_LABELS")
    app.add_template_global(LISTING_HEADINGS, "LISTING_HEADINGS")
    app.add_template_global(BOARD_STATE_LABELS, "BOARD_STATE_LABELS")
    app.add_template_global(BOARD_STEP_LABELS, "BOARD_STEP_LABELS")
    app.add_template_global(MODERATION_LABELS, "MODERATION_LABELS")
    app.add_template_global(BLOCK_KIND_LABELS, "BLOCK_KIND_LABELS")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.add_template_filter(iso_utc)
    app.add_template_filter(display_name)
    app.add_template_global(verbs_for)
    app.add_template_global(VISIBLE, "VISIBLE")
    app.add_template_filter(long_date)
    app.add_template_filter(as_html)
    app.add_template_filter(avatar)
    # Looked up at call time: tests replace models.clock.
    app.add_template_global(lambda: iso_utc(models.clock()), "server_time")
    app.add_template_filter(replies)
    app.url_defaults(version_static_urls)
