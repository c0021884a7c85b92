"""Comments in Markdown, made safe: `render(source)` turns a comment's text into HTML that can go
into a page as it is. A small subset only: paragraphs and line breaks, emphasis, strong, code
(inline, fenced, indented), block quotes, lists and links (bare URLs too). Everything else shows
as the text that was written: raw HTML, headings, rules, tables; an image is a link to it (`!`
and the link), never an <img>.

Two lines of defence. markdown-it-py parses (never a hand-written parser) with the other rules
off and makes a link only of an http, https or mailto URL; nh3 then cleans its output against an
allowlist of exactly the tags the subset can produce, so a bug in either alone lets nothing
through."""

import html
import logging
import re
import string

import nh3
from linkify_it import LinkifyIt
from markdown_it import MarkdownIt

# Deep enough for any real comment (19 quotes, 9 lists in lists); a 4,096-character pile of `>`
# or `- ` stops here, so rendering stays fast and never recurses far. markdown-it drops whatever
# is nested deeper (in a list, the rest of the comment too): the stored text keeps it all.
MAX_NESTING = 20

TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
# "*": nothing on every tag; without it nh3 (ammonia) keeps `lang` and `title` everywhere.
ATTRIBUTES = {"*": set(), "a": {"href"}, "ol": {"start"}}
SCHEMES = {"http", "https", "mailto"}
REL = "nofollow ugc noopener"

# markdown-it asks this of every link after decoding entities and escapes and percent-encoding
# the rest, so `&#106;avascript:`, `java&#09;script:` or `%6Aavascript:` arrive as what a browser
# would see. Relative and protocol-relative URLs (`/x`, `//evil`) are no links either: a comment
# links only to somewhere it names in full.
LINKABLE = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)
SCHEME_CHARS = string.ascii_letters + string.digits + ".+-"
# Longest word (text between whitespace) in which linkify-it guesses links that have no scheme.
FUZZY_MAX = 128
WORD = re.compile(r"\S+")
# Lone surrogates cannot cross into nh3 (Rust strings are UTF-8). rules.validate refuses them,
# but render takes any str.
SURROGATES = re.compile("[\ud800-\udfff]")


class Linkify(LinkifyIt):
    """linkify-it, a word at a time, guessing links without a scheme (www.example.com,
    a@example.com) only in words of at most FUZZY_MAX characters. Its regex for those takes time
    quadratic in the length of a word like `www.|www.|...`: a second for 4,096 characters. A
    link never holds whitespace, so a word at a time finds the same links; a longer word still
    gets its links that have a scheme."""

    exact = LinkifyIt(options={"fuzzy_link": False, "fuzzy_email": False})

    def test(self, text):
        # markdown-it asks test() then match() of the same text: a quick maybe here, so that the
        # work is done once (a maybe that match() finds nothing in changes nothing).
        return self.pretest(text)

    def match(self, text):
        links = []
        for word in WORD.finditer(text):
            linkify = super() if len(word[0]) <= FUZZY_MAX else self.exact
            for link in linkify.match(word[0]) or ():
                link.index += word.start()
                link.last_index += word.start()
                links.append(link)
        return links or None


md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": True,
                               "maxNesting": MAX_NESTING})
md.enable("linkify")
# No image rule: `![x](url)` is `!` and a link. Writing it out as text instead would parse each
# `![` twice (as an image, then as a link): 60 ms for 4,096 characters of `![` against 30.
md.disable(["image", "heading", "lheading", "hr", "table", "html_block", "html_inline"])
md.validateLink = lambda url: LINKABLE.match(url) is not None
md.linkify = Linkify()


def url_as_link(state, silent):
    """markdown-it-py's inline linkify rule (`https://x.org/__init__.py` linked whole, before
    `__` can become strong), in time linear in the comment. The original finds the scheme with
    a regex search over all the text so far at every `://`: 4,096 characters of `https://[`
    took 120 ms, twice as long again took four times that. The scheme here is the run of scheme
    characters before the `://`, as there, and it must be the text right before it: while
    markdown-it looks for the end of a link's label (silent) the pending text is from before the
    label, and the original raised RuntimeError on `ple.comm[http://p://`."""
    if state.linkLevel > 0 or not state.src.startswith("://", state.pos):
        return False
    scheme = state.pending[len(state.pending.rstrip(SCHEME_CHARS)):]
    if not scheme[:1].isalpha() or not state.src.endswith(scheme, 0, state.pos):
        return False
    link = md.linkify.match_at_start(state.src[state.pos - len(scheme):])
    if not link:
        return False
    url = link.url.rstrip("*")  # a `*` right after a URL is emphasis
    href = md.normalizeLink(url)
    if not md.validateLink(href):
        return False
    if not silent:
        state.pending = state.pending[:-len(scheme)]
        state.push("link_open", "a", 1).attrs = {"href": href}
        state.push("text", "", 0).content = md.normalizeLinkText(url)
        state.push("link_close", "a", -1)
    state.pos += len(url) - len(scheme)
    return True


md.inline.ruler.at("linkify", url_as_link)
cleaner = nh3.Cleaner(tags=TAGS, attributes=ATTRIBUTES, url_schemes=SCHEMES, link_rel=REL,
                      url_relative="deny")


def render(source: str) -> str:
    """Sanitized HTML for a comment's Markdown `source`; never raises for a str."""
    text = SURROGATES.sub("\ufffd", source)
    try:
        markup = md.render(text)
    except Exception:  # a parser bug must not take the page down: show the text as it was written
        logging.getLogger(__name__).exception("Markdown failed; comment shown as plain text")
        markup = "<p>" + html.escape(text).replace("\n", "<br>\n") + "</p>\n"
    return cleaner.clean(markup).rstrip("\n")  # the block's own line end, not content
