"""The board in the reader's language (board/languages.py): every catalog complete, with the
right plural forms and the same placeholders as the English; the language chosen by the reader's
switcher, the board, BOARD_LANGUAGE or Accept-Language, said in lang, dir and Vary."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from board import boards, languages
from board.rules import LANGUAGES, RIGHT_TO_LEFT
from tests.helpers import HTMX, post, soup

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [code for code in LANGUAGES if code != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# pybabel's own keywords (_, gettext, ngettext, N_, ...) and the README's -k additions.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "counted": (1, 2)}


def extracted():
    """{msgid or (singular, plural)} that the code and templates use, as pybabel extract finds
    them with the README's command."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map,
                                                 keywords=KEYWORDS):
        found.add(message)
    return found


@pytest.fixture(scope="module")
def messages():
    return extracted()


def catalog(code):
    with (languages.CATALOGS / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=code)


@pytest.mark.one_database
def test_the_code_has_words_to_translate(messages):
    assert len(messages) > 150
    assert "No comments yet. Be the first to say something!" in messages
    assert ("%(num)d reply", "%(num)d replies") in messages


@pytest.mark.one_database
@pytest.mark.parametrize("code", TRANSLATED)
def test_each_catalog_is_complete_with_no_fuzzy_entry_and_the_same_placeholders(code, messages):
    found = catalog(code)
    problems = []
    for message in sorted(messages, key=str):
        key = message[0] if isinstance(message, tuple) else message
        entry = found.get(key)
        if entry is None:
            problems.append(f"missing: {key!r}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        texts = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if isinstance(message, tuple) != isinstance(entry.id, tuple):
            problems.append(f"plural or not, unlike the code: {key!r}")
        if isinstance(message, tuple) and len(texts) != found.num_plurals:
            problems.append(f"{len(texts)} plural forms, not {found.num_plurals}: {key!r}")
        if not all(texts):
            problems.append(f"untranslated: {key!r}")
        wanted = set(PLACEHOLDER.findall(key)) | (
            set(PLACEHOLDER.findall(message[1])) if isinstance(message, tuple) else set())
        for text in texts:
            if set(PLACEHOLDER.findall(text)) - wanted or (
                    not isinstance(message, tuple) and set(PLACEHOLDER.findall(text)) != wanted):
                problems.append(f"placeholders differ: {key!r} -> {text!r}")
    assert problems == [], f"{code}: " + "\n".join(problems[:40])


@pytest.mark.one_database
def test_arabic_counts_take_its_six_forms(app_factory):
    app = app_factory(BOARD_LANGUAGE="ar")
    with app.test_request_context():
        from flask_babel import ngettext
        forms = {n: ngettext("%(num)d reply", "%(num)d replies", n) for n in (0, 1, 2, 3, 11, 100)}
    assert len(set(forms.values())) == 6, forms


@pytest.mark.one_database
@pytest.mark.parametrize("code", LANGUAGES)
def test_the_reader_s_language_comes_from_accept_language(client, code):
    page = client.get("/", headers={"Accept-Language": f"{code.replace('_', '-')},en;q=0.5"})
    html = soup(page).html
    assert html["lang"] == code.replace("_", "-")
    assert html["dir"] == ("rtl" if code in RIGHT_TO_LEFT else "ltr")
    assert "Accept-Language" in page.headers["Vary"]
    assert page.headers["Content-Language"] == code.replace("_", "-")
    empty = soup(page).select_one("#comments .empty").get_text()
    english = "No comments yet. Be the first to say something!"
    assert (empty == english) == (code == "en"), empty


@pytest.mark.one_database
def test_a_language_not_shipped_falls_back_to_english_and_a_region_to_its_language(client):
    assert soup(client.get("/", headers={"Accept-Language": "ja,zh;q=0.9"})).html["lang"] == "en"
    assert soup(client.get("/", headers={"Accept-Language": "fr-CA"})).html["lang"] == "fr"
    assert soup(client.get("/", headers={"Accept-Language": "pt-BR"})).html["lang"] == "pt-BR"
    # Each header is worked out once per worker (languages.kept_best_of): still per header, and
    # a long one (not kept) the same way.
    assert soup(client.get("/", headers={"Accept-Language": "ja,zh;q=0.9"})).html["lang"] == "en"
    assert soup(client.get("/", headers={"Accept-Language": "de"})).html["lang"] == "de"
    lengthy = ",".join(f"x-{n:03};q=0.{n % 9 + 1}" for n in range(40)) + ",de;q=0.95"
    assert len(lengthy) > languages.ACCEPT_KEPT_LENGTH
    assert soup(client.get("/", headers={"Accept-Language": lengthy})).html["lang"] == "de"


@pytest.mark.one_database
def test_board_language_then_a_board_s_own_then_the_reader_s_choice(app_factory):
    app = app_factory(BOARD_LANGUAGE="de")
    client = app.test_client()
    german = {"Accept-Language": "fr"}
    assert soup(client.get("/", headers=german)).html["lang"] == "de"  # the site's, whatever asked
    with app.app_context():
        boards.create("club", "Le club")
        boards.set_language("club", "fr")
    assert soup(client.get("/b/club", headers=german)).html["lang"] == "fr"  # the board's own
    client.set_cookie(languages.COOKIE, "es")
    assert soup(client.get("/b/club")).html["lang"] == "es"  # the reader's choice wins
    client.set_cookie(languages.COOKIE, "xx")  # not shipped: as if unset
    assert soup(client.get("/b/club")).html["lang"] == "fr"


@pytest.mark.one_database
def test_dates_and_counts_are_written_in_the_page_s_language(app_factory, clock):
    from datetime import datetime, timezone
    app = app_factory()
    client = app.test_client()
    clock.now = datetime(2017, 7, 7, 18, 47, 5, tzinfo=timezone.utc)
    thread = post(client, "Hallo", htmx=True)
    thread_id = int(soup(thread).article["id"].removeprefix("comment-"))
    post(client, "Antwort", parent=str(thread_id))
    page = soup(client.get("/", headers={"Accept-Language": "de"}))
    shown = page.select_one(f"#comment-{thread_id} time.posted").get_text()
    assert "Freitag" in shown and "Juli" in shown and shown.endswith("UTC"), shown
    assert page.select_one(f"#comment-{thread_id} time.posted")["datetime"] == "2017-07-07T18:47:05Z"
    assert page.select_one(f"#comment-{thread_id} .reply-count").get_text() != "1 reply"


@pytest.mark.one_database
def test_a_kept_page_is_kept_per_language(client):
    post(client, "Bonjour")
    for code in ("fr", "en", "fr", "ar", "en"):
        page = soup(client.get("/", headers={"Accept-Language": code}))
        reply = page.select_one("article a.reply").get_text(" ", strip=True)
        assert reply.startswith("Reply") == (code == "en"), (code, reply)


@pytest.mark.one_database
def test_the_idle_poll_is_the_same_in_every_language(client):
    page = soup(client.get("/"))
    url = page.select_one("#poller")["data-hx-get"]
    answer = client.get(url, headers={**HTMX, "Accept-Language": "ar"})
    assert answer.status_code == 204 and "Accept-Language" not in answer.headers.get("Vary", "")


@pytest.mark.one_database
def test_the_cli_sets_and_clears_a_board_s_language(app, runner):
    with app.app_context():
        boards.create("club", "Club")
    result = runner.invoke(args=["board", "boards", "language", "club", "pt_BR"])
    assert result.exit_code == 0 and "language pt_BR" in result.output
    with app.app_context():
        assert boards.find("club").language == "pt_BR"
    assert runner.invoke(args=["board", "boards", "language", "club", "default"]).exit_code == 0
    with app.app_context():
        assert boards.find("club").language is None
    assert runner.invoke(args=["board", "boards", "language", "club", "xx"]).exit_code == 2


@pytest.mark.one_database
def test_the_switcher_keeps_a_reader_s_choice_and_comes_back_to_the_page(client):
    page = soup(client.get("/boards", headers={"Accept-Language": "de"}))
    switcher = page.select_one("form.language-switch")
    options = {option["value"]: option for option in switcher.select("option")}
    assert list(options) == list(LANGUAGES)
    assert options["de"].has_attr("selected") and options["ar"]["lang"] == "ar"
    assert options["pt_BR"].get_text() == "Português (Brasil)"
    token = switcher.select_one("input[name=csrf_token]")["value"]
    chosen = client.post("/preferences", data={"csrf_token": token, "language": "ar",
                                                "next": switcher.select_one("input[name=next]")["value"]})
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/boards"
    again = soup(client.get("/boards", headers={"Accept-Language": "de"}))
    assert (again.html["lang"], again.html["dir"]) == ("ar", "rtl")
    assert client.post("/preferences", data={"csrf_token": token, "language": "xx"}).status_code == 400
    forgot = client.post("/preferences", data={"csrf_token": token, "language": "auto"})
    assert forgot.status_code == 303
    assert soup(client.get("/", headers={"Accept-Language": "de"})).html["lang"] == "de"
