"""Isso's SQLite database (isso/db/: `threads` (id, uri, title) and `comments` (tid, id, parent,
created, modified, mode, text, author, ...)), read in place, read-only.

A thread is a page (its uri, the page's path); its comments keep their parents (Isso keeps one
level; an older database may nest deeper, which the board flattens). Isso's text is Markdown,
as the board's is, and is kept as written. mode 1 is accepted (visible), 2 pending (hidden),
4 deleted (Isso blanks the text of a comment deleted after it was answered, and keeps the row).
Times are Unix seconds (floats), UTC by definition.
"""

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from ..rules import DELETED, HIDDEN, VISIBLE
from .store import BadFile, Item, Skipped, page_key

STATES = {1: VISIBLE, 2: HIDDEN, 4: DELETED}
QUERY = """SELECT comments.id, comments.parent, comments.created, comments.modified,
                  comments.mode, comments.text, comments.author, threads.uri, threads.title
           FROM comments LEFT JOIN threads ON threads.id = comments.tid
           ORDER BY comments.id"""


def connect(path):
    """Isso's database, opened read-only: the import never changes it, even by a journal."""
    if path in (None, "-", "<stdin>"):
        raise BadFile("Isso's database must be a file (its path), not standard input")
    try:
        connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        tables = {name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as error:
        raise BadFile(f"{path} is not an SQLite database ({error})") from None
    if not {"threads", "comments"} <= tables:
        connection.close()
        raise BadFile(f"{path} is not an Isso database: it has no threads and comments tables")
    return connection


def length(path):
    """How many comments there are, for the progress bar."""
    connection = connect(path)
    try:
        return connection.execute("SELECT COUNT(*) FROM comments").fetchone()[0]
    finally:
        connection.close()


def moment(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc)


def entries(path, on_progress=lambda count: None):
    """The Items (and Skipped) of Isso's database at `path`, in id order, one row at a time."""
    connection, count = connect(path), 0
    try:
        for count, row in enumerate(connection.execute(QUERY), start=1):
            if count % 1000 == 0:
                on_progress(1000)
            yield entry(*row)
        on_progress(count % 1000)
    except sqlite3.Error as error:
        raise BadFile(f"Isso's database could not be read: {error}") from None
    finally:
        connection.close()


def entry(id_, parent, created, modified, mode, text, author, uri, title):
    where = f"comment {id_}"
    if uri is None:
        return Skipped(where, "its thread is not in the database", str(id_))
    if mode not in STATES:
        return Skipped(where, f"its mode {mode!r} is none of Isso's (1, 2, 4)", str(id_))
    try:
        posted = moment(created)
        edited = moment(modified) if modified else None
    except (TypeError, ValueError, OverflowError, OSError):
        return Skipped(where, "its time is not a time", str(id_))
    return Item(source_id=str(id_), where=where, page=page_key(uri), title=title,
                parent=None if parent is None else str(parent), author=author,
                content=text or "", posted=posted, edited=edited, state=STATES[mode])
