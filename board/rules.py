"""The rules of a comment, each written once: what a valid comment is, how long it may be, which
ids can exist, how a missing name reads, how times are written, and which moderation verbs apply
to which state. The form, the importer, the CLI, the routes and the templates all ask here."""

import re
from datetime import datetime, timezone

CONTENT_MAX = 4096
AUTHOR_MAX = 64
# The id column is an INTEGER: 32 bits on PostgreSQL and MySQL/MariaDB. No id can be larger, so
# URLs, cursors, the CLI and imports all stop here.
ID_MAX = 2**31 - 1

# A comment's life: shown; hidden by a moderator (can come back); deleted by its author or a
# moderator (kept for audit, never shown). Purging removes the row itself.
VISIBLE, HIDDEN, DELETED = "visible", "hidden", "deleted"
STATES = (VISIBLE, HIDDEN, DELETED)
# verb: (the states it applies to, the state it leads to). Deleted stays deleted: an author's
# deletion is not the moderator's to undo.
VERBS = {
    "hide": ({VISIBLE}, HIDDEN),
    "unhide": ({HIDDEN}, VISIBLE),
    "delete": ({VISIBLE, HIDDEN}, DELETED),
}

# What a comment may not hold: C0 controls except tab and newline, DEL, C1 controls, lone
# surrogates (not encodable), and the 66 noncharacters: U+FDD0-U+FDEF and the last two code
# points of every plane (U+FFFE, U+FFFF, U+1FFFE, ... U+10FFFF). XML 1.0 cannot carry U+FFFE
# and U+FFFF at all (one would make the Atom feed malformed for every reader); none is text.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
                       + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}"
                                 for plane in range(17))
                       + "]")
FORBIDDEN_MESSAGE = ("Remove the control characters and noncharacters (such as U+FFFE): only "
                     "text, tabs and line breaks.")
ANONYMOUS = "Anonymous"


def normalise(text):
    """Browsers send textarea line breaks as CRLF; store and count them as one character."""
    if text is None:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def validate(content, author=None):
    """What is wrong with a comment, as {field: message}; empty when it may be stored.

    Takes the text as it would be stored: the form normalises first, an import does not (so a
    carriage return in an imported comment is refused, as it can never come from the form)."""
    problems = {}
    if author and len(author) > AUTHOR_MAX:
        problems["author"] = f"Keep your name to {AUTHOR_MAX} characters."
    elif author and FORBIDDEN.search(author):
        problems["author"] = FORBIDDEN_MESSAGE
    if not content or not content.strip():
        problems["content"] = "Write a comment before posting."
    elif len(content) > CONTENT_MAX:
        problems["content"] = f"Keep your comment to {CONTENT_MAX} characters."
    elif FORBIDDEN.search(content):
        problems["content"] = FORBIDDEN_MESSAGE
    return problems


def display_name(author):
    return author or ANONYMOUS


def verbs_for(state):
    """The moderation verbs that apply to a comment in `state`, in the order they are offered."""
    return [verb for verb, (allowed_from, _) in VERBS.items() if state in allowed_from]


def iso_utc(moment, timespec="seconds"):
    """2017-07-07T18:47:05Z: the one way a time is written for machines, always in UTC.

    Pages and feeds use whole seconds (HTML's datetime allows at most milliseconds); data (the
    API, exports) uses timespec="microseconds", the precision the database keeps."""
    text = moment.astimezone(timezone.utc).isoformat("T", timespec)
    return text.removesuffix("+00:00") + "Z"


def to_millis(moment):
    """A time as milliseconds since 1970: how cursors and the session carry it."""
    return int(moment.timestamp() * 1000)


def from_millis(millis):
    return datetime.fromtimestamp(millis / 1000, timezone.utc)
