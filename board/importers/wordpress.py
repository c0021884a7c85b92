"""A WordPress export (WXR: Tools → Export, RSS 2.0 with the wp: namespace
http://wordpress.org/export/1.x/): each <item> (a post or page: <title>, <link>) holds its
<wp:comment>s (<wp:comment_id>, <wp:comment_parent> (0 for none), <wp:comment_author>,
<wp:comment_date_gmt>, <wp:comment_content>, <wp:comment_approved>, <wp:comment_type>).

An item is a page: its board is keyed by the path of its <link> (with its query: /?p=12).
comment_approved 1 is visible, 0 (pending) hidden, trash deleted; spam is skipped, and so are
pingbacks and trackbacks (notices from other sites, not comments). The text is the comment as
WordPress stores it: HTML in which a line break is one (text.py). Times are comment_date_gmt.
"""

import html
from datetime import datetime, timezone

from ..rules import DELETED, HIDDEN, VISIBLE
from .store import Item, Skipped, page_key
from .text import from_html
from .xmlstream import events, local

WP = "{http://wordpress.org/export/"  # 1.0, 1.1, 1.2: the same elements
STATES = {"1": VISIBLE, "approve": VISIBLE, "0": HIDDEN, "hold": HIDDEN, "trash": DELETED}
NOT_COMMENTS = {"pingback", "trackback"}
NO_DATE = "0000-00-00 00:00:00"  # WordPress's "never", in some exports' _gmt dates


def wp(element):
    """{name: text} of a wp: element's wp: children."""
    return {local(child.tag): (child.text or "").strip() for child in element
            if child.tag.startswith(WP)}


def entries(file, on_progress=lambda nbytes: None):
    """The Items (and Skipped) of a WXR file, one <wp:comment> at a time (and one <item>'s
    elements, cleared after each comment)."""
    root = item = None
    for event, element in events(file, on_progress, "rss"):
        if event == "start":
            root = element if root is None else root
            if element.tag == "item":
                item = element
            continue
        if item is not None and element.tag.startswith(WP) and local(element.tag) == "comment":
            yield comment(wp(element), item)
            element.clear()
        elif element.tag == "item":
            item = None
            for channel in root:
                channel.clear()  # what was read is done with


def moment(fields):
    """comment_date_gmt ("2010-07-20 12:08:08", UTC); when WordPress wrote none, comment_date
    (the site's own time zone, which the export does not say) stands in, as UTC."""
    value = fields.get("comment_date_gmt") or NO_DATE
    if value == NO_DATE:
        value = fields.get("comment_date", "")
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)


def comment(fields, item):
    source_id = fields.get("comment_id", "")
    where = f"comment {source_id}" if source_id else "a comment"
    if not source_id.isdigit():
        return Skipped(where, "its comment_id is not a number")
    approved = fields.get("comment_approved", "")
    if fields.get("comment_type") in NOT_COMMENTS:
        return Skipped(where, "a pingback or trackback, not a comment", source_id)
    if approved == "spam":
        return Skipped(where, "marked as spam", source_id)
    if approved not in STATES:
        return Skipped(where, f"its comment_approved {approved[:20]!r} is unknown", source_id)
    try:
        posted = moment(fields)
    except ValueError:
        return Skipped(where, "its date is not a time", source_id)
    parent = fields.get("comment_parent", "0")
    title = item.findtext("title")
    return Item(source_id=source_id, where=where, page=page_key(item.findtext("link")),
                title=html.unescape(title) if title else None,
                parent=None if parent in ("", "0") else parent,
                author=html.unescape(fields.get("comment_author", "")),
                content=from_html(fields.get("comment_content", ""), newlines=True),
                posted=posted, edited=None, state=STATES[approved])
