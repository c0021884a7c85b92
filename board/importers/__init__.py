"""`flask board import --from isso|disqus|wordpress|remark42 FILE`: comments from other systems.

Each source has a module that reads its format and yields Items (store.py) as it goes, never
the whole file in memory; store.py adds them to the board in one transaction and keeps the
summary of what was added and what was skipped, and why. text.py turns HTML into the board's
text.
"""

import os
import stat

from . import disqus, isso, remark42, wordpress
from .store import BadFile, Store, Summary

__all__ = ["BadFile", "SOURCES", "Summary", "length", "run"]

READERS = {"isso": isso, "disqus": disqus, "wordpress": wordpress, "remark42": remark42}
SOURCES = tuple(READERS)


def length(source, file):
    """How long the progress bar is: Isso's number of comments, else the file's size in bytes
    (None when unknown: standard input)."""
    if source == "isso":
        return isso.length(getattr(file, "name", None))
    try:
        status = os.fstat(file.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def run(source, file, on_progress=lambda steps: None):
    """Import `file` (an open binary file; for Isso, its .name is the database's path) from
    `source`; its Summary. BadFile when the file cannot be read: nothing was imported."""
    if source == "isso":
        entries = isso.entries(getattr(file, "name", None), on_progress)
    else:
        entries = READERS[source].entries(file, on_progress)
    return Store(source).run(entries)
