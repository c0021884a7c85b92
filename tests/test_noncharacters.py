"""Unicode noncharacters are not text: the form and `flask board import` refuse them, because
XML 1.0 cannot carry U+FFFE and U+FFFF and one such comment would make /feed.atom malformed for
every reader. Their neighbours are ordinary characters and are kept, and the feed stays valid."""

import json
import xml.etree.ElementTree as ET

import pytest

from board import markup
from tests.helpers import HTMX, count, csrf_token, error_message, soup

ATOM = "{http://www.w3.org/2005/Atom}"
# U+FDD0..U+FDEF and the last two code points of each of the 17 planes.
NONCHARACTERS = ["\ufffe", "\uffff", "\ufdd0", "\ufdef", "\U0001fffe", "\U0001ffff",
                 "\U0008fffe", "\U0010fffe", "\U0010ffff"]
# The characters right next to them, which are text.
NEIGHBOURS = "\ufdcf\ufdf0\ufffd\U0001fffd\U00020000\U0010fffd"


def feed_entries(client):
    """The feed, read by a strict XML parser (expat refuses what XML 1.0 cannot carry)."""
    response = client.get("/feed.atom")
    assert response.status_code == 200
    return ET.fromstring(response.data).findall(f"{ATOM}entry")


def post_form(client, content, author=""):
    return client.post("/comments", headers=HTMX, data={
        "content": content, "author": author, "csrf_token": csrf_token(client)})


@pytest.mark.one_database
@pytest.mark.parametrize("field", ["content", "author"])
@pytest.mark.parametrize("bad", NONCHARACTERS, ids=[f"U+{ord(c):04X}" for c in NONCHARACTERS])
def test_a_noncharacter_is_refused_by_the_form_and_the_feed_stays_valid(app, client, field, bad):
    fields = {"content": "Hello", "author": "Ann", field: f"a{bad}b"}
    response = post_form(client, fields["content"], fields["author"])
    assert response.status_code == 422
    assert "noncharacters" in error_message(response)
    assert count(app) == 0
    assert feed_entries(client) == []


def test_the_neighbours_of_noncharacters_are_kept_and_the_feed_parses(app, client):
    text = f"a{NEIGHBOURS}b"
    assert post_form(client, text, author=NEIGHBOURS).status_code == 201
    [entry] = feed_entries(client)
    assert entry.find(f"{ATOM}content").text == markup.render(text)
    assert text in entry.find(f"{ATOM}content").text
    assert NEIGHBOURS in soup(client.get("/")).select_one("article.comment").get_text()


@pytest.mark.one_database
@pytest.mark.parametrize("field", ["content", "author"])
def test_an_import_with_a_noncharacter_is_refused_with_its_line_number(app, runner, tmp_path,
                                                                      field):
    def line(id, **fields):
        record = {"id": id, "author": "Ann", "content": "Hello",
                  "posted": "2017-07-07T18:47:05.123456Z", "edited": None, "state": "visible",
                  **fields}
        return json.dumps(record, ensure_ascii=False)

    raw = tmp_path / "raw.jsonl"  # U+FFFE written as itself, in UTF-8
    raw.write_text("\n".join([line(10), line(11, **{field: "a\ufffeb"}), line(12)]) + "\n",
                   encoding="utf-8")
    escaped = tmp_path / "escaped.jsonl"  # U+FFFF as a JSON escape
    bad = line(21, **{field: "a\uffffb"}).replace("\uffff", "\\uffff")
    escaped.write_text(f"{line(20)}\n{bad}\n", encoding="utf-8")

    for source in (raw, escaped):
        result = runner.invoke(args=["board", "import", str(source)])
        assert result.exit_code == 1
        assert f"line 2: {field}: Remove the control characters" in result.output
        assert "noncharacters" in result.output
    assert count(app) == 0
    assert feed_entries(app.test_client()) == []
