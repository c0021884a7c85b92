"""What every importer shares: the Item each source's reader yields, and the Store that adds
items to the board in ONE transaction, in batches of Core inserts.

A reader knows its format; the store knows the board. For each item it checks the text and the
name by the board's rules (rules.validate, as the JSON Lines import does), skips what was
imported before (the `imports` table remembers which comment each source's item became), puts
a thread's first comment on the board of its page (boards.for_key) and a reply in its parent's
thread, one level deep as the board keeps threads (a reply to a reply keeps its parent and joins
the thread's first comment). A reply may come before its parent: it waits, in memory, until the
parent is stored. Whatever cannot be stored is skipped and counted with its reason.
"""

from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import NamedTuple
from urllib.parse import urlsplit

import sqlalchemy as sa

from .. import boards, markup
from ..extensions import db
from ..models import (BOARDS, COMMENT_IDS, IMPORTS, TABLE, recount_boards, recount_replies,
                      revise_boards, take)
from ..rules import DELETED, key_problem, validate
from ..transfer import BATCH, EARLIEST, batches

SOURCE_ID_MAX = 191  # the imports table's column
# A comment deleted in the old system often kept its row but lost its text (Isso blanks it, so
# do Disqus and Remark42): the board keeps the row, so its replies keep their thread, with this
# text, which no page shows (a deleted comment shows as removed).
REMOVED_TEXT = "(removed before the import)"
EXAMPLES = 3  # where each reason for a skip happened, for the summary


class BadFile(Exception):
    """The file cannot be read at all (not the format, entities in XML, broken XML): nothing is
    imported."""


class Item(NamedTuple):
    """One comment from another system."""
    source_id: str
    where: str  # how the summary names it: "comment 12", "post 299619020", "line 7"
    page: str | None  # the page key (a URL path) of its board; a reply joins its parent's
    title: str | None  # the page's title, for a new board
    parent: str | None  # the source id of the comment it answers
    author: str | None
    content: str
    posted: datetime
    edited: datetime | None
    state: str


class Skipped(NamedTuple):
    """An item (or a part of the file) that will not be stored, and why."""
    where: str
    reason: str
    source_id: str | None = None


class Placed(NamedTuple):
    """A stored comment, as its replies need it."""
    id: int | None  # None: imported once, purged from the board since
    thread_id: int | None
    board_id: int | None


class Summary:
    def __init__(self):
        self.added = 0
        self.boards = set()
        self.new_boards = 0
        self.skipped = Counter()
        self.examples = defaultdict(list)

    def skip(self, reason, where):
        self.skipped[reason] += 1
        if len(self.examples[reason]) < EXAMPLES:
            self.examples[reason].append(where)

    def lines(self):
        yield (f"added {plural(self.added, 'comment')} on {plural(len(self.boards), 'board')} "
               f"({plural(self.new_boards, 'new board')}); skipped {sum(self.skipped.values())}"
               + (":" if self.skipped else ""))
        for reason, count in self.skipped.most_common():
            more = ", ..." if count > len(self.examples[reason]) else ""
            yield f"  {count} {reason} ({', '.join(self.examples[reason])}{more})"


def plural(count, noun):
    return f"{count} {noun}{'' if count == 1 else 's'}"


def page_key(address):
    """The board key of a page: the path of its URL, with its query (a site whose pages are
    /?p=12 and /?p=13 has two pages, not one), or the address itself when it is a path."""
    address = (address or "").strip()
    parts = urlsplit(address)
    if parts.scheme or parts.netloc:
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return address or None


class Counted:
    """A binary file that tells `on_progress` how many bytes were read, a megabyte at a time
    (a progress bar redrawn for every line would cost more than the line), and at its end."""

    STEP = 1 << 20

    def __init__(self, file, on_progress):
        self.file, self.on_progress, self.pending = file, on_progress, 0

    def counted(self, data):
        self.pending += len(data)
        if self.pending >= self.STEP or not data:
            self.on_progress(self.pending)
            self.pending = 0
        return data

    def read(self, size=-1):
        return self.counted(self.file.read(size))

    def readline(self, size=-1):
        return self.counted(self.file.readline(size))


def utc(moment):
    return moment.astimezone(timezone.utc) if moment is not None else None


def problem(item):
    """Why `item` cannot be stored as it is, or None."""
    if len(item.source_id) > SOURCE_ID_MAX:
        return f"its id is longer than {SOURCE_ID_MAX} characters"
    if item.posted < EARLIEST:  # MySQL's DATETIME starts at the year 1000
        return "it was posted before the year 1000"
    problems = validate(item.content, item.author, posting=False)
    for field, name in (("content", "text"), ("author", "name")):
        if field in problems:
            return f"its {name} was refused: {problems[field].rstrip('.')}"
    return None


def cleaned(item):
    """The item as the board stores it: line breaks as "\n" (as rules.normalise makes a form's),
    no spaces at the ends of the text, the name or the ids, an empty name as no name, times in
    UTC; a deleted comment's lost text replaced."""
    content = (item.content or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not content and item.state == DELETED:
        content = REMOVED_TEXT
    return item._replace(content=content, author=(item.author or "").strip() or None,
                         source_id=item.source_id.strip(),
                         parent=(item.parent or "").strip() or None,
                         posted=utc(item.posted), edited=utc(item.edited))


class Store:
    def __init__(self, source):
        self.source = source
        self.summary = Summary()
        self.waiting = defaultdict(list)  # parent's source id: the items that answer it
        self.waiting_ids = set()
        self.skipped_ids = set()  # items skipped, so that their replies say why they are
        self.board_ids = {}  # page key: board id
        self.threads = set()  # threads that gained replies: their counts are recounted
        self.first_id = None  # the first comment id this import takes

    def skip(self, reason, where, source_id=None):
        self.summary.skip(reason, where)
        if source_id is not None:
            self.skipped_ids.add(source_id)

    def run(self, entries):
        """Store the Items among `entries` (Items and Skipped), in ONE transaction: any exception,
        a BadFile from the reader or an error from the database, rolls back everything."""
        try:
            for chunk in batches(entries, BATCH):
                items = []
                for entry in chunk:
                    if isinstance(entry, Skipped):
                        self.skip(entry.reason, entry.where, entry.source_id)
                        continue
                    item = cleaned(entry)
                    if reason := problem(item):
                        self.skip(reason, item.where, item.source_id)
                    else:
                        items.append(item)
                self.place(items)
            self.give_up_waiting()
            for chunk in batches(sorted(self.threads), BATCH):
                recount_replies(chunk)
            if self.summary.boards:
                recount_boards(sorted(self.summary.boards))
                revise_boards(sorted(self.summary.boards))
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return self.summary

    def lookup(self, source_ids):
        """{source id: Placed} of the items of this source stored so far (by an earlier import
        or by this one), in one query."""
        if not source_ids:
            return {}
        rows = db.session.execute(
            sa.select(IMPORTS.c.source_id, TABLE.c.id, TABLE.c.thread_id, TABLE.c.board_id)
            .select_from(IMPORTS.outerjoin(TABLE, TABLE.c.id == IMPORTS.c.comment_id))
            .where(IMPORTS.c.source == self.source, IMPORTS.c.source_id.in_(source_ids)))
        return {source_id: Placed(id_, thread, board) for source_id, id_, thread, board in rows}

    def place(self, items):
        """Store the items whose parent is stored (or that answer none), then the items that were
        waiting for them, and so on; the others wait for their parent."""
        known = self.lookup({item.source_id for item in items}
                            | {item.parent for item in items if item.parent is not None})
        ready, seen = [], set()
        for item in items:
            if item.source_id in known:
                stored = known[item.source_id].id
                this_run = None not in (stored, self.first_id) and stored >= self.first_id
                self.skip("repeated in the file" if this_run else "already imported", item.where)
            elif item.source_id in seen or item.source_id in self.waiting_ids:
                self.skip("repeated in the file", item.where)
            elif item.parent == item.source_id:
                self.skip("answers itself", item.where, item.source_id)
            elif item.parent is None:
                ready.append((item, None))
            elif item.parent in known:
                ready.append((item, known[item.parent]))
            else:
                self.waiting[item.parent].append(item)
                self.waiting_ids.add(item.source_id)
            seen.add(item.source_id)
        while ready:
            released = []
            for item, placed in self.insert(ready):
                for child in self.waiting.pop(item.source_id, ()):
                    self.waiting_ids.discard(child.source_id)
                    released.append((child, placed))
            ready = released

    def board_for(self, item):
        """The board id of the page of a thread's first comment, or why there can be none."""
        key = item.page
        if key not in self.board_ids:
            if key is None:
                return "its page has no address"
            if problem := key_problem(key):
                return f"its page {key[:60]!r} cannot be a board: {problem.rstrip('.')}"
            existing = db.session.scalar(sa.select(BOARDS.c.id).where(BOARDS.c.key == key))
            if existing is None:
                self.summary.new_boards += 1
            self.board_ids[key] = existing or boards.for_key(key, item.title).id
        return self.board_ids[key]

    def insert(self, ready):
        """Store `ready`, [(item, its parent's Placed or None)], in one multi-row INSERT; the
        stored ones with their own Placed."""
        chosen = []
        for item, parent in ready:
            if parent is None:
                board = self.board_for(item)
                if isinstance(board, str):
                    self.skip(board, item.where, item.source_id)
                    continue
                chosen.append((item, None, None, board))
            elif parent.id is None:
                self.skip("answers a comment that was purged from the board", item.where,
                          item.source_id)
            else:  # one level deep: a reply to a reply joins its parent's thread
                chosen.append((item, parent.id, parent.thread_id or parent.id, parent.board_id))
        if not chosen:
            return []
        last = take(db.session.connection(), COMMENT_IDS, len(chosen))
        first = last - len(chosen) + 1
        self.first_id = self.first_id or first
        rows, imports, placed = [], [], []
        for id_, (item, parent_id, thread_id, board_id) in enumerate(chosen, start=first):
            rows.append({"id": id_, "board_id": board_id, "author": item.author,
                         "content": item.content, "posted": item.posted, "edited": item.edited,
                         "state": item.state, "parent_id": parent_id, "thread_id": thread_id,
                         "html": markup.render(item.content)})
            imports.append({"source": self.source, "source_id": item.source_id,
                            "comment_id": id_})
            placed.append((item, Placed(id_, thread_id, board_id)))
            if thread_id is not None:
                self.threads.add(thread_id)
            self.summary.boards.add(board_id)
        db.session.execute(sa.insert(TABLE), rows)
        db.session.execute(sa.insert(IMPORTS), imports)
        self.summary.added += len(rows)
        return placed

    def give_up_waiting(self):
        """The replies whose parent never came: skipped, saying whether it was skipped or was
        nowhere in the file."""
        for parent, children in self.waiting.items():
            for child in children:
                if parent in self.skipped_ids or parent in self.waiting_ids:
                    reason = "answers a comment that was skipped"
                else:
                    reason = "answers a comment that is not in the file"
                self.skip(reason, child.where)
        self.waiting.clear()
