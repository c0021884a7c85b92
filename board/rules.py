"""The rules of a comment, each written once: what a valid comment is, how long it may be, which
ids can exist, how a missing name reads, how times are written, and which moderation verbs apply
to which state. The form, the importer, the CLI, the routes and the templates all ask here."""

import re
import unicodedata
from datetime import timezone

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
BOARD_NAME = "Board"

# Unicode tricks. Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder
# what follows them on screen: a reversed string can read as a different sentence. The marks
# U+200E and U+200F only set the direction of neutral characters around them, and are kept.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
BIDI_MESSAGE = ("Remove the text-direction controls (U+202A to U+202E, U+2066 to U+2069): they "
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
COMBINING_MESSAGE = f"Use at most {COMBINING_MAX} accents or other combining marks on one letter."
NAME_BLANK_MESSAGE = "Use a name people can see, or leave it empty."
# Names that would pass for the board's own voice. A name is compared by its letters alone (see
# `name_key`): "Moderator ✔", "ＭＯＤＥＲＡＴＯＲ" and "Аnonymous" with a Cyrillic А are these.
RESERVED_NAMES = (ANONYMOUS, "Moderator", "Admin", "Administrator", BOARD_NAME)
RESERVED_MESSAGE = "That name is reserved; choose another."
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
        problems["author"] = f"Keep your name to {AUTHOR_MAX} characters."
    elif author and (problem := text_problem(author, posting)):
        problems["author"] = problem
    elif posting and author and shows_nothing(author):
        problems["author"] = NAME_BLANK_MESSAGE
    elif posting and author and name_key(author) in RESERVED_KEYS:
        problems["author"] = RESERVED_MESSAGE
    if not content or (shows_nothing(content) if posting else not content.strip()):
        problems["content"] = "Write a comment before posting."
    elif len(content) > CONTENT_MAX:
        problems["content"] = f"Keep your comment to {CONTENT_MAX} characters."
    elif problem := text_problem(content, posting):
        problems["content"] = problem
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

