"""A Disqus export (Disqus's "Comments export", the XML of disqus.com/api/schemas/1.0/disqus.xsd):
<category>s, then <thread>s (dsq:id, <link> to the page, <title>, <isDeleted>), then <post>s
(dsq:id, <message> in HTML, <createdAt> in UTC, <author><name>, <isDeleted>, <isSpam>,
<thread dsq:id>, and <parent dsq:id> for a reply).

A thread is a page: its board is keyed by the path of its <link>. A post's HTML becomes text
(text.py); a deleted post stays deleted (its replies keep their thread); spam is skipped, as are
the posts of a thread that Disqus deleted. A post read before its thread waits for it.
"""

from collections import defaultdict
from datetime import datetime, timezone

from ..rules import DELETED, VISIBLE
from .store import Item, Skipped, page_key
from .text import from_html
from .xmlstream import events

NS = "{http://disqus.com}"
DSQ_ID = "{http://disqus.com/disqus-internals}id"


def text_of(element, name):
    child = element.find(NS + name)
    return None if child is None or child.text is None else child.text.strip()


def id_of(element, name):
    child = element.find(NS + name)
    return None if child is None else (child.get(DSQ_ID) or "").strip() or None


def entries(file, on_progress=lambda nbytes: None):
    """The Items (and Skipped) of a Disqus export, one <thread> or <post> in memory at a time
    (and the posts that came before their thread)."""
    threads = {}  # dsq:id: (page key, title), or why its posts are skipped
    early = defaultdict(list)  # dsq:id of a thread not read yet: its posts
    depth, root = 0, None
    for event, element in events(file, on_progress, "disqus"):
        if event == "start":
            depth += 1
            root = element if root is None else root
            continue
        depth -= 1
        if depth != 1:  # only the root's children: a post's <thread dsq:id/> is no thread
            continue
        if element.tag == NS + "thread":
            thread_id = element.get(DSQ_ID)
            threads[thread_id] = page_of(element)
            for item in early.pop(thread_id, ()):
                yield on_page(item, threads[thread_id])
        elif element.tag == NS + "post":
            item, thread_id = post(element)
            if isinstance(item, Skipped):
                yield item
            elif thread_id in threads:
                yield on_page(item, threads[thread_id])
            else:
                early[thread_id].append(item)
        root.clear()  # what was read is done with
    for items in early.values():
        for item in items:
            yield Skipped(item.where, "its thread is not in the file", item.source_id)


def page_of(thread):
    if text_of(thread, "isDeleted") == "true":
        return "its thread was deleted in Disqus"
    key = page_key(text_of(thread, "link"))
    if key is None:
        return "its thread has no link"
    return key, text_of(thread, "title")


def on_page(item, page):
    if isinstance(page, str):
        return Skipped(item.where, page, item.source_id)
    key, title = page
    return item._replace(page=key, title=title)


def moment(value):
    """createdAt: ISO 8601 in UTC, 2013-10-10T19:20:29Z (a time without a zone is UTC too)."""
    posted = datetime.fromisoformat(value)
    return posted if posted.tzinfo else posted.replace(tzinfo=timezone.utc)


def post(element):
    """(Item or Skipped, the dsq:id of its thread)."""
    source_id = (element.get(DSQ_ID) or text_of(element, "id") or "").strip()
    if not source_id:
        return Skipped("a post", "it has no id"), None
    where = f"post {source_id}"
    thread_id = id_of(element, "thread")
    if thread_id is None:
        return Skipped(where, "it names no thread", source_id), None
    if text_of(element, "isSpam") == "true":
        return Skipped(where, "marked as spam", source_id), thread_id
    try:
        posted = moment(text_of(element, "createdAt") or "")
    except ValueError:
        return Skipped(where, "its createdAt is not a time", source_id), thread_id
    author = element.find(f"{NS}author/{NS}name")
    item = Item(source_id=source_id, where=where, page=None, title=None,
                parent=id_of(element, "parent"),
                author=None if author is None else author.text,
                content=from_html(text_of(element, "message") or ""), posted=posted,
                edited=None,
                state=DELETED if text_of(element, "isDeleted") == "true" else VISIBLE)
    return item, thread_id
