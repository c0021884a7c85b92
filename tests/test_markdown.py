"""Comments in Markdown (board/markup.py): the subset renders as it should, everything outside it
shows as the text that was written, and whatever arrives (XSS payloads, arbitrary text, 4,096
characters built to be slow or deep) the HTML holds only the allowed tags and attributes, and
every link is an http, https or mailto URL with rel="nofollow ugc noopener".

What is allowed is written out here, not imported from board.markup: a test that asked the
module what is safe could never disagree with it. No app and no database: render is a function
of its text. No timing assertions either (machines are noisy): `python -m bench.markup` times it.
"""

import re

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from board import markup
from board.markup import render
from board.rules import CONTENT_MAX

pytestmark = pytest.mark.one_database

TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
ATTRIBUTES = {"a": {"href", "rel"}, "ol": {"start"}}
REL = "nofollow ugc noopener"
# After the scheme, a browser goes where the URL says: only these may start an href.
SAFE_HREF = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)
DANGEROUS = ("javascript", "vbscript", "data:")
# Tags inside tags, at most: markdown-it's maxNesting (20 in board/markup.py) bounds blocks (a list
# item opens with its list: one more) and, separately, inline tags within them.
NESTING_MAX = 20 + 1 + 20
A = f'rel="{REL}"'


def depth(tag):
    return max((1 + depth(child) for child in tag.find_all(True, recursive=False)), default=0)


def safe(html):
    """The parsed HTML, after checking every tag, attribute and link in it."""
    # Every `<` that starts a tag, as a browser would read it, is one of ours: escaped text
    # reads `&lt;`, so a tag the parser below missed would still show here.
    for name in re.findall(r"<\s*/?\s*([^\s>/]*)", html):
        assert name in TAGS, html
    page = BeautifulSoup(html, "html.parser")
    for tag in page.find_all(True):
        assert tag.name in TAGS, html
        assert set(tag.attrs) <= ATTRIBUTES.get(tag.name, set()), html
        if tag.name == "a":
            # No href at all is inert: nh3 drops a URL it cannot parse (see below).
            assert SAFE_HREF.match(tag.get("href", "http://")), html
            assert " ".join(tag.get_attribute_list("rel")) == REL, html
        if tag.name == "ol" and tag.has_attr("start"):
            assert tag["start"].isdigit(), html
    assert depth(page) <= NESTING_MAX, html
    return page


def hrefs(page):
    return [link["href"] for link in page.find_all("a", href=True)]


# --- The subset -------------------------------------------------------------------------------

SUBSET = {
    "paragraph": ("Hello", "<p>Hello</p>"),
    "paragraphs": ("one\n\ntwo", "<p>one</p>\n<p>two</p>"),
    "line break": ("one\ntwo", "<p>one<br>\ntwo</p>"),
    "emphasis": ("*a* _b_", "<p><em>a</em> <em>b</em></p>"),
    "strong": ("**a** __b__", "<p><strong>a</strong> <strong>b</strong></p>"),
    "inline code": ("`x < y`", "<p><code>x &lt; y</code></p>"),
    "fenced code": ("```python\nif a < b:\n    pass\n```",
                    "<pre><code>if a &lt; b:\n    pass\n</code></pre>"),
    "indented code": ("    <b>x</b>", "<pre><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>"),
    "block quote": ("> quoted\n> more", "<blockquote>\n<p>quoted<br>\nmore</p>\n</blockquote>"),
    "nested quote": ("> > deep", "<blockquote>\n<blockquote>\n<p>deep</p>\n</blockquote>\n"
                                 "</blockquote>"),
    "unordered list": ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
    "ordered list": ("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>"),
    "ordered list from 3": ("3. a\n4. b", '<ol start="3">\n<li>a</li>\n<li>b</li>\n</ol>'),
    "nested list": ("- a\n  - b", "<ul>\n<li>a\n<ul>\n<li>b</li>\n</ul>\n</li>\n</ul>"),
    "link": ("[ok](https://example.com/a?b=c)",
             f'<p><a href="https://example.com/a?b=c" {A}>ok</a></p>'),
    "link title dropped": ('[ok](http://example.com "Title")',
                           f'<p><a href="http://example.com" {A}>ok</a></p>'),
    "reference link": ("[ok][1]\n\n[1]: http://example.com",
                       f'<p><a href="http://example.com" {A}>ok</a></p>'),
    "autolink": ("<https://example.com>",
                 f'<p><a href="https://example.com" {A}>https://example.com</a></p>'),
    "bare URL": ("see https://example.com/x.",
                 f'<p>see <a href="https://example.com/x" {A}>https://example.com/x</a>.</p>'),
    "bare www": ("see www.example.com",
                 f'<p>see <a href="http://www.example.com" {A}>www.example.com</a></p>'),
    "bare URL keeps underscores": (
        "https://example.com/__init__.py",
        f'<p><a href="https://example.com/__init__.py" {A}>https://example.com/__init__.py</a>'
        "</p>"),
    "mailto link": ("[mail](mailto:a@example.com)",
                    f'<p><a href="mailto:a@example.com" {A}>mail</a></p>'),
    "bare email": ("a@example.com",
                   f'<p><a href="mailto:a@example.com" {A}>a@example.com</a></p>'),
    "mailto autolink": ("<mailto:a@example.com>",
                        f'<p><a href="mailto:a@example.com" {A}>mailto:a@example.com</a></p>'),
    "escaped": (r"\*not\* 1 &lt; 2 &amp; 3", "<p>*not* 1 &lt; 2 &amp; 3</p>"),
    "empty": ("", ""),
}


@pytest.mark.parametrize("source, expected", SUBSET.values(), ids=SUBSET.keys())
def test_the_subset_renders(source, expected):
    assert render(source) == expected
    safe(expected)


# Outside the subset: shown as the text that was written.
AS_TEXT = {
    "heading": ("# Title", "<p># Title</p>"),
    "heading 6": ("###### Small", "<p>###### Small</p>"),
    "setext heading": ("Title\n=====", "<p>Title<br>\n=====</p>"),
    "setext heading 2": ("Title\n-----", "<p>Title<br>\n-----</p>"),
    "horizontal rule": ("---", "<p>---</p>"),
    "horizontal rule *": ("***", "<p>***</p>"),
    "horizontal rule _": ("___", "<p>___</p>"),
    "table": ("| a | b |\n|---|---|\n| 1 | 2 |",
              "<p>| a | b |<br>\n|---|---|<br>\n| 1 | 2 |</p>"),
    "raw inline HTML": ("<b>bold</b>", "<p>&lt;b&gt;bold&lt;/b&gt;</p>"),
    "raw block HTML": ("<div>\nx\n</div>", "<p>&lt;div&gt;<br>\nx<br>\n&lt;/div&gt;</p>"),
    "HTML comment": ("<!-- x -->", "<p>&lt;!-- x --&gt;</p>"),
    "strikethrough": ("~~no~~", "<p>~~no~~</p>"),
    "ftp URL": ("ftp://example.com/f", "<p>ftp://example.com/f</p>"),
    "relative link": ("[a](/comments/1)", "<p>[a](/comments/1)</p>"),
    "schemeless link": ("[a](comments/1)", "<p>[a](comments/1)</p>"),
}


@pytest.mark.parametrize("source, expected", AS_TEXT.values(), ids=AS_TEXT.keys())
def test_everything_else_shows_as_text(source, expected):
    assert render(source) == expected
    safe(expected)


@pytest.mark.parametrize("source, href", [
    ("![cat](http://example.com/cat.png)", "http://example.com/cat.png"),
    ("a ![cat](http://x.example/c.png 'c') b", "http://x.example/c.png"),
    ("![cat][1]\n\n[1]: http://example.com/cat.png", "http://example.com/cat.png"),
])
def test_an_image_is_a_link_to_it_never_an_image(source, href):
    page = safe(render(source))
    assert page.find("img") is None
    assert hrefs(page) == [href] and page.a.get_text() == "cat"
    assert page.get_text().replace("cat", "", 1).strip(" ab") == "!"


def test_an_image_inside_a_link_is_the_links_text():
    page = safe(render("[![x](http://img.example/i.png)](http://ok.example)"))
    assert page.find("img") is None
    assert hrefs(page)[-1] == "http://ok.example" or hrefs(page)[0] == "http://ok.example"


def test_real_nesting_is_kept():
    """Ten quotes deep and five lists deep, with text after: all of it shows."""
    quotes = safe(render("> " * 10 + "deep\n\nafter"))
    assert len(quotes.find_all("blockquote")) == 10
    assert quotes.get_text().split() == ["deep", "after"]
    lists = safe(render("".join("  " * i + f"- item{i}\n" for i in range(5)) + "\nafter"))
    assert len(lists.find_all("ul")) == 5
    assert lists.get_text().split() == ["item0", "item1", "item2", "item3", "item4", "after"]


# --- XSS --------------------------------------------------------------------------------------

# Each must come out as text: no link at all.
NOT_LINKS = [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](java&#09;script:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](java&#10;script:alert(1))",
    "[x](java&Tab;script:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](&#0000106;&#0000097;vascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x](javascript%3Aalert(1))",
    "[x]( javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](< javascript:alert(1)>)",
    "[x](\\javascript:alert(1))",
    "[x](java\\script:alert(1))",
    "[x](&#x20;javascript:alert(1))",
    "[x](\u200bjavascript:alert(1))",
    "[x](\ufeffjavascript:alert(1))",
    "[x](javascript://example.com/%0aalert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](DATA:text/html,<script>alert(1)</script>)",
    "[x](data:image/png;base64,iVBORw0KGgo=)",
    "[x](vbscript:msgbox(1))",
    "[x](VBScript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "[x](ftp://example.com)",
    "[x](/relative)",
    "[x](relative/path)",
    "[x](../up)",
    "[x](?query)",
    "[x](#fragment)",
    "[x](//evil.example)",
    "[x](\\\\evil.example)",
    "[x](http:evil.example)",
    "[x](https:/evil.example)",
    "[x]: javascript:alert(1)\n\n[x]",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "[x][r]\n\n[r]: <data:text/html,x>",
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "<file:///etc/passwd>",
    "javascript:alert(1)",
    "javascript://example.com/%0Aalert(1)",
    "//evil.example/x",
    "data:text/html,<script>alert(1)</script>",
    "<a href=\"javascript:alert(1)\">x</a>",
]
# Each is safe, but may hold a good link.
PAYLOADS = NOT_LINKS + [
    "<a href='http://ok.example'>x</a>",  # the tag is text; its URL, a bare URL, is linked
    "[a[b](javascript:x)](http://ok.example)",
    "[a](http://ok.example)[b](javascript:x)",
    "[[x](javascript:x)](javascript:y)",
    "[x](http://ok.example/javascript:alert(1)) is not javascript",
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<style>*{background:url(javascript:alert(1))}</style>",
    "<details open ontoggle=alert(1)>",
    "<p style=\"x:expression(alert(1))\">x</p>",
    "<!--<script>alert(1)//-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "http://example.com/\"onmouseover=\"alert(1)",
    "http://example.com/'onmouseover='alert(1)",
    "[x](http://example.com/\"onmouseover=\"alert(1))",
    "[x](http://example.com/'onmouseover='alert(1)')",
    "[x](<http://example.com/\" onmouseover=\"alert(1)>)",
    "[x](http://example.com \"title\" onmouseover=alert(1))",
    "[x](http://example.com \"t\\\" onmouseover=alert(1)\")",
    "<http://example.com/\"><script>alert(1)</script>>",
    "www.example.com/\"><script>alert(1)</script>",
    "a@example.com\"><script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&amp;lt;script&amp;gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "    <script>alert(1)</script>",
    "> <script>alert(1)</script>",
    "- <img src=x onerror=alert(1)>",
    "*<script>*alert(1)*</script>*",
    "[<script>alert(1)</script>](http://ok.example)",
    "[x](http://ok.example)<!-- --><script>alert(1)</script>",
    "\x00<script>alert(1)</script>",
    "<scr\x00ipt>alert(1)</script>",
    "\ud800<script>",
]


@pytest.mark.parametrize("source", NOT_LINKS)
def test_a_dangerous_or_relative_url_is_no_link(source):
    page = safe(render(source))
    assert page.find("a") is None, page


@pytest.mark.parametrize("source", PAYLOADS)
def test_xss_payloads_stay_text(source):
    page = safe(render(source))
    for href in hrefs(page):
        if "ok.example" not in href:
            assert not any(word in href.lower() for word in DANGEROUS), href


def test_raw_html_is_shown_not_run():
    page = safe(render('<script>alert(1)</script> <img src=x onerror="alert(1)">'))
    assert page.p.get_text() == '<script>alert(1)</script> <img src=x onerror="alert(1)">'


def test_nested_brackets_link_only_the_good_url():
    page = safe(render("[a[b](javascript:x)](http://ok.example)"))
    assert hrefs(page) == ["http://ok.example"]
    assert page.a.get_text() == "a[b](javascript:x)"


def test_quotes_in_a_url_stay_inside_the_href():
    page = safe(render('[x](http://example.com/"onmouseover="alert(1))'))
    assert hrefs(page) == ["http://example.com/%22onmouseover=%22alert(1)"]


# --- Anything at all --------------------------------------------------------------------------

# Pieces that mean something to Markdown, HTML or a browser's URL parser, and a little text.
FRAGMENTS = ["*", "**", "_", "__", "`", "```", "~", "[", "]", "(", ")", "](", "![", "<", ">",
             "&", "&#", ";", "#", "-", "+", "=", "|", "!", "\\", "\"", "'", ":", "/", "//", "@",
             ".", " ", "  ", "\t", "\n", "\n\n", "    ", "1.", "2)", "> ", "- ", "* ",
             "a", "b", "x1", "http://", "https://", "mailto:", "www.", ".com", "example.com",
             "javascript:", "JaVaScRiPt:", "vbscript:", "data:", "file:", "%6A", "&#106;",
             "&#x09;", "&colon;", "&lt;", "&amp;", "<script>", "</script>", "<img src=x ",
             "onerror=", "alert(1)", "<a href=", "\x00", "\u200b", "\ufeff"]
MARKDOWN_CHARS = "*_`~[]()!<>&#;-+=|\\\"':/@. \t\n1aA"
SOURCES = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), max_size=120).map("".join),
    st.text(alphabet=MARKDOWN_CHARS, max_size=400),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=200),  # any str at all
)


@settings(max_examples=300, deadline=None)
@given(SOURCES)
def test_anything_renders_safely(source):
    markup.md.render(source)  # the parser itself, not render's plain-text fallback
    page = safe(render(source))
    for href in hrefs(page):
        # The scheme is the text before the first colon: the safe ones only.
        assert href.split(":", 1)[0].lower() in {"http", "https", "mailto"}, href


def test_links_without_a_scheme_are_guessed_in_words_of_up_to_128_characters():
    """Longer words make linkify-it's guess slow (board/markup.py); links with a scheme are
    found in any word."""
    page = safe(render("(" * 100 + "www.example.com " + "(" * 100 + "a@example.com"))
    assert hrefs(page) == ["http://www.example.com", "mailto:a@example.com"]
    page = safe(render("(" * 120 + "www.example.com " + "(" * 120 + "a@example.com "
                       + "(" * 120 + "https://example.com/a"))
    assert hrefs(page) == ["https://example.com/a"]


def test_a_url_in_a_link_label_after_a_scheme_like_word():
    """markdown-it-py 4.3.0's own linkify rule raises RuntimeError here (board/markup.py)."""
    source = "ple.comm[http://p://"
    assert markup.md.render(source) == '<p>ple.comm[<a href="http://p">http://p</a>://</p>\n'
    assert render(source) == f'<p>ple.comm[<a href="http://p" {A}>http://p</a>://</p>'


def test_a_url_nh3_cannot_parse_is_no_link():
    """markdown-it links the host U+FFFD (as punycode, xn--zn7c); nh3 finds it no valid host
    and drops the href: the second line of defence at work, and the text still shows."""
    page = safe(render("http://\ufffd"))
    assert str(page.p) == f'<p><a {A}>http://\ufffd</a></p>'


def test_a_parser_failure_shows_the_text(monkeypatch, caplog):
    def broken(text):
        raise RuntimeError("a bug in markdown-it")

    monkeypatch.setattr(markup.md, "render", broken)
    assert render("*a* <b>\n[x](javascript:y)") == (
        "<p>*a* &lt;b&gt;<br>\n[x](javascript:y)</p>")
    assert "Markdown failed" in caplog.text


# --- Pathological inputs: the longest comment, built to be slow, deep or confusing -------------

def longest(piece):
    return (piece * (CONTENT_MAX // len(piece) + 1))[:CONTENT_MAX]


PATHOLOGICAL = {
    "emphasis bomb *a": longest("*a"),
    "emphasis bomb **a": longest("**a"),
    "mixed delimiters": longest("*_"),
    "underscores": longest("_"),
    "underscore words": longest("_a"),
    "stars": longest("*"),
    "open brackets": longest("["),
    "close brackets": longest("]"),
    "empty links": longest("[]("),
    "unclosed links": longest("[a]("),
    "images": longest("!["),
    "nested links": ("[a" * 1024 + "](http://x.example)" * 200)[:CONTENT_MAX],
    "quotes": longest("> "),
    "quote marks": longest(">"),
    "nested list markers": longest("- "),
    "nested ordered lists": longest("1. "),
    "indented lists": longest("".join("  " * i + "- x\n" for i in range(40))),
    "quotes and lists": longest("> - "),
    "backticks": longest("`"),
    "backtick runs": longest("`a``"),
    "fences": longest("```\n"),
    "less-than": longest("<"),
    "autolink starts": longest("<http://"),
    "ampersands": longest("&"),
    "entity starts": longest("&#"),
    "backslashes": longest("\\"),
    "line breaks": longest("a\n"),
    "schemes": longest("https://["),
    "bare URLs": longest("http://a.example "),
    "bare emails": longest("a@b.example "),
    "www": longest("www."),
    "www and symbols": longest("www.|"),
    "domains and symbols": longest("a.b$"),
    "www in words of 128": longest(("www.=" * 26)[:128] + " "),
    "one long URL": "http://" + "a" * (CONTENT_MAX - 7),
    "reference definitions": longest("[a]: http://x.example\n"),
}


@pytest.mark.parametrize("source", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_input_renders_safely(source):
    assert len(source) == CONTENT_MAX
    safe(render(source))


def test_text_comes_back_whole():
    """Characters with a meaning in HTML show as themselves, all 4,096 of them."""
    for piece in "<", "&", "<&>\"'":
        assert safe(render(longest(piece))).p.get_text() == longest(piece)
