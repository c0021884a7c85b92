"""The rules of a comment, each written once: what a valid comment is, how long it may be, which
ids can exist, how a missing name reads, how times are written, and which moderation verbs apply
to which state. The form, the importer, the CLI, the routes and the templates all ask here."""

import hashlib
import re
import unicodedata
from datetime import timezone

from flask_babel import gettext


class Text(str):
    """A message a person may read, kept in English: the CLI, imports, the API's JSON, stored
    decisions and the tests read it as the str it is; a page shows it in the reader's language
    through `translate`. Made by `N_`, which `pybabel extract` finds (README, "Languages")."""

    def __new__(cls, message, **values):
        text = super().__new__(cls, message % values if values else message)
        text.message, text.values = message, values
        return text


def N_(message, **values):  # noqa: N802 (gettext's name for "marked, translated later")
    return Text(message, **values)


def translate(text):
    """`text` in the request's language when it is a Text; any other str as it is."""
    if isinstance(text, Text):
        return gettext(text.message, **text.values)
    return text


CONTENT_MAX = 4096
AUTHOR_MAX = 64
# The id column is an INTEGER: 32 bits on PostgreSQL and MySQL/MariaDB. No id can be larger, so
# URLs, cursors, the CLI and imports all stop here.
ID_MAX = 2**31 - 1

ID_MESSAGE = N_("A comment id is a whole number from 1 to %(max)d.", max=ID_MAX)
# A reply names the comment it answers (`parent`): an id that exists and is shown.
PARENT_MESSAGE = N_("parent must be a comment id: a whole number from 1 to %(max)d.", max=ID_MAX)
PARENT_GONE = N_("The comment you are replying to does not exist or was removed.")

# A comment's life: shown; hidden by a moderator (can come back); deleted by its author or a
# moderator (kept for audit, never shown). Purging removes the row itself.
VISIBLE, HIDDEN, DELETED, HELD = "visible", "hidden", "deleted", "held"
# held: waiting for a moderator's approval, shown to its author alone.
STATES = (VISIBLE, HIDDEN, DELETED, HELD)
# verb: (the states it applies to, the state it leads to). Deleted stays deleted: an author's
# deletion is not the moderator's to undo.
VERBS = {
    "approve": ({HELD}, VISIBLE),
    "reject": ({HELD}, DELETED),
    "hide": ({VISIBLE}, HIDDEN),
    "unhide": ({HIDDEN}, VISIBLE),
    "delete": ({VISIBLE, HIDDEN}, DELETED),
}
# BOARD_MODERATION, or a board's own: off (publish), first (hold a person's comments until one is
# approved), all (hold every comment).
MODERATION_MODES = ("off", "first", "all")
# The languages the board speaks (a catalog each under board/translations, English in the
# source), and those written right to left.
LANGUAGES = ("en", "de", "fr", "es", "pt_BR", "ar")
RIGHT_TO_LEFT = frozenset({"ar"})
LANGUAGE_MESSAGE = "A language is one of " + ", ".join(LANGUAGES) + "."
EMAIL_MAX = 254
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
EMAIL_MESSAGE = N_("Give an email address such as ann@example.org, or leave it empty.")

# What a comment may not hold: C0 controls except tab and newline, DEL, C1 controls, lone
# surrogates (not encodable), and the 66 noncharacters: U+FDD0-U+FDEF and the last two code
# points of every plane (U+FFFE, U+FFFF, U+1FFFE, ... U+10FFFF). XML 1.0 cannot carry U+FFFE
# and U+FFFF at all (one would make the Atom feed malformed for every reader); none is text.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
                       + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}"
                                 for plane in range(17))
                       + "]")
FORBIDDEN_MESSAGE = N_("Remove the control characters and noncharacters (such as U+FFFE): only "
                        "text, tabs and line breaks.")
# English, as reserved names (below); a page shows them translated (templating.display_name,
# boards.tab_title).
ANONYMOUS = N_("Anonymous")
BOARD_NAME = N_("Board")

# Unicode tricks. Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder
# what follows them on screen: a reversed string can read as a different sentence. The marks
# U+200E and U+200F only set the direction of neutral characters around them, and are kept.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
BIDI_MESSAGE = N_("Remove the text-direction controls (U+202A to U+202E, U+2066 to U+2069): they "
                   "show text in a different order from the one it was written in.")
# Characters that draw nothing. With whitespace (str.isspace), every format character (category
# Cf: zero-width spaces and joiners, U+FEFF, U+2060, tags, ...) and every combining mark (M*,
# which draws only on a letter before it), these are Unicode's other default-ignorable code points
# and the blanks that are letters or symbols: Hangul fillers and the braille blank.
BLANKS = frozenset("\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0"
                   + "".join(map(chr, range(0x180b, 0x1810)))     # Mongolian selectors
                   + "".join(map(chr, range(0xfe00, 0xfe10)))     # variation selectors
                   + "".join(map(chr, range(0xfff0, 0xfff9)))     # unassigned, ignorable
                   + "".join(map(chr, range(0x1bca0, 0x1bca4)))   # shorthand format controls
                   + "".join(map(chr, range(0x1d173, 0x1d17b)))   # musical format controls
                   + "".join(map(chr, range(0xe0000, 0xe1000))))  # tags, variation selectors
COMBINING_MAX = 8  # marks on one letter; Vietnamese, Hindi, Thai, Arabic and emoji need <= 4
COMBINING_MESSAGE = N_("Use at most %(num)d accents or other combining marks on one letter.",
                       num=COMBINING_MAX)
NAME_BLANK_MESSAGE = N_("Use a name people can see, or leave it empty.")
# Names that would pass for the board's own voice. A name is compared by its letters alone (see
# `name_key`): "Moderator ✔", "ＭＯＤＥＲＡＴＯＲ" and "Аnonymous" with a Cyrillic А are these.
RESERVED_NAMES = (ANONYMOUS, "Moderator", "Admin", "Administrator", BOARD_NAME)
RESERVED_MESSAGE = N_("That name is reserved; choose another.")
# Cyrillic and Greek letters drawn like Latin ones (a few of Unicode's confusables.txt), and the
# Latin letters that are drawn like other Latin ones. Applied after NFKC, before case folding.
CONFUSABLES = str.maketrans(
    "АВЕЅІЈКМНОРСТХУаеорсухіјѕԁһԛԝӏ"    # Cyrillic
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοιρνκ"               # Greek
    "ɑıȷ",                               # Latin alpha, dotless i and j
    "ABESIJKMHOPCTXYaeopcyxijsdhqwl"
    "ABEZHIKMNOPTYXaoipvk"
    "aij")


def normalise(text):
    """Browsers send textarea line breaks as CRLF; store and count them as one character."""
    if text is None:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def invisible(char):
    """True for a character that draws nothing on its own: see BLANKS."""
    return (char.isspace() or char in BLANKS
            or unicodedata.category(char)[0] == "M" or unicodedata.category(char) == "Cf")


def shows_nothing(text):
    return all(map(invisible, text))


def most_marks_on_a_letter(text):
    """The longest run of combining marks (M*) on one character. Format characters (Cf, such as
    zero-width joiners) between marks neither end a run nor count in it."""
    most = run = 0
    for char in text:
        category = unicodedata.category(char)
        if category[0] == "M":
            run += 1
            most = max(most, run)
        elif category != "Cf":
            run = 0
    return most


def name_key(name):
    """A name as compared with RESERVED_NAMES: NFKC, lookalike letters as Latin, case folded,
    accents dropped, and every invisible character, space, punctuation mark and symbol removed."""
    folded = unicodedata.normalize("NFKC", name).translate(CONFUSABLES).casefold()
    return "".join(char for char in unicodedata.normalize("NFKD", folded)
                   if not invisible(char) and unicodedata.category(char)[0] not in "PSZ")


RESERVED_KEYS = frozenset(map(name_key, RESERVED_NAMES))


def text_problem(text, posting=True):
    """What is wrong with a field's characters, whatever the field; None when nothing is."""
    if FORBIDDEN.search(text):
        return FORBIDDEN_MESSAGE
    if posting and BIDI_CONTROLS.search(text):
        return BIDI_MESSAGE
    if posting and most_marks_on_a_letter(text) > COMBINING_MAX:
        return COMBINING_MESSAGE
    return None


def validate(content, author=None, posting=True):
    """What is wrong with a comment, as {field: message}; empty when it may be stored.

    Takes the text as it would be stored: the form normalises first, an import does not (so a
    carriage return in an imported comment is refused, as it can never come from the form).
    An empty name is no name (shown as Anonymous); a name that shows nothing is refused.

    `posting=False` is for taking back what the board once stored (`flask board import`): what
    keeps every output well-formed still holds (lengths, control characters, noncharacters, an
    empty comment), but not the rules for new posts (text-direction controls, stacked marks,
    blank or reserved names), so a board exported before those rules existed moves without
    losing a comment; the page isolates and clips such text (static/board.css)."""
    problems = {}
    if author and len(author) > AUTHOR_MAX:
        problems["author"] = N_("Keep your name to %(num)d characters.", num=AUTHOR_MAX)
    elif author and (problem := text_problem(author, posting)):
        problems["author"] = problem
    elif posting and author and shows_nothing(author):
        problems["author"] = NAME_BLANK_MESSAGE
    elif posting and author and name_key(author) in RESERVED_KEYS:
        problems["author"] = RESERVED_MESSAGE
    if not content or (shows_nothing(content) if posting else not content.strip()):
        problems["content"] = N_("Write a comment before posting.")
    elif len(content) > CONTENT_MAX:
        problems["content"] = N_("Keep your comment to %(num)d characters.", num=CONTENT_MAX)
    elif problem := text_problem(content, posting):
        problems["content"] = problem
    return problems


def comment_id(raw, message=ID_MESSAGE):
    """A form field's comment id: None when empty, else the id; ValueError(message) when it
    cannot be one (ASCII digits without a leading zero, at most ID_MAX)."""
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"[1-9][0-9]{0,9}", raw) or int(raw) > ID_MAX:
        raise ValueError(message)
    return int(raw)


def parent_id(raw):
    return comment_id(raw, PARENT_MESSAGE)


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



# Boards ------------------------------------------------------------------------------------------

SLUG_MAX = 64
TITLE_MAX = 200
KEY_MAX = 512  # a page key: the path of a page of the site that embeds the board
OPEN, CLOSED, ARCHIVED = "open", "closed", "archived"
# open: takes comments; closed: readable, takes none; archived: read-only, out of the listings.
BOARD_STATES = (OPEN, CLOSED, ARCHIVED)
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MESSAGE = N_("A board's slug is up to %(num)d lowercase letters, digits and single hyphens "
                   "between them, such as book-club-2026.", num=SLUG_MAX)
CLOSED_MESSAGE = N_("This board is closed: it takes no new comments.")
ARCHIVED_MESSAGE = N_("This board is archived: it is read-only.")


def slug_problem(slug):
    """What is wrong with a board's slug, or None."""
    if not slug or len(slug) > SLUG_MAX or not SLUG.fullmatch(slug):
        return SLUG_MESSAGE
    return None


def title_problem(title):
    if not title or shows_nothing(title):
        return N_("Give the board a title.")
    if len(title) > TITLE_MAX:
        return N_("Keep a board's title to %(num)d characters.", num=TITLE_MAX)
    return text_problem(title, True)


def key_problem(key):
    """What is wrong with a page key (a path such as /blog/hello/), or None."""
    if not key or not key.startswith("/") or len(key) > KEY_MAX:
        return N_("A page key is the page's path: it starts with / and is at most %(num)d "
                  "characters.", num=KEY_MAX)
    if FORBIDDEN.search(key) or any(character.isspace() for character in key):
        return N_("A page key holds no spaces or control characters.")
    return None


def slug_for_key(key):
    """The slug of the board for page key `key`: readable words of the path, then a hash of the
    whole key, so that two keys never share a board and the slug never needs a lookup."""
    words = "-".join(re.findall(r"[a-z0-9]+", key.lower()))[:SLUG_MAX - 10].strip("-")
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{words}-{digest}" if words else f"page-{digest}"


def page_title(title):
    """An embedding page's title as a board's: one line, control characters out, cut to size;
    the page's key stands in when nothing is left."""
    flat = " ".join(FORBIDDEN.sub("", BIDI_CONTROLS.sub("", title or "")).split())
    return flat[:TITLE_MAX] or None
