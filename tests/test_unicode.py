"""Unicode tricks, refused by rules.validate (so by the form, the edit form and `flask board
import` alike): text-direction controls, text that shows nothing, towers of combining marks, and
names that pass for the board's own (Anonymous, Moderator, Admin, Board) however they are spelt.
Real writing in every script still passes. The stylesheet isolates and clips what visitors wrote
(tests/browser/test_unicode_layout.py checks it in Chromium)."""

import json
import re
from pathlib import Path

import pytest

from board import rules
from tests.helpers import HTMX, count, csrf_token, error_message, post, soup

pytestmark = pytest.mark.one_database

CSS = Path(__file__).parent.parent / "static" / "board.css"
BIDI_CONTROLS = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                 "\u2066", "\u2067", "\u2068", "\u2069"]
# Each shows nothing at all.
BLANKS = {
    "zero-width spaces": "\u200b\u200b\u200b",
    "zero-width joiners": "\u200c\u200d",
    "word joiner and BOM": "\u2060\ufeff",
    "soft hyphen": "\u00ad",
    "Hangul fillers": "\u115f\u1160\u3164\uffa0",
    "braille blanks": "\u2800\u2800\u2800",
    "marks without a letter": "\u0301\u0308",
    "variation selectors": "\ufe0f\ufe0e",
    "tags": "\U000e0041\U000e007f",
    "mixed with spaces": " \u3000\u200b\u2800 \u3164\u00a0",
    "left-to-right and right-to-left marks": "\u200e\u200f",
}
TOO_MANY = 9  # marks on one letter
# Real writing: every one of these must be stored.
WRITING = {
    "Vietnamese": "Tiếng Việt có dấu: người, chuyện, được, ở, Đặng Thị Ngọc Thịnh",
    "Vietnamese decomposed": "Vie\u0323\u0302t Nam, ngu\u031bo\u031b\u0300i",
    "Hindi": "हिन्दी में लिखा हुआ वाक्य: क्षत्रिय, श्रृंगार, द्विज",
    "Arabic with harakat": "بِسْمِ ٱللَّٰهِ ٱلرَّحْمَٰنِ ٱلرَّحِيمِ، مُحَمَّدٌ",
    "Thai": "ภาษาไทย น้ำใจ กรุงเทพมหานคร ผู้ใหญ่",
    "Tibetan stacks": "བོད་ཡིག་ སྒྲོལ་མ་ བསྒྲུབས་",
    "Hebrew with points": "שָׁלוֹם עֲלֵיכֶם",
    "emoji with skin tones": "👍🏽 👋🏿 🧑🏻‍💻",
    "emoji ZWJ sequences": "👩‍👩‍👧‍👦 👨‍❤️‍💋‍👨 🏳️‍🌈 🏴‍☠️",
    "flags": "🇫🇷 🇯🇵 🇧🇷 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "keycaps": "1️⃣ #️⃣ *️⃣",
    "one emoji behind a joiner": "\u200d😀",
    "right-to-left with marks": "\u200fשלום\u200e (hello)",
    "eight marks on one letter": "e" + "\u0301" * 8,
    "zero-width space inside text": "no\u200bbreak",
}
RESERVED = ["Anonymous", "Moderator", "Admin", "Administrator", "Board",
            "anonymous", "MODERATOR", "aDmIn", "BOARD",
            "\u0410nonymous",  # Cyrillic А
            "M\u043ed\u0435r\u0430t\u043er",  # Cyrillic о е а о
            "\u0391dmin",  # Greek Α
            "\u0392\u039f\u0391RD",  # Greek ΒΟΑ
            "Moderator ✔", "Moderator ✓", "☑ Admin", "★ Board ★", "Moderator!", "(Admin)",
            "Moderator 🛡️", "ｍｏｄｅｒａｔｏｒ", "ＡＤＭＩＮ", "𝐌𝐨𝐝𝐞𝐫𝐚𝐭𝐨𝐫", "ⓐⓓⓜⓘⓝ",
            "Mod\u200berator", "Ad\u00admin", "Mod erator", "Admïn", "  Board\u3000"]
NOT_RESERVED = ["Ann", "Moderators fan", "Admiral", "Boardwalk", "Anon", "Mod", "The Admin",
                "Board 2", "Adminа2", "Ada", "Chloé", "Zoë 😀", "Дмитрий", "Αλέξανδρος"]


def problems(content="Hello", author=None):
    return rules.validate(content, author)


# --- Text-direction controls -------------------------------------------------------------------

@pytest.mark.parametrize("control", BIDI_CONTROLS, ids=[f"U+{ord(c):04X}" for c in BIDI_CONTROLS])
@pytest.mark.parametrize("field", ["content", "author"])
def test_a_bidi_control_is_refused_in_content_and_author(field, control):
    fields = {"content": "Hello", "author": "Ann", field: f"ok {control}tnemmoc siht devorppa"}
    assert problems(**fields) == {field: rules.BIDI_MESSAGE}
    assert "text-direction controls" in rules.BIDI_MESSAGE


def test_the_reversed_string_of_the_issue_is_refused_by_the_form(app, client):
    spoof = "Great post! \u202e!tnemmoc siht devorppa rotaredom ehT"
    response = post(client, spoof, author="Ann", htmx=True)
    assert response.status_code == 422
    assert "text-direction controls" in error_message(response)
    assert count(app) == 0


# --- Text that shows nothing -------------------------------------------------------------------

@pytest.mark.parametrize("blank", BLANKS.values(), ids=BLANKS.keys())
def test_content_that_shows_nothing_is_refused(blank):
    assert problems(blank) == {"content": "Write a comment before posting."}


@pytest.mark.parametrize("blank", BLANKS.values(), ids=BLANKS.keys())
def test_a_name_that_shows_nothing_is_refused(blank):
    assert problems(author=blank) == {"author": "Use a name people can see, or leave it empty."}


def test_a_blank_name_and_comment_are_refused_by_the_form(app, client):
    response = post(client, "\u2800\u3164", author="\u200b\u200b", htmx=True)
    assert response.status_code == 422
    message = error_message(response)
    assert "Write a comment before posting." in message
    assert "Use a name people can see, or leave it empty." in message
    assert count(app) == 0


def test_an_empty_name_is_still_no_name():
    assert problems(author="") == {} and problems(author=None) == {}


# --- Combining marks ---------------------------------------------------------------------------

@pytest.mark.parametrize("mark", ["\u0301", "\u0316", "\u0903", "\u20dd", "\u0e48"])
def test_more_than_eight_marks_on_one_letter_are_refused(mark):
    assert rules.COMBINING_MAX == 8
    message = "Use at most 8 accents or other combining marks on one letter."
    assert problems("e" + mark * TOO_MANY) == {"content": message}
    assert problems(author="e" + mark * TOO_MANY) == {"author": message}
    assert problems("a" + mark * 4000) == {"content": message}  # the issue's tower


def test_joiners_between_marks_do_not_reset_the_count():
    tower = "a" + "\u0301\u200d" * TOO_MANY
    assert problems(tower) == {"content": rules.COMBINING_MESSAGE}
    assert problems("a" + "\u0301\u200c" * 8) == {}


def test_marks_count_per_letter_not_per_comment():
    assert problems(("e" + "\u0301" * 8) * 100) == {}


def test_the_issues_tower_is_refused_by_the_form(app, client):
    response = post(client, "Z" + "\u0336\u0301" * 2040, htmx=True)  # 4,081 characters
    assert response.status_code == 422
    assert "combining marks" in error_message(response)
    assert count(app) == 0


# --- Real writing passes -----------------------------------------------------------------------

@pytest.mark.parametrize("text", WRITING.values(), ids=WRITING.keys())
def test_real_writing_passes_as_content_and_name(text):
    assert problems(text) == {}
    assert problems(author=text[:rules.AUTHOR_MAX].strip()) == {}


@pytest.mark.parametrize("text", WRITING.values(), ids=WRITING.keys())
def test_real_writing_is_stored_by_the_form(app, client, text):
    response = post(client, text, author=text[:rules.AUTHOR_MAX].strip(), htmx=True)
    assert response.status_code == 201, error_message(response)
    assert count(app) == 1


# --- Reserved names ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", RESERVED)
def test_a_reserved_name_is_refused_however_it_is_spelt(name):
    assert problems(author=name) == {"author": "That name is reserved; choose another."}


@pytest.mark.parametrize("name", NOT_RESERVED)
def test_names_near_the_reserved_ones_pass(name):
    assert problems(author=name) == {}


@pytest.mark.parametrize("name", ["\u0410nonymous", "Moderator ✔", "ｍｏｄｅｒａｔｏｒ", "MODERATOR"])
def test_a_reserved_name_is_refused_by_the_form(app, client, name):
    response = post(client, "The moderator approved this comment!", author=name, htmx=True)
    assert response.status_code == 422
    assert "That name is reserved; choose another." in error_message(response)
    assert count(app) == 0


# --- The importer takes back what the board once stored -----------------------------------------

def import_one(runner, tmp_path, **fields):
    record = {"id": 5, "author": "Ann", "content": "Hello", "posted": "2017-07-07T18:47:05Z",
              "edited": None, "state": "visible", **fields}
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    return runner.invoke(args=["board", "import", str(source)])


@pytest.mark.parametrize("field, value", [
    ("content", "a\u202eb"),
    ("author", "\u2066Ann\u2069"),
    ("content", "e" + "\u0301" * 9),
    ("author", "\u2800"),
    ("author", "Moderator ✔"),
])
def test_an_import_keeps_what_older_boards_accepted(app, runner, tmp_path, field, value):
    """A board exported before the posting rules existed moves without losing a comment: the
    rules for new posts do not apply to what the board once stored (the page isolates it)."""
    result = import_one(runner, tmp_path, **{field: value})
    assert result.exit_code == 0, result.output
    assert count(app) == 1


@pytest.mark.parametrize("field, value, message", [
    ("content", "a\ufffeb", "noncharacters"),
    ("author", "Ann\u0007", "control characters"),
    ("content", "   ", "Write a comment before posting"),
])
def test_an_import_is_refused_what_no_output_can_carry(app, runner, tmp_path, field, value,
                                                       message):
    result = import_one(runner, tmp_path, **{field: value})
    assert result.exit_code == 1
    assert f"line 1: {field}: " in result.output and message in result.output
    assert count(app) == 0


def test_the_edit_form_asks_the_same_rules(app, client):
    assert post(client, "Original", htmx=True).status_code == 201
    comment_id = soup(client.get("/")).select_one("article.comment")["id"].removeprefix("comment-")
    response = client.post(f"/comments/{comment_id}/edit", headers=HTMX, data={
        "content": "\u202eoops", "csrf_token": csrf_token(client)})
    assert response.status_code == 422
    assert "text-direction controls" in error_message(response)


# --- The stylesheet ----------------------------------------------------------------------------

def css_rules():
    """{selector: {property: [values, in order]}} for the stylesheet's plain (non-@) rules."""
    text = re.sub(r"/\*.*?\*/", "", CSS.read_text(encoding="utf-8"), flags=re.S)
    found = {}
    for selectors, body in re.findall(r"([^{}@]+)\{([^{}]*)\}", text):
        for selector in (s.strip() for s in selectors.split(",")):
            for declaration in filter(None, (d.strip() for d in body.split(";"))):
                name, _, value = declaration.partition(":")
                found.setdefault(selector, {}).setdefault(name.strip(), []).append(value.strip())
    return found


@pytest.mark.parametrize("selector", [".author", ".content"])
def test_the_stylesheet_isolates_and_clips_author_and_content(selector):
    declarations = css_rules()[selector]
    assert declarations["unicode-bidi"][-1] == "isolate"
    assert declarations["overflow-wrap"][-1] == "anywhere"
    assert set(declarations["overflow"]) <= {"hidden", "clip"} and declarations["overflow"]
    assert declarations["min-width"][-1] == "0"


def test_the_comment_template_uses_the_isolated_classes(app, client):
    post(client, "Hello", author="Ann")
    page = client.get("/").get_data(as_text=True)
    # Isolated, and each in its own direction (dir="auto": on a right-to-left page too).
    assert '<span class="author" dir="auto">Ann</span>' in page
    assert re.search(r'<div class="content" dir="auto"><p>Hello</p></div>', page)
    assert "style=" not in page  # the CSP forbids inline styles
