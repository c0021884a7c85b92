"""Property-based tests: whatever arrives, the answer is never a 5xx, every refusal is a 4xx a
person can read, and exactly what the rules allow is stored: one row for a valid post, none for
anything else.

Every example starts from fresh state: a new client (no cookies, no session) and a rate limiter
that has counted nothing (`fresh_client`), so no example's outcome depends on an earlier one's.
The rules a post is judged by are written out here (`RULES`), not imported from the app: a test
that asked the app what is valid could never disagree with it.
"""

import re
import string
import unicodedata
import xml.etree.ElementTree as ET
from urllib.parse import unquote_plus, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from werkzeug.security import generate_password_hash

from board import models, rules
from board.extensions import db, limiter
from tests.helpers import HTMX, add_comments, count, error_message, soup

# A few dozen examples per test and database: new ones every run (see tests/conftest.py).
FUZZ = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# --- The rules, independently of board/ ------------------------------------------------------

CONTENT_MAX = 4096  # characters, after CRLF -> LF and stripping
AUTHOR_MAX = 64
BODY_MAX = 64 * 1024  # bytes of request body
# C0 controls except tab and line feed (a carriage return has become a line feed by then), DEL,
# and C1 controls.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def noncharacter(char):
    """Unicode's 66 noncharacters: U+FDD0..U+FDEF, and U+xxFFFE and U+xxFFFF in every plane.
    Not text; XML 1.0 cannot even carry U+FFFE and U+FFFF (the Atom feed would break)."""
    point = ord(char)
    return 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE


def is_text(value):
    return not CONTROL.search(value) and not any(map(noncharacter, value))


# Embeddings, overrides (U+202A..U+202E) and isolates (U+2066..U+2069): they reorder the display.
def reorders(value):
    return any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in value)


# Drawn as nothing: whitespace, format characters (Cf), combining marks (they need a letter),
# default-ignorable letters and symbols (Hangul fillers, Khmer inherent vowels), variation and
# Mongolian selectors, U+FFF0..U+FFF8, the braille blank, and the ignorable supplementary ranges.
NOTHING_RANGES = [(0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2800, 0x2800),
                  (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
                  (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF)]


def draws_nothing(char):
    kind = unicodedata.category(char)
    return (char.isspace() or kind == "Cf" or kind.startswith("M")
            or any(low <= ord(char) <= high for low, high in NOTHING_RANGES))


def visible(value):
    return not all(map(draws_nothing, value))


def mark_towers_fit(value, most=8):
    """No letter carries more than `most` combining marks; a Cf between two marks is skipped."""
    marks = 0
    for char in value:
        kind = unicodedata.category(char)
        if kind.startswith("M"):
            marks += 1
            if marks > most:
                return False
        elif kind != "Cf":
            marks = 0
    return True


RESERVED = {"anonymous", "moderator", "admin", "administrator", "board"}
LOOKALIKES = {  # Cyrillic, Greek and Latin letters drawn as these Latin ones
    "a": "АаΑαɑ", "b": "ВΒ", "c": "Сс", "d": "ԁ", "e": "ЕеΕ", "h": "НΗһ",
    "i": "ІіΙιı", "j": "Јјȷ", "k": "КΚκ", "l": "ӏ", "m": "МΜ", "n": "Ν",
    "o": "ОоΟο", "p": "РрΡρ", "q": "ԛ", "s": "Ѕѕ", "t": "ТΤ", "v": "ν", "w": "ԝ",
    "x": "ХхΧ", "y": "УуΥ", "z": "Ζ",
}
AS_LATIN = {ord(c): latin for latin, cs in LOOKALIKES.items() for c in cs}


def poses_as_the_board(name):
    """The name's letters alone, lookalikes as Latin, case and accents aside, are a reserved one."""
    letters = unicodedata.normalize("NFKC", name).translate(AS_LATIN).casefold()
    letters = unicodedata.normalize("NFKD", letters)
    kept = "".join(c for c in letters
                   if not draws_nothing(c) and unicodedata.category(c)[0] not in "PSZ")
    return kept in RESERVED


def as_stored(value):
    """What the board keeps of a field: line breaks as LF, no surrounding whitespace."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def is_valid(content, author):
    content, author = as_stored(content), as_stored(author)
    content_ok = (0 < len(content) <= CONTENT_MAX and is_text(content) and not reorders(content)
                  and visible(content) and mark_towers_fit(content))
    author_ok = author == "" or (len(author) <= AUTHOR_MAX and is_text(author)
                                 and not reorders(author) and visible(author)
                                 and mark_towers_fit(author) and not poses_as_the_board(author))
    return content_ok and author_ok


# --- Fresh state and small checks ------------------------------------------------------------

def fresh_client(app):
    """A new visitor: no cookies or session, and a rate limiter (which also remembers recent
    posts for the duplicate guard) that has counted nothing."""
    with app.app_context():
        limiter.reset()
    return app.test_client()


def token_of(client):
    return soup(client.get("/")).find("input", {"name": "csrf_token"})["value"]


def newest_row(app):
    with app.app_context():
        return db.session.execute(
            text("SELECT content, author FROM comments ORDER BY id DESC LIMIT 1")).one()


def assert_feed_parses(client):
    """The Atom feed is well-formed XML 1.0, by a strict parser (expat), whatever was stored."""
    response = client.get("/feed.atom")
    assert response.status_code == 200
    ET.fromstring(response.data)


def assert_readable_refusal(response):
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert error_message(response), response.get_data(as_text=True)[:500]


# --- Strategies ------------------------------------------------------------------------------

# Every character, noncharacters included (a few of those are also sampled below: they are
# too rare among 1.1 million code points to turn up by chance).
# Lone surrogates (category Cs) cannot be sent as text at all: they are percent-encoded below.
characters = st.characters(exclude_categories=["Cs"])
NONCHARACTERS = ["\ufffe", "\uffff", "\ufdd0", "\ufdef", "\U0001fffe", "\U0010ffff"]

def near(limit):
    """Text whose stored length is around `limit`: runs of one unit, maybe padded and with CRLF."""
    return st.builds(
        lambda n, unit, pad: pad + unit * n + pad,
        st.integers(limit - 3, limit + 3),
        st.sampled_from(["a", "😀", "é", "\t", "a\r\n"]),
        st.sampled_from(["", " ", "\r\n", "\n\t "]),
    )


# Unicode tricks: direction controls, characters that draw nothing, combining marks, and
# lookalikes of the reserved names' letters.
TRICKS = ["\u202a", "\u202e", "\u2066", "\u2069", "\u200e", "\u200f", "\u200b", "\u200d",
          "\u2060", "\ufeff", "\u00ad", "\u115f", "\u3164", "\uffa0", "\u2800", "\ufe0f",
          "\U000e0067", "\u0301", "\u0316", "\u0903", "\u20dd", "\u3000"]
reserved_names = st.builds(
    "{}{}{}".format,
    st.sampled_from(["", " ", "★ ", "\u200b"]),
    st.sampled_from(["Anonymous", "MODERATOR", "admin", "Administrator", "Board", "\u0410nonymous",
                     "M\u043ed\u0435rator", "\u0391DMIN", "ｍｏｄｅｒａｔｏｒ", "Admiral", "Boards",
                     "Mod erator", "Ad\u0301min"]),
    st.sampled_from(["", " ✔", "!", "\u2069", "2", " \u2713\ufe0f"]),
)

any_text = st.one_of(
    st.text(characters),
    st.text(alphabet=st.sampled_from([*TRICKS, "a", "😀", " ", "\n"])),
    st.builds("{}{}".format, st.sampled_from(["a", "e", "\u0915", "😀", ""]),
              st.text(st.sampled_from(["\u0301", "\u0316", "\u0903", "\u20dd", "\u200d"]),
                       min_size=6, max_size=12)),
    st.text(st.characters(codec="utf-8"), min_size=4000, max_size=4200),
    st.text(alphabet=st.sampled_from(["\x00", "\r", "\n", "\t", " ", "a", "😀", "\u202e", "<", "&",
                                      "\x1c", "\x85", "\x7f", "\x9f", "\u00a0", "\u2028",
                                      "\ufffd", *NONCHARACTERS])),
    st.sampled_from(["", " ", "\x00", "<script>alert(1)</script>", "{{7*7}}", "a" * 5000]),
    near(CONTENT_MAX),
    # Plain text but for one noncharacter: refused, where nothing else could be the reason.
    st.builds("{}{}{}".format, st.text("ab ", max_size=5), st.sampled_from(NONCHARACTERS),
              st.text("ab ", max_size=5)),
)
any_author = st.one_of(st.none(), any_text, near(AUTHOR_MAX), reserved_names)  # None: the field is not sent
honeypot = st.one_of(st.none(), st.just(""), st.text(max_size=20))
# How the CSRF token is sent: the page's own (most often), none, junk, or another session's.
tokens = st.sampled_from(["own", "own", "own", "missing", "junk", "other session"])
lone_surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)

integers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-2, max_value=120),
    st.sampled_from([2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 10**13, 10**15, 10**15 + 1,
                     10**18 - 1, 10**18, 10**18 + 1,
                     253402300799999, 253402300800000]),  # ms at the end of year 9999, and after
)
query_values = st.one_of(
    integers.map(str),
    integers.map(lambda n: f"00{n}" if n >= 0 else f"+{-n}"),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(alphabet=string.printable, max_size=30),
    st.text(max_size=10),
    st.sampled_from(["", " 1", "1 ", "0", "1e9", "0x10", "٣", "１２", "9" * 40, "%00", "null", "[]"]),
)
# Any combination of the listing's parameters, each any value.
queries = st.dictionaries(st.sampled_from(["before", "after", "since", "limit"]), query_values)


# --- POST /comments: every field at once -----------------------------------------------------

def form_pairs(content, author, website, token):
    pairs = [("content", content), ("author", author), ("website", website), ("csrf_token", token)]
    return [(name, value) for name, value in pairs if value is not None]


@FUZZ
@given(content=st.one_of(st.none(), any_text), author=any_author, website=honeypot,
       token_kind=tokens, junk=st.text(max_size=100), htmx=st.booleans(), repeat=st.booleans())
def test_any_form_input_is_stored_exactly_when_valid(app, content, author, website, token_kind,
                                                    junk, htmx, repeat):
    client = fresh_client(app)
    token = {"own": lambda: token_of(client), "missing": lambda: None, "junk": lambda: junk,
             "other session": lambda: token_of(fresh_client(app))}[token_kind]()
    body = urlencode(form_pairs(content, author, website, token)).encode()
    if len(body) > BODY_MAX:
        expected, stores = {413}, 0
    elif token_kind != "own":
        expected, stores = {400}, 0
    elif not is_valid(content, author):
        expected, stores = {422}, 0
    else:  # accepted; a filled-in honeypot (a bot) only looks accepted
        expected, stores = {201 if htmx else 303}, 0 if website else 1

    before = count(app)
    response = client.post("/comments", data=body, headers=HTMX if htmx else {},
                           content_type="application/x-www-form-urlencoded")
    assert_readable_refusal(response)
    assert response.status_code in expected
    assert count(app) - before == stores
    if stores:
        assert tuple(newest_row(app)) == (as_stored(content), as_stored(author) or None)
        assert_feed_parses(client)
    if repeat:  # the same post again, at once: a double submit, never a second row
        again = client.post("/comments", data=body, headers=HTMX if htmx else {},
                            content_type="application/x-www-form-urlencoded")
        assert again.status_code == response.status_code
        assert count(app) - before == stores


@FUZZ
@given(raw=st.binary(max_size=300).map(lambda raw: raw.replace(b"&", b"")))
def test_any_raw_body_is_stored_exactly_when_valid(app, raw):
    """The content field's bytes as sent, %-escapes and all (no `&`, so it stays one field)."""
    client = fresh_client(app)
    try:
        content = unquote_plus(raw.decode("utf-8"), errors="strict")
    except UnicodeDecodeError:
        expected, stores = 400, 0  # not UTF-8 text, before or after %-decoding
    else:
        expected, stores = (201, 1) if is_valid(content, None) else (422, 0)
    before = count(app)
    response = client.post("/comments", data=f"csrf_token={token_of(client)}&content=".encode() + raw,
                           content_type="application/x-www-form-urlencoded", headers=HTMX)
    assert_readable_refusal(response)
    assert response.status_code == expected
    assert count(app) - before == stores
    if stores:
        assert_feed_parses(client)


@FUZZ
@given(surrogates=lone_surrogates)
def test_lone_surrogates_percent_encoded_are_refused(app, surrogates):
    client = fresh_client(app)
    encoded = "".join(f"%{b:02X}" for b in surrogates.encode("utf-8", "surrogatepass"))
    before = count(app)
    response = client.post("/comments", data=f"csrf_token={token_of(client)}&content={encoded}",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert count(app) == before


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]),
       path=st.sampled_from(["/", "/comments", "/comments/1", "/comments/x", "/healthz",
                             "/api/comments", "/moderate/", "/comments/99999999999999999999999"]),
       content_type=st.sampled_from(["application/json", "text/plain", "multipart/form-data",
                                     "application/x-www-form-urlencoded", "application/xml"]),
       body=st.binary(max_size=200))
def test_any_method_and_content_type_is_answered_without_a_5xx(app, method, path,
                                                              content_type, body):
    client = fresh_client(app)
    before = count(app)
    response = client.open(path, method=method, data=body, content_type=content_type)
    assert response.status_code < 500
    if method != "HEAD" and response.status_code >= 400:
        assert_readable_refusal(response)
    assert count(app) == before  # no CSRF token: nothing can be stored


# --- Every listing, every query parameter at once --------------------------------------------

MODERATOR_PASSWORD = "fuzzing moderator"
# name, path, headers, statuses a well-formed query may get
LISTINGS = [
    ("board page", "/", {}, {200}),
    ("fragments without htmx", "/comments", {}, {303}),
    ("fragments and poll", "/comments", HTMX, {200, 204}),
    ("api", "/api/comments", {}, {200}),
    ("moderator page", "/moderate/", {}, {200}),
]
ID_SAFE = 2**31 - 1  # an id every database's INTEGER column can hold


def digits(value):
    return re.fullmatch(r"[0-9]+", value) is not None


def malformed(query, path):
    """Refused whatever the board's ranges: not a plain decimal number, no rows asked for, both
    cursors at once, or `after` on a page that only goes back in time."""
    return (not all(digits(value) for value in query.values())
            or query.get("limit", "1").lstrip("0") == ""
            or {"before", "after"} <= query.keys()
            or ("after" in query and path in ("/", "/moderate/")))


def plainly_fine(query):
    """Accepted whatever the board's ranges: small numbers inside every limit."""
    bounds = {"before": (1, ID_SAFE), "after": (0, ID_SAFE), "since": (0, 10**13),
              "limit": (1, 100)}
    return all(bounds[name][0] <= int(value) <= bounds[name][1] for name, value in query.items())


@pytest.fixture
def listed_app(app_factory):
    """A board with a few comments, one hidden and one deleted, and a moderator password."""
    app = app_factory(BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(
        MODERATOR_PASSWORD, method="pbkdf2:sha256:1000"))
    ids = add_comments(app, 6)
    with app.app_context():
        for comment_id, state in ((ids[1], rules.HIDDEN), (ids[3], rules.DELETED)):
            models.change(db.session.get(models.Comment, comment_id), state=state)
    return app


def logged_in_moderator(client):
    page = soup(client.get("/moderate/login"))
    token = page.find("input", {"name": "csrf_token"})["value"]
    response = client.post("/moderate/login",
                           data={"password": MODERATOR_PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("name, path, headers, statuses", LISTINGS, ids=[l[0] for l in LISTINGS])
@FUZZ
@given(query=queries, extra=st.dictionaries(st.sampled_from(["page", "x", "before[]", ""]),
                                            st.text(max_size=5), max_size=1))
def test_any_listing_query_is_answered_without_a_5xx(listed_app, name, path, headers, statuses,
                                                    query, extra):
    client = fresh_client(listed_app)
    if path == "/moderate/":
        logged_in_moderator(client)
    before = count(listed_app)
    response = client.get(path, query_string={**extra, **query}, headers=headers)
    status = response.status_code
    assert status < 500, f"{status} for {path}?{urlencode(query)}: {response.get_data()[:300]}"
    if malformed(query, path):
        assert status == 400
    elif plainly_fine(query):
        assert status in statuses
    else:  # beyond a range: some boards may take it, none may fail on it
        assert status in statuses | {400}
    if status >= 400 and path != "/api/comments":
        assert_readable_refusal(response)
    assert count(listed_app) == before


@pytest.mark.one_database
def test_body_over_max_content_length_is_413_and_stores_nothing(app, client):
    response = client.post("/comments", data=b"content=" + b"a" * (64 * 1024 + 1),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert_readable_refusal(response)
    assert count(app) == 0
