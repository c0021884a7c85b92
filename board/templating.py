"""What templates see beyond their context: the comment rules they show (display names, times,
moderation verbs), local dates, and versioned static URLs."""

import hashlib
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app

from .rules import VISIBLE, display_name, iso_utc, verbs_for


def long_date(moment):
    """Friday, 07 July 2017 at 18:47, in BOARD_TIMEZONE (UTC by default)."""
    local = moment.astimezone(ZoneInfo(current_app.config["BOARD_TIMEZONE"]))
    return local.strftime("%A, %d %B %Y at %H:%M")


@lru_cache(maxsize=None)
def file_version(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def version_static_urls(endpoint, values):
    """Add ?v=<content hash> to static URLs, so they can be cached for a year and still change."""
    if endpoint == "static" and "filename" in values:
        path = Path(current_app.static_folder) / values["filename"]
        if path.is_file():
            values["v"] = file_version(str(path))


def init_app(app):
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.add_template_filter(iso_utc)
    app.add_template_filter(display_name)
    app.add_template_global(verbs_for)
    app.add_template_global(VISIBLE, "VISIBLE")
    app.add_template_filter(long_date)
    app.url_defaults(version_static_urls)
