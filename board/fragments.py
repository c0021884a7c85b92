"""Rendered HTML that each worker keeps and reuses, so that a page view does not render again what
it rendered before: a comment's HTML, kept by everything it shows (it changes only when the
comment does), and a board's page of threads, kept by the board's version (its row: newest id and
revision, title, state, ...), which every post, edit, hide or delete on the board changes in its
own transaction. Both are rendered for nobody in particular: what differs per person (the "you"
mark, the author's Edit and Delete) is left out as markers, and put in per request for this
person's own comments only (_you.html, _own_actions.html), so no one ever sees another person's
controls, and an edit or a hide is never served from an older copy."""

import re
import secrets
import threading
from collections import OrderedDict
from typing import NamedTuple

from flask import current_app, g, render_template, session
from markupsafe import Markup, escape

from . import authors, languages, preferences, reads, screening, security
from .forms import CommentForm
from .rules import normalise

# Where the per-person parts of a shared comment go: <!--you:ID--> and <!--own:ID-->.
MARKER = re.compile(r"<!--(you|own):(\d+)-->")
PARTS = {"you": "_you.html", "own": "_own_actions.html"}
# Per worker. A comment's HTML is about 1 KB, a page of threads about 100 KB, a page's shell 15 KB.
COMMENTS_KEPT = 5000
PAGES_KEPT = 128
SHELLS_KEPT = 128
# Where a page's shell leaves a value for each request to fill in: a name between this process's
# random word and a dash, which no text of the page can contain by chance.
SLOT = f"slot{secrets.token_hex(8)}"
SLOTS = re.compile(SLOT + r"-(\w+)-")


class Kept:
    """A small LRU map, safe for a worker's threads."""

    def __init__(self, size):
        self.size, self.entries, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def put(self, key, value):
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


class Owner(NamedTuple):
    """What the per-person parts need of a comment."""
    id: int
    author_key: str
    posted: object


class Shared(NamedTuple):
    """A rendered list for nobody in particular: text between markers, the markers as (part,
    comment id), and the owner of each comment that has one."""
    texts: tuple
    markers: tuple
    owners: dict

    def for_person(self):
        """The list as this browser sees it: its own comments' parts filled in, the others' gone."""
        person = authors.person()
        mine = {id for id, owner in self.owners.items() if owner.author_key == person}
        if not mine:
            return Markup("".join(self.texts))
        pieces = [self.texts[0]]
        for (part, comment_id), text in zip(self.markers, self.texts[1:]):
            if comment_id in mine:
                pieces.append(render_template(PARTS[part], comment=self.owners[comment_id]))
            pieces.append(text)
        return Markup("".join(pieces))


def share(html, rows):
    """Split a list rendered with markers (`shared`) into a Shared, owners from its `rows`."""
    pieces = MARKER.split(html)
    markers = tuple((part, int(comment_id)) for part, comment_id in zip(pieces[1::3], pieces[2::3]))
    owners = {row.id: Owner(row.id, row.author_key, row.posted) for row in rows if row.author_key}
    return Shared(tuple(pieces[0::3]), markers, owners)


def kept(name, size):
    found = current_app.extensions.get(name)
    if found is None:
        found = current_app.extensions.setdefault(name, Kept(size))
    return found


def comment_html(comment):
    """A comment's shared HTML (_comment.html with markers), rendered once per worker for what it
    shows: every field the partial reads is in the key, so any change is a new entry."""
    key = (comment.id, comment.author, comment.posted, comment.edited, comment.state,
           comment.parent_id, comment.thread_id, comment.replies, comment.html,
           comment.parent_author, languages.current())
    comments = kept("board_comments", COMMENTS_KEPT)
    html = comments.get(key)
    if html is None:
        html = Markup(current_app.jinja_env.get_template("_comment.html").render(
            comment=comment, shared=True))
        comments.put(key, html)
    return html


def poll_html(poll):
    """A poll's answer (_poll.html) for nobody in particular, the same for every tab that asks:
    the per-person parts stay as markers, which board.js fills from the comment it shows."""
    return Markup(render_template("_poll.html", poll=poll, shared=True))


def board_listing(board, before, limit):
    """A page of `board`'s threads (reads.page_before) without its rows, and its list
    (_comments.html) as a Shared, whose for_person() gives it as this person sees it. `board` is
    the board's row as the request read it (reads.board_alone), the page's key with the language:
    a page this worker rendered for the same version of the board is reused, else the page is
    read, rendered and kept. A board with no row yet (an Unsaved one) is read every time."""
    pages = kept("board_pages", PAGES_KEPT)
    key = (board.slug, before, limit, languages.current())
    found = pages.get((*key, board)) if board.id is not None else None
    if found is None:
        page = reads.page_before(board.slug, before, limit)
        rows = [*page.comments, *(reply for replies in page.replies.values() for reply in replies)]
        shared = share(render_template("_comments.html", page=page, before=before, shared=True),
                       rows)
        found = (page._replace(comments=[], replies={}), shared)
        if page.board is not None and page.board.id is not None:
            pages.put((*key, page.board), found)
    return found


def slot(name):
    return f"{SLOT}-{name}-"


class Shell(NamedTuple):
    """A page rendered for nobody in particular: text between slots, and the slots' names."""
    texts: tuple
    names: tuple

    def fill(self, values):
        pieces = [self.texts[0]]
        for name, text in zip(self.names, self.texts[1:]):
            pieces += (values[name], text)
        return "".join(pieces)


def board_shell(page, listing, before, limit, held):
    """The board's page (board.html) with a new comment form, the page almost everyone gets, from
    a shell rendered once per worker for the board's version (its row), the page, the language,
    the theme and the embedding site, whose slots take this request's own values: its CSRF token,
    the form's remembered name and time stamp, its path, the server's time and the list as this
    person sees it. None when the page has more than that (comments held for this person, a
    message to flash) or the board no row yet: it is rendered."""
    if held or page.board is None or page.board.id is None or session.get("_flashes"):
        return None
    shells = kept("board_shells", SHELLS_KEPT)
    key = (page.board, before, limit, languages.current(), preferences.theme(),
           g.get("embed_origin"))
    shell = shells.get(key)
    if shell is None:
        pieces = SLOTS.split(render_template(
            "board.html", form=CommentForm(formdata=None, author=slot("author")), page=page,
            before=before, preview=None, held=[], listing=Markup(slot("listing")),
            csrf_token=lambda: slot("csrf"), form_stamp=lambda: slot("stamp"),
            return_path=lambda: slot("path"), server_time=lambda: slot("time"),
            get_flashed_messages=lambda **_: []))
        shell = Shell(tuple(pieces[0::2]), tuple(pieces[1::2]))
        shells.put(key, shell)
    return shell.fill({
        "csrf": escape(security.csrf_token()), "author": escape(normalise(authors.remembered_name()) or ""),
        "stamp": escape(screening.form_stamp()), "path": escape(preferences.here()),
        "time": escape(current_app.jinja_env.globals["server_time"]()),
        "listing": listing.for_person()})
