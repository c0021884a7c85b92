"""XML exports read as a stream: defusedxml's iterparse, which hands over each element as it
ends (the reader clears what it has used, so memory stays flat) and refuses entity declarations
and external references before anything is expanded or fetched (a "billion laughs" file would
otherwise grow to gigabytes in memory; an external entity would read a file of this machine)."""

from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from .store import BadFile, Counted


def local(tag):
    """An element's name without its namespace: "{http://disqus.com}post" is "post"."""
    return tag.rpartition("}")[2]


def events(file, on_progress, root_name):
    """("start" or "end", element) of the XML in binary `file`, whose root must be
    `root_name`; BadFile for entities, broken XML or another root."""
    counted = Counted(file, on_progress)
    seen_root = False
    try:
        for event, element in iterparse(counted, events=("start", "end")):
            if not seen_root:
                seen_root = True
                if local(element.tag) != root_name:
                    raise BadFile(f"this is not the expected export: its XML root is "
                                  f"<{local(element.tag)}>, not <{root_name}>")
            yield event, element
    except DefusedXmlException as error:
        raise BadFile(f"the file declares XML entities or refers to outside resources "
                      f"({type(error).__name__}), which the import refuses: they can expand "
                      "to gigabytes or read files of this machine") from None
    except ParseError as error:
        line, column = error.position
        raise BadFile(f"the XML is broken at line {line}, column {column + 1} "
                      f"({str(error).split(':')[0]})") from None
