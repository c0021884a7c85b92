"""Comments written as HTML (Disqus's <message>, WordPress's <wp:comment_content>, Remark42's
rendered text) as the Markdown-ish plain text the board stores: links become Markdown links,
paragraphs and <br> line breaks, quotes `>` quotes, list items `- ` lines and <pre> a code block;
every other tag is dropped with its text kept (script and style with theirs), entities are
unescaped, and whatever Markdown would read as markup in the text itself is escaped, so that a
comment shows the words it showed before (`2 * 3 * 4`, `__init__`)."""

import re
from html.parser import HTMLParser

BLOCKS = {"p", "div", "ul", "ol", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
          "section", "article", "figure", "dl", "dt", "dd"}
DROPPED = {"script", "style", "template"}  # their text is not text a person wrote
LINKABLE = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)
# Bare URLs stay as they are: linkify finds them, and an escape inside would change the link.
URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# What CommonMark would read as inline markup, and `&name;` as an entity to decode.
SPECIAL = re.compile(r"[\\`*_\[\]]|&(?=#?\w+;)")
URL_UNSAFE = re.compile(r"[\s()<>]")


def escape(text):
    """Plain text as Markdown source that shows exactly that text."""
    pieces, last = [], 0
    for url in URL.finditer(text):
        pieces.append(SPECIAL.sub(r"\\\g<0>", text[last:url.start()]))
        pieces.append(url[0])
        last = url.end()
    pieces.append(SPECIAL.sub(r"\\\g<0>", text[last:]))
    return "".join(pieces)


def link(text, href):
    """A Markdown link, or the bare URL when the text is the URL itself (or Disqus's shortened
    form of it, `http://example.com/a/...`), or the text alone when the target is no web or
    mail address (a relative or javascript: link)."""
    text, href = " ".join(text.split()), href.strip()
    if not LINKABLE.match(href):
        return escape(text)
    if not text or text == href or href.startswith(text.removesuffix("...").removesuffix("…")):
        return URL_UNSAFE.sub(lambda match: f"%{ord(match[0]):02X}", href)
    target = URL_UNSAFE.sub(lambda match: f"%{ord(match[0]):02X}", href)
    return f"[{escape(text)}]({target})"


class Converter(HTMLParser):
    def __init__(self, newlines):
        super().__init__(convert_charrefs=True)
        self.newlines = newlines  # WordPress: a line break in the text is one; Disqus: a space
        self.quotes = [[]]  # the text so far, one list of pieces per open <blockquote>
        self.anchor = None  # (href, raw text) of the open <a>
        self.dropping = 0
        self.code = None  # the text of the open <pre>, kept as it is

    @property
    def out(self):
        return self.quotes[-1] if self.code is None else self.code

    def block(self):
        self.out.append("\n\n")

    def handle_starttag(self, tag, attrs):
        if tag in DROPPED:
            self.dropping += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in BLOCKS:
            self.block()
        elif tag == "blockquote":
            self.quotes.append([])
        elif tag == "pre" and self.code is None:
            self.code = []
        elif tag == "a" and self.anchor is None and self.code is None:
            self.anchor = (dict(attrs).get("href") or "", [])

    def handle_startendtag(self, tag, attrs):
        if tag not in DROPPED:  # <script/> would never be closed
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in DROPPED:
            self.dropping = max(0, self.dropping - 1)
        elif tag in BLOCKS:
            self.block()
        elif tag == "blockquote" and len(self.quotes) > 1:
            inner = join(self.quotes.pop())
            self.out.append(Verbatim("\n".join(f"> {line}".rstrip() for line in inner.split("\n"))))
        elif tag == "pre" and self.code is not None:
            code, self.code = "".join(self.code).strip("\n"), None
            # A fence longer than any run of backticks inside, so the block cannot end early.
            fence = "`" * max(3, 1 + max(map(len, re.findall("`+", code)), default=0))
            self.out.append(Verbatim(f"{fence}\n{code}\n{fence}"))
        elif tag == "a" and self.anchor is not None:
            href, text = self.anchor
            self.anchor = None
            self.out.append(link("".join(text), href))

    def handle_data(self, data):
        if self.dropping:
            return
        if self.code is not None:
            self.code.append(data)
            return
        if self.anchor is not None:
            self.anchor[1].append(data)
            return
        if self.newlines:
            data = re.sub(r"[ \t\f\v]+", " ", data)
        else:
            data = re.sub(r"\s+", " ", data)
        self.out.append(escape(data))

    def result(self):
        self.close()
        if self.code is not None:  # a <pre> never closed
            self.handle_endtag("pre")
        if self.anchor is not None:  # an <a> never closed: keep its text
            self.handle_endtag("a")
        while len(self.quotes) > 1:
            self.handle_endtag("blockquote")
        return join(self.out)


class Verbatim(str):
    """A finished block (code, a quote): a paragraph of its own, its spaces kept."""


def tidy(text):
    """No spaces at the ends of lines (nor at their starts: four would make a code block), at
    most one blank line in a row, none at the ends."""
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def join(pieces):
    """The pieces as text: the text between finished blocks tidied, each block a paragraph."""
    parts, text = [], []
    for piece in pieces:
        if isinstance(piece, Verbatim):
            parts += [tidy("".join(text)), piece]
            text = []
        else:
            text.append(piece)
    parts.append(tidy("".join(text)))
    return "\n\n".join(part for part in parts if part)


def from_html(html, newlines=False):
    """The Markdown-ish text of an HTML comment. `newlines`: line breaks in the source are line
    breaks (WordPress stores comments so, and adds <p> and <br> only when it shows them)."""
    converter = Converter(newlines)
    converter.feed(html.replace("\r\n", "\n").replace("\r", "\n"))
    return converter.result()
