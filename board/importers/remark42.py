"""A Remark42 backup (its native export: `remark42 backup`, or the admin's export; often
gzipped): JSON lines, the first one the site's meta ({"version": 1, "users": [...], "posts":
[...]}), then one comment a line: {"id", "pid" (the comment answered, "" for none), "text" (its
HTML), "orig" (what the author wrote, Markdown), "user": {"name", "block"}, "locator": {"site",
"url"}, "title" (the page's), "time" (RFC 3339 with its offset), "edit": {"time"},
"delete"}.

A page is its locator's URL: its board is keyed by the URL's path. The text is "orig" when the
backup has it (Markdown, as the board's), else "text" made plain (text.py). A deleted comment
stays deleted (Remark42 blanks its text; a hard delete names its author "deleted"); a comment
by a blocked user, which Remark42 does not show, is hidden. Read a line at a time.
"""

import gzip
import json
from datetime import datetime

from ..rules import DELETED, HIDDEN, VISIBLE
from .store import BadFile, Counted, Item, Skipped, page_key
from .text import from_html

VERSIONS = (0, 1)  # what Remark42 itself imports
GZIP = b"\x1f\x8b"
MAX_LINE = 16 * 1024 * 1024  # bytes; a comment is at most some kilobytes, the meta line more


def lines(stream):
    """(number, the line's bytes); a line longer than MAX_LINE is read past, and is None (or
    empty when it is the meta line of a site with very many users, which is not needed)."""
    number = 0
    while raw := stream.readline(MAX_LINE + 1):
        number += 1
        if len(raw) > MAX_LINE:
            while (rest := stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
            yield number, b"" if raw.lstrip().startswith(b'{"version"') else None
        else:
            yield number, raw


def gzipped(file):
    """Whether the file starts with gzip's magic number, looked at without reading it away (a
    pipe can be peeked at, a file sought back)."""
    if hasattr(file, "peek"):
        return file.peek(2)[:2] == GZIP
    if file.seekable():
        head = file.read(2)
        file.seek(-len(head), 1)
        return head == GZIP
    return False


def entries(file, on_progress=lambda nbytes: None):
    stream = Counted(file, on_progress)
    if gzipped(file):
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    try:
        for number, raw in lines(stream):
            if raw is None:
                yield Skipped(f"line {number}", f"the line is longer than {MAX_LINE} bytes")
            elif raw.strip() and (found := entry(number, raw)) is not None:
                yield found
    except (OSError, EOFError) as error:  # a broken or cut gzip stream
        raise BadFile(f"the backup could not be read: {error}") from None


def moment(value):
    """RFC 3339 with an offset, nanoseconds and all: 2017-12-20T15:18:22.123456789-06:00."""
    if not isinstance(value, str):
        raise ValueError(value)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment


def entry(number, raw):
    where = f"line {number}"
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return Skipped(where, "the line is not JSON")
    if not isinstance(record, dict):
        return Skipped(where, "the line is not a JSON object")
    if "version" in record and "id" not in record:  # the meta line
        if record["version"] not in VERSIONS:
            raise BadFile(f"this is a Remark42 backup of version {record['version']!r}; the "
                          f"import reads versions {', '.join(map(str, VERSIONS))}")
        return None  # the site's meta (users, posts): nothing the board keeps
    source_id, parent = record.get("id"), record.get("pid") or None
    if not isinstance(source_id, str) or not source_id.strip():
        return Skipped(where, "it has no id")
    user, locator = record.get("user") or {}, record.get("locator") or {}
    edit = record.get("edit") or {}
    if not all(isinstance(value, dict) for value in (user, locator, edit)) or not isinstance(
            parent, (str, type(None))):
        return Skipped(where, "its user, locator, edit or pid is not of Remark42's form",
                       source_id)
    try:
        posted = moment(record.get("time"))
        edited = moment(edit["time"]) if edit.get("time") else None
    except ValueError:
        return Skipped(where, "its time is not an RFC 3339 time", source_id)
    content = record.get("orig") or from_html(str(record.get("text") or ""))
    deleted = record.get("delete") is True
    author = user.get("name") if isinstance(user.get("name"), str) else None
    if deleted and author == "deleted":  # a hard delete's stand-in, not a name
        author = None
    state = DELETED if deleted else HIDDEN if user.get("block") is True else VISIBLE
    title = record.get("title")
    return Item(source_id=source_id, where=where, page=page_key(str(locator.get("url") or "")),
                title=title if isinstance(title, str) else None, parent=parent, author=author,
                content=content if isinstance(content, str) else "", posted=posted,
                edited=edited, state=state)
