"""A reader's choices kept in cookies (board/preferences.py): the theme toggle's form on every
page, POST /preferences (CSRF, valid values only, back to a same-site page only, 204 for htmx),
the server writing the choice on <html>, an embedding site's theme; and the two palettes of
static/board.css: the dark one written alike for the choice and the system's default, and every
pair of colours they put together meeting WCAG 2.2 AA.

The browser side (no flash, the toggle with and without JavaScript, axe in both themes) is
tests/browser/test_themes.py and tests/browser/test_accessibility.py."""

import re
from urllib.parse import urlencode

import pytest

from board import preferences
from board.config import ROOT
from tests.helpers import HTMX, add_comments, csrf_token, soup

pytestmark = pytest.mark.one_database

SITE = "https://blog.example.org"


def choose(client, token=True, htmx=False, **fields):
    data = {**fields, **({"csrf_token": csrf_token(client)} if token else {})}
    return client.post("/preferences", data=data, headers=HTMX if htmx else {})


def theme_of(response):
    return soup(response).html.get("data-theme")


def theme_cookie(response):
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("theme=")]
    return {part.split("=")[0].strip().lower(): part.partition("=")[2]
            for part in cookie.split(";")}


# --- The toggle ------------------------------------------------------------------------------

def test_without_a_choice_the_page_names_no_theme_and_offers_both(client):
    page = soup(client.get("/"))
    assert "data-theme" not in page.html.attrs  # the system's theme, by the stylesheet
    form = page.select_one("header.masthead form.theme-switch")
    assert form["action"] == "/preferences" and form["method"] == "post"
    assert form.select_one("input[name=csrf_token]")["value"]
    assert form.select_one("input[name=next]")["value"] == "/"
    buttons = {b["value"]: b.get_text() for b in form.select("button[name=theme][type=submit]")}
    assert buttons == {"dark": "Dark theme", "light": "Light theme"}


@pytest.mark.parametrize("path", ["/boards", "/recent", "/moderate/login", "/no/such/page",
                                  "/?before=5"])
def test_every_page_with_the_masthead_has_the_toggle_coming_back_to_itself(app_factory, path):
    client = app_factory(BOARD_MODERATOR_PASSWORD_HASH="x").test_client()
    page = soup(client.get(path))
    assert page.select_one("form.theme-switch input[name=next]")["value"] == path


def test_a_choice_is_kept_in_a_cookie_and_written_on_every_page(client):
    response = choose(client, theme="dark", next="/boards?after=3")
    assert response.status_code == 303
    assert response.headers["Location"] == "/boards?after=3"
    cookie = theme_cookie(response)
    assert cookie["theme"] == "dark"
    assert int(cookie["max-age"]) == 365 * 24 * 3600
    assert cookie["path"] == "/" and cookie["samesite"] == "Lax" and "httponly" in cookie
    assert "secure" not in cookie  # the test server is plain http; production's is below
    for path in ("/", "/boards", "/recent", "/no/such/page"):
        assert theme_of(client.get(path)) == "dark", path
    choose(client, theme="light")
    assert theme_of(client.get("/")) == "light"


def test_auto_forgets_the_choice(client):
    choose(client, theme="dark")
    response = choose(client, theme="auto")
    assert response.status_code == 303
    assert theme_cookie(response)["max-age"] == "0"
    assert client.get_cookie("theme") is None
    assert theme_of(client.get("/")) is None


def test_htmx_gets_204_with_the_cookie(client):
    response = choose(client, htmx=True, theme="dark", next="/")
    assert response.status_code == 204
    assert response.data == b""
    assert theme_cookie(response)["theme"] == "dark"
    assert response.headers["Cache-Control"] == "private, no-store"


def test_production_keeps_the_choice_in_a_secure_cookie(app_factory):
    client = app_factory(SESSION_COOKIE_SECURE=True).test_client()
    page = soup(client.get("/", base_url="https://localhost"))
    token = page.select_one("form.theme-switch input[name=csrf_token]")["value"]
    response = client.post("/preferences", data={"csrf_token": token, "theme": "dark"},
                           base_url="https://localhost", headers={"Referer": "https://localhost/"})
    assert response.status_code == 303
    assert "secure" in theme_cookie(response)


@pytest.mark.parametrize("fields, message", [
    ({"theme": "purple"}, "There is no such theme."),
    ({"theme": ""}, "There is no such theme."),
    ({"next": "/"}, "Nothing was chosen."),
])
def test_anything_but_a_choice_is_refused(client, fields, message):
    response = choose(client, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert client.get_cookie("theme") is None


def test_a_choice_without_the_form_token_is_refused(client):
    response = choose(client, token=False, theme="dark")
    assert response.status_code == 400
    assert client.get_cookie("theme") is None


@pytest.mark.parametrize("value", ["purple", "dark onload=x", "", "DARK"])
def test_a_cookie_holding_anything_else_is_ignored(client, value):
    client.set_cookie("theme", value)
    assert theme_of(client.get("/")) is None


# --- Back to the page it came from, and only to this site ------------------------------------

@pytest.mark.parametrize("target", ["/", "/b/garden", "/b/garden?before=9", "/comments/12#comment-12",
                                    "/recent?after=%2F%2Fx", "/b/gärten"])
def test_back_to_a_page_of_this_site(client, target):
    response = choose(client, theme="dark", next=target)
    assert response.status_code == 303
    assert response.headers["Location"] in (target, "/b/g%C3%A4rten")


@pytest.mark.parametrize("target", [
    None, "", "//evil.example/", "https://evil.example/", "http://localhost/boards",
    "/\\evil.example", "\\\\evil.example", "/\t/evil.example", "/\n/evil.example",
    "javascript:alert(1)", "evil.example", "boards", "/x\x00", "/" + "a" * 2001,
])
def test_never_to_another_site(client, target):
    fields = {"theme": "dark", **({"next": target} if target is not None else {})}
    response = choose(client, **fields)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert client.get_cookie("theme").value == "dark"


def test_a_page_answering_a_post_comes_back_to_the_page_it_was_posted_from(client):
    # A refused post without JavaScript (422) is the board's page at POST /comments: the toggle
    # there comes back to the page the form was on, by the browser's Referer, never to /comments.
    def refused(**headers):
        response = client.post("/comments", data={"content": " ", "csrf_token": csrf_token(client)},
                               headers=headers)
        assert response.status_code == 422
        return soup(response).select_one("form.theme-switch input[name=next]")

    assert refused(Referer="http://localhost/?before=4")["value"] == "/?before=4"
    # Another site's Referer (or none) gives no `next`: the choice comes back to the board.
    assert refused(Referer="https://evil.example/?before=4") is None
    assert refused() is None


def test_same_site_by_itself():
    assert preferences.same_site("/b/x?y=1") == "/b/x?y=1"
    for bad in ("//x", "/\\x", "https://x", "x", "/\x7f", "", None):
        assert preferences.same_site(bad) is None


# --- An embedding site's theme ---------------------------------------------------------------

@pytest.fixture
def embedding(app_factory):
    return app_factory(BOARD_EMBED_ORIGINS=[SITE])


def embed_url(**extra):
    return "/embed?" + urlencode({"key": "/post/1", "origin": SITE, "title": "A post", **extra})


@pytest.mark.parametrize("given, written", [("dark", "dark"), ("light", "light"),
                                            ("purple", None), ("", None), (None, None)])
def test_an_embedding_site_passes_its_theme(embedding, given, written):
    client = embedding.test_client()
    response = client.get(embed_url(**({"theme": given} if given is not None else {})))
    assert response.status_code == 200
    assert theme_of(response) == written
    assert soup(response).select_one("form.theme-switch") is None  # no masthead, no toggle


def test_the_embedding_sites_theme_wins_over_the_readers_cookie(embedding):
    client = embedding.test_client()
    client.set_cookie("theme", "light")
    assert theme_of(client.get(embed_url(theme="dark"))) == "dark"
    assert theme_of(client.get(embed_url())) == "light"  # the site gave none: the reader's


def test_the_board_as_htmx_fragments_carries_no_toggle(app, client):
    ids = add_comments(app, 2)
    fragment = client.get(f"/comments?before={ids[-1]}", headers=HTMX).get_data(as_text=True)
    assert "theme-switch" not in fragment


# --- The palettes ----------------------------------------------------------------------------

STYLESHEET = (ROOT / "static" / "board.css").read_text(encoding="utf-8")

# Every pair of colours the stylesheet puts together, and the least contrast WCAG 2.2 AA asks of
# it: 4.5 for text (1.4.3), 3 for what is not text (1.4.11): field borders, focus rings (on the
# page's background, a card's and the masthead's) and the invalid field's border.
TEXT, GRAPHIC = 4.5, 3.0
PAIRS = [
    ("ink", "paper", TEXT), ("ink", "wash", TEXT), ("ink", "arrival", TEXT), ("ink", "ok-wash", TEXT),
    ("ink", "error-wash", TEXT),
    ("muted", "paper", TEXT), ("muted", "wash", TEXT), ("muted", "quiet", TEXT), ("muted", "arrival", TEXT),
    ("accent", "paper", TEXT), ("accent", "wash", TEXT), ("accent", "arrival", TEXT),
    ("accent-ink", "accent", TEXT),
    ("danger", "paper", TEXT), ("danger", "wash", TEXT), ("danger", "error-wash", TEXT),
    ("danger-ink", "danger", TEXT),
    ("state-visible", "paper", TEXT), ("state-visible", "wash", TEXT),
    ("state-hidden", "paper", TEXT), ("state-hidden", "wash", TEXT),
    ("masthead-ink", "masthead", TEXT),
    ("field-line", "paper", GRAPHIC), ("danger", "paper", GRAPHIC),
    ("accent", "wash", GRAPHIC), ("accent", "paper", GRAPHIC), ("masthead-ink", "masthead", GRAPHIC),
]
# The coloured initials: white letters on colours that are the same in both themes.
AVATARS = re.findall(r"\.avatar-\d \{ background: (#[0-9a-f]{6}); \}", STYLESHEET)


def declarations(block):
    return dict(re.findall(r"--([a-z-]+):\s*([^;]+);", block))


def palettes():
    light = declarations(re.search(r"^:root \{(.*?)^\}", STYLESHEET, re.S | re.M).group(1))
    chosen = declarations(re.search(r"^:root\[data-theme=dark\] \{(.*?)^\}", STYLESHEET,
                                    re.S | re.M).group(1))
    system = declarations(re.search(
        r"@media \(prefers-color-scheme: dark\) \{\s*:root:not\(\[data-theme=light\]\) \{(.*?)\}",
        STYLESHEET, re.S).group(1))
    return light, chosen, system


def luminance(colour):
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_dark_palette_is_the_same_chosen_or_by_the_system():
    light, chosen, system = palettes()
    assert chosen == system
    assert set(chosen) == set(light)  # every colour has its dark counterpart


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_pair_of_colours_meets_wcag_aa(theme):
    light, dark, _ = palettes()
    palette = light if theme == "light" else dark
    short = [f"{fg} on {bg}: {contrast(palette[fg], palette[bg]):.2f} < {least}"
             for fg, bg, least in PAIRS if contrast(palette[fg], palette[bg]) < least]
    assert not short
    assert len(AVATARS) == 8
    assert all(contrast("#ffffff", colour) >= TEXT for colour in AVATARS)


def test_every_colour_comes_from_the_palettes():
    """A colour written anywhere else would be the same in both themes, and unchecked above."""
    rest = re.sub(r"^:root \{.*?^\}|^:root\[data-theme=dark\] \{.*?^\}|"
                  r"@media \(prefers-color-scheme: dark\) \{\s*:root:not\(\[data-theme=light\]\) \{.*?\}\s*\}",
                  "", STYLESHEET, flags=re.S | re.M)
    rest = re.sub(r"\.avatar(-\d)? \{[^}]*\}", "", rest)  # the initials: white on fixed colours
    rest = re.sub(r"linear-gradient\(to bottom, #000 55%, transparent\)", "", rest)  # a mask
    assert re.findall(r"#[0-9a-fA-F]{3,8}\b|rgba?\(|hsla?\(", rest) == []
