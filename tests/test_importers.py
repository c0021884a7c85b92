"""`flask board import --from isso|disqus|wordpress|remark42 FILE`: comments from other systems.

Each source's fixture (tests/fixtures/import/: an Isso database written by the real isso
package, XML that follows Disqus's and WordPress's published formats, a Remark42 backup) imports
on every database with its boards, threads, parents, states, times and authors, in one
transaction; a second run adds nothing; what cannot be stored is skipped and reported. Reading
alone (HTML to text, refused XML, streaming) cannot depend on the database: SQLite only.
"""

import gzip
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from board import cli, markup
from board.extensions import db
from board.importers import READERS, store
from board.importers.text import from_html
from board.models import BOARDS, IMPORTS, TABLE
from tests.helpers import count

FIXTURES = Path(__file__).parent / "fixtures" / "import"
UTC = timezone.utc


def at(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def import_from(app, runner):
    """Runs `flask board import --from SOURCE PATH`; forgets what was imported afterwards (the
    session's database is shared, and conftest empties only comments and boards)."""
    def run(source, path, **kwargs):
        return runner.invoke(args=["board", "import", "--from", source, str(path)], **kwargs)

    yield run
    with app.app_context():
        db.session.execute(sa.delete(IMPORTS))
        db.session.commit()


def stored(app, source):
    """{source id: (page, parent's source id, thread's source id, author, state, posted, edited,
    content)} of what imports of `source` stored."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(IMPORTS.c.source_id, TABLE, BOARDS.c.key.label("page"))
            .join(TABLE, TABLE.c.id == IMPORTS.c.comment_id)
            .join(BOARDS, BOARDS.c.id == TABLE.c.board_id)
            .where(IMPORTS.c.source == source)).all()
    source_ids = {row.id: row.source_id for row in rows}
    for row in rows:
        assert row.html == markup.render(row.content)
    return {row.source_id: (row.page, source_ids.get(row.parent_id),
                            source_ids.get(row.thread_id), row.author, row.state, row.posted,
                            row.edited, row.content) for row in rows}


def boards_of(app):
    """{page key: (title, visible comments, last activity)} of the boards with a page key."""
    with app.app_context():
        return {row.key: (row.title, row.comments, row.last_activity) for row in db.session.execute(
            sa.select(BOARDS).where(BOARDS.c.key.is_not(None)))}


def replies_of(app, source):
    """{source id: replies} of the threads' first comments that imports of `source` stored."""
    with app.app_context():
        return dict(db.session.execute(
            sa.select(IMPORTS.c.source_id, TABLE.c.replies)
            .join(TABLE, TABLE.c.id == IMPORTS.c.comment_id)
            .where(IMPORTS.c.source == source, TABLE.c.thread_id.is_(None))).all())


def check_second_run_adds_nothing(app, import_from, source, path, skipped):
    before = stored(app, source), boards_of(app), count(app)
    again = import_from(source, path)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == (
        f"added 0 comments on 0 boards (0 new boards); skipped {skipped}:")
    assert f"  {len(before[0])} already imported (" in again.stdout
    assert (stored(app, source), boards_of(app), count(app)) == before


# Isso ------------------------------------------------------------------------------------------

ISSO = FIXTURES / "isso.db"
HELLO, ABOUT = "/blog/hello-world/", "/about/"

ISSO_COMMENTS = {
    "1": (HELLO, None, None, "Ann", "visible", at(2017, 7, 7, 18, 47, 5, 250000), None,
          "Welcome *all*!\n\nA second paragraph."),
    "2": (HELLO, "1", "1", "Bob", "visible", at(2017, 7, 7, 19), None, "Thanks, Ann."),
    # Written as a reply to 2: Isso itself stores it under the thread's first comment.
    "3": (HELLO, "1", "1", "Ann", "visible", at(2017, 7, 7, 19, 5), None, "You're welcome, Bob."),
    "4": (HELLO, None, None, "Eve", "hidden", at(2017, 7, 8, 9), None, "Waiting for a moderator."),
    "5": (HELLO, None, None, None, "deleted", at(2017, 7, 8, 10), None, store.REMOVED_TEXT),
    "6": (HELLO, "5", "5", "Carol", "visible", at(2017, 7, 8, 10, 30), None,
          "What did Mallory say?"),
    "8": (ABOUT, None, None, None, "visible", at(2018, 1, 2, 3, 4, 5), at(2018, 1, 2, 4),
          "Nice about page!"),
}


def test_an_isso_database_becomes_boards_threads_and_replies(app, import_from):
    before = ISSO.read_bytes()

    result = import_from("isso", ISSO)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "added 7 comments on 2 boards (2 new boards); skipped 1:",
        "  1 its text was refused: Keep your comment to 4096 characters (comment 9)",
    ]
    assert stored(app, "isso") == ISSO_COMMENTS
    # A page without a title is named by its path; counts are of visible comments.
    assert boards_of(app) == {HELLO: ("Hello, World!", 4, at(2017, 7, 8, 10, 30)),
                              ABOUT: (ABOUT, 1, at(2018, 1, 2, 4))}
    assert replies_of(app, "isso") == {"1": 2, "4": 0, "5": 1, "8": 0}
    assert ISSO.read_bytes() == before  # read-only: not even a journal

    check_second_run_adds_nothing(app, import_from, "isso", ISSO, skipped=8)


@pytest.mark.one_database
def test_isso_needs_an_isso_database(import_from, tmp_path, app):
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("hello")
    other = tmp_path / "other.db"
    connection = __import__("sqlite3").connect(other)
    connection.execute("CREATE TABLE notes (id INTEGER)")
    connection.close()

    for path, message in ((not_sqlite, f"{not_sqlite} is not an SQLite database"),
                          (other, f"{other} is not an Isso database: it has no threads and "
                                  "comments tables")):
        result = import_from("isso", path)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: {message}")
        assert result.stderr.endswith(". Nothing was imported.\n")
    result = import_from("isso", "-", input=ISSO.read_bytes())
    assert result.exit_code == 1
    assert "Isso's database must be a file" in result.stderr
    assert count(app) == 0


# Disqus ----------------------------------------------------------------------------------------

DISQUS = FIXTURES / "disqus.xml"
LATE = "/late/?lang=en"

DISQUS_COMMENTS = {
    "201": (HELLO, None, None, "Ann", "visible", at(2013, 10, 10, 19, 20, 29), None,
            "First! I like \\_\\_init\\_\\_ & 2 \\* 3.\n\n"
            "See [the docs](https://example.com/docs) and https://example.com/a/very/long/path"),
    "202": (HELLO, "201", "201", "Bob", "visible", at(2013, 10, 10, 20), None,
            "Welcome, Ann.\nSecond line."),
    # Before its parent in the file; a reply to a reply keeps its parent, in the same thread.
    "203": (HELLO, "202", "201", "Carol", "visible", at(2013, 10, 10, 21), None,
            "Replying to Bob."),
    "204": (HELLO, None, None, "Mallory", "deleted", at(2013, 10, 11, 10), None,
            store.REMOVED_TEXT),
    "205": (HELLO, "204", "204", "Dan", "visible", at(2013, 10, 11, 10, 30), None,
            "What was that?"),
    "208": (ABOUT, None, None, None, "visible", at(2013, 10, 12, 8, 15), None,
            "> Is this the page?\n\nYes.\nReally."),
    "209": (LATE, None, None, "Frank", "visible", at(2013, 10, 13), None, "Early bird."),
}


def test_a_disqus_export_becomes_boards_threads_and_replies(app, import_from):
    result = import_from("disqus", DISQUS)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "added 7 comments on 3 boards (3 new boards); skipped 4:",
        "  1 marked as spam (post 206)",
        "  1 its createdAt is not a time (post 207)",
        "  1 its thread was deleted in Disqus (post 210)",
        "  1 answers a comment that is not in the file (post 211)",
    ]
    assert stored(app, "disqus") == DISQUS_COMMENTS
    assert boards_of(app) == {HELLO: ("Hello, World!", 4, at(2013, 10, 11, 10, 30)),
                              ABOUT: ("About & contact", 1, at(2013, 10, 12, 8, 15)),
                              LATE: ("Late", 1, at(2013, 10, 13))}
    assert replies_of(app, "disqus") == {"201": 2, "204": 1, "208": 0, "209": 0}
    with app.app_context():  # the HTML turned text shows as the words it was
        html = db.session.scalar(sa.select(TABLE.c.html).join(
            IMPORTS, IMPORTS.c.comment_id == TABLE.c.id).where(IMPORTS.c.source_id == "201"))
    assert html.startswith("<p>First! I like __init__ &amp; 2 * 3.</p>")

    check_second_run_adds_nothing(app, import_from, "disqus", DISQUS, skipped=11)


def test_comments_join_a_board_that_exists_and_a_broken_file_imports_nothing(
        app, import_from, tmp_path):
    """A page that already has its board gets the comments (and keeps its title); XML that
    breaks after some posts were read rolls back everything, boards included."""
    with app.app_context():
        from board import boards
        boards.for_key(HELLO, "Our own title")
        db.session.commit()
    text = DISQUS.read_text()
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace('<post dsq:id="211">', '<post dsq:id="211"><oops>'))
    board_count = len(boards_of(app))

    result = import_from("disqus", broken)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the XML is broken at line ")
    assert result.stderr.endswith("(mismatched tag). Nothing was imported.\n")
    assert count(app) == 0 and len(boards_of(app)) == board_count and stored(app, "disqus") == {}

    result = import_from("disqus", DISQUS)
    assert result.stdout.startswith("added 7 comments on 3 boards (2 new boards)")
    assert boards_of(app)[HELLO][:2] == ("Our own title", 4)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE {root} [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE {root} [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
"""


@pytest.mark.one_database
@pytest.mark.parametrize("source", ["disqus", "wordpress"])
@pytest.mark.parametrize("prologue", [BILLION_LAUGHS, EXTERNAL], ids=["billion-laughs", "xxe"])
def test_xml_that_declares_entities_is_refused_before_anything_is_expanded(
        app, import_from, tmp_path, source, prologue):
    fixture = (DISQUS if source == "disqus" else FIXTURES / "wordpress.xml").read_text()
    body = fixture[fixture.index("<disqus" if source == "disqus" else "<rss"):]
    entity = "&lol9;" if prologue is BILLION_LAUGHS else "&secret;"
    body = body.replace("Row one", entity).replace("First!", entity)
    path = tmp_path / "evil.xml"
    path.write_text(prologue.format(root="disqus" if source == "disqus" else "rss") + body)

    result = import_from(source, path)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the file declares XML entities or refers to outside "
                                    "resources (EntitiesForbidden), which the import refuses")
    assert result.stderr.endswith("Nothing was imported.\n")
    assert count(app) == 0 and boards_of(app) == {}


@pytest.mark.one_database
def test_an_export_of_another_kind_is_refused(app, import_from):
    result = import_from("wordpress", DISQUS)
    assert result.exit_code == 1
    assert result.stderr == ("Error: this is not the expected export: its XML root is <disqus>, "
                             "not <rss>. Nothing was imported.\n")
    assert count(app) == 0


DISQUS_POST = ('<post dsq:id="{n}"><id/><message><![CDATA[<p>{text}</p>]]></message>'
               '<createdAt>2013-10-10T19:20:29Z</createdAt><isDeleted>false</isDeleted>'
               '<isSpam>false</isSpam><author><name>Ann</name><isAnonymous>true</isAnonymous>'
               '</author><thread dsq:id="1"/></post>\n')
WXR_COMMENT = ('<wp:comment><wp:comment_id>{n}</wp:comment_id><wp:comment_author>Ann'
               '</wp:comment_author><wp:comment_date_gmt>2010-07-20 12:08:08'
               '</wp:comment_date_gmt><wp:comment_content><![CDATA[{text}]]>'
               '</wp:comment_content><wp:comment_approved>1</wp:comment_approved>'
               '<wp:comment_parent>0</wp:comment_parent></wp:comment>\n')


def big_export(path, source, comments):
    """An export of `comments` comments of 600 characters each."""
    with path.open("w") as file:
        if source == "disqus":
            file.write('<?xml version="1.0"?>\n<disqus xmlns="http://disqus.com" '
                       'xmlns:dsq="http://disqus.com/disqus-internals"><thread dsq:id="1">'
                       '<link>https://example.org/x/</link><title>X</title></thread>\n')
            for n in range(comments):
                file.write(DISQUS_POST.format(n=n, text="words " * 100))
            file.write("</disqus>\n")
            return
        file.write('<?xml version="1.0"?>\n<rss version="2.0" '
                   'xmlns:wp="http://wordpress.org/export/1.2/"><channel>\n')
        for n in range(comments):
            if n % 100 == 0:
                file.write(f"{'</item>' if n else ''}<item><title>P{n}</title>"
                           f"<link>https://example.org/{n}/</link>\n")
            file.write(WXR_COMMENT.format(n=n + 1, text="words " * 100))
        file.write("</item></channel></rss>\n")


@pytest.mark.parametrize("source", ["disqus", "wordpress"])
def test_xml_exports_are_read_as_a_stream(tmp_path, source):
    """10,000 comments (over 8 MB): the reader's memory stays far below the file's size, as it
    would not if it kept what it has read."""
    path = tmp_path / "big.xml"
    big_export(path, source, 10_000)

    tracemalloc.start()
    try:
        with path.open("rb") as file:
            read = sum(1 for _ in READERS[source].entries(file))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert read == 10_000
    assert path.stat().st_size > 8_000_000 and peak < 1_000_000, peak


# WordPress -------------------------------------------------------------------------------------

WORDPRESS = FIXTURES / "wordpress.xml"
POST, PAGE = "/2010/07/hello-world/", "/?page_id=2"

WORDPRESS_COMMENTS = {
    "8": (POST, None, None, "Zoë & co", "visible", at(2010, 7, 20, 12, 8, 8), None,
          "Row one\nRow two\n\nA new paragraph, I’m sure."),
    "15": (POST, "8", "8", "Bob", "visible", at(2010, 7, 21, 8), None,
           "Thanks! See [more here](https://example.com/more)."),
    "14": (POST, "15", "8", "Carol", "visible", at(2010, 8, 18, 15, 19, 14), None,
           "Agreed with Bob."),
    "9": (POST, None, None, "Eve", "hidden", at(2010, 7, 20, 13, 9, 25), None,
          "Awaiting moderation."),
    "17": (POST, None, None, "Dan", "deleted", at(2010, 7, 23, 8), None, "Binned."),
    # comment_date_gmt is WordPress's "never": comment_date stands in.
    "20": (PAGE, None, None, None, "visible", at(2011, 1, 2, 3, 4, 5), None,
           "Anonymous and <em>literal</em> <3"),
}


def test_a_wordpress_export_becomes_boards_threads_and_replies(app, import_from):
    result = import_from("wordpress", WORDPRESS)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "added 6 comments on 2 boards (2 new boards); skipped 4:",
        "  1 a pingback or trackback, not a comment (comment 13)",
        "  1 marked as spam (comment 16)",
        "  1 its date is not a time (comment 18)",
        "  1 answers a comment that was skipped (comment 19)",
    ]
    assert stored(app, "wordpress") == WORDPRESS_COMMENTS
    assert boards_of(app) == {POST: ("Hello world!", 3, at(2010, 8, 18, 15, 19, 14)),
                              PAGE: ("About ‘us’", 1, at(2011, 1, 2, 3, 4, 5))}
    assert replies_of(app, "wordpress") == {"8": 2, "9": 0, "17": 0, "20": 0}

    check_second_run_adds_nothing(app, import_from, "wordpress", WORDPRESS, skipped=10)


# Remark42 --------------------------------------------------------------------------------------

REMARK42 = FIXTURES / "remark42.jsonl"

REMARK42_COMMENTS = {
    # "orig" (Markdown, what the author wrote) rather than the rendered "text".
    "a1": (HELLO, None, None, "Ann", "visible", at(2017, 12, 20, 21, 18, 22), None,
           "Hello **world** & 2 * 3"),
    "a2": (HELLO, "a1", "a1", "Bob", "visible", at(2017, 12, 20, 23), at(2017, 12, 20, 23, 30),
           "Hi Ann, *edited*"),
    "a3": (HELLO, "a2", "a1", "Ann", "visible", at(2017, 12, 21, 7, 0, 0, 123456), None,
           "Welcome back."),
    "a5": (HELLO, None, None, None, "deleted", at(2017, 12, 22, 8), None, store.REMOVED_TEXT),
    "a6": (HELLO, "a5", "a5", "Carol", "visible", at(2017, 12, 22, 9), None, "What happened?"),
    # No "orig" (imported into Remark42 from Disqus): its HTML made text. Its author is blocked.
    "a7": (ABOUT, None, None, "Troll", "hidden", at(2018, 1, 5, 12), None,
           "Imported from Disqus: [there](https://example.com/x)"),
}
REMARK42_SUMMARY = [
    "added 6 comments on 2 boards (2 new boards); skipped 2:",
    "  1 the line is not JSON (line 5)",
    "  1 its time is not an RFC 3339 time (line 9)",
]


def test_a_remark42_backup_becomes_boards_threads_and_replies(app, import_from):
    result = import_from("remark42", REMARK42)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == REMARK42_SUMMARY
    assert stored(app, "remark42") == REMARK42_COMMENTS
    assert boards_of(app) == {HELLO: ("Hello, World!", 4, at(2017, 12, 22, 9)),
                              ABOUT: ("About", 0, at(2018, 1, 5, 12))}
    assert replies_of(app, "remark42") == {"a1": 2, "a5": 1, "a7": 0}

    check_second_run_adds_nothing(app, import_from, "remark42", REMARK42, skipped=8)


@pytest.mark.one_database
def test_a_gzipped_remark42_backup_from_standard_input(app, import_from):
    """Remark42 writes its backups gzipped: read as they are, from a file or a pipe."""
    result = import_from("remark42", "-", input=gzip.compress(REMARK42.read_bytes()))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == REMARK42_SUMMARY
    assert stored(app, "remark42") == REMARK42_COMMENTS


@pytest.mark.one_database
def test_a_remark42_backup_of_another_version_is_refused(app, import_from, tmp_path):
    path = tmp_path / "backup.jsonl"
    path.write_text('{"version":2,"users":[],"posts":[]}\n' + REMARK42.read_text().split("\n", 1)[1])
    result = import_from("remark42", path)
    assert result.exit_code == 1
    assert result.stderr == ("Error: this is a Remark42 backup of version 2; the import reads "
                             "versions 0, 1. Nothing was imported.\n")
    assert count(app) == 0


# What every source shares ----------------------------------------------------------------------

@pytest.mark.one_database
def test_the_progress_bar_shows_on_a_terminal(app, import_from, monkeypatch):
    monkeypatch.setattr(cli, "terminal", lambda: True)
    for source, path in (("isso", ISSO), ("remark42", REMARK42)):
        result = import_from(source, path)
        assert result.exit_code == 0, result.output
        assert f"importing from {source}" in result.stderr


@pytest.mark.one_database
def test_the_summary_names_a_few_examples_of_each_reason():
    summary = store.Summary()
    summary.added, summary.boards, summary.new_boards = 5, {1, 2}, 1
    for n in range(5):
        summary.skip("marked as spam", f"post {n}")
    summary.skip("answers itself", "post 9")
    assert list(summary.lines()) == [
        "added 5 comments on 2 boards (1 new board); skipped 6:",
        "  5 marked as spam (post 0, post 1, post 2, ...)",
        "  1 answers itself (post 9)",
    ]


@pytest.mark.parametrize("html, text", [
    ("<p>One</p><p>Two<br>three</p>", "One\n\nTwo\nthree"),
    ("a &lt;b&gt; &amp;amp; &#8217; &nbsp;z", "a <b> \\&amp; ’ z"),
    ('<a href="https://example.com/x_y">the *link*</a>', "[the \\*link\\*](https://example.com/x_y)"),
    ('<a href="https://example.com/a b(c)">x</a>', "[x](https://example.com/a%20b%28c%29)"),
    ('<a href="https://example.com/">https://example.com/</a>', "https://example.com/"),
    ('<a href="javascript:alert(1)">click</a>', "click"),
    ("<a>no href</a> and <a href='/relative'>relative</a>", "no href and relative"),
    ("<script>alert(1)</script><style>p{}</style>kept", "kept"),
    ("<blockquote><p>quoted</p><p>twice</p></blockquote><p>answer</p>",
     "> quoted\n>\n> twice\n\nanswer"),
    ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
    ("<pre>  code ``` here\n    indented</pre>", "````\n  code ``` here\n    indented\n````"),
    ("<p>unclosed <a href='https://example.com'>link", "unclosed [link](https://example.com)"),
    ("   \n  <p>  </p> ", ""),
])
@pytest.mark.one_database
def test_html_becomes_the_text_it_showed(html, text):
    assert from_html(html) == text


@pytest.mark.one_database
def test_line_breaks_count_only_where_the_source_says_so():
    assert from_html("one\ntwo\n\n\n\nthree", newlines=True) == "one\ntwo\n\nthree"
    assert from_html("one\ntwo\n\nthree") == "one two three"


@pytest.mark.one_database
def test_text_made_from_html_renders_as_the_words_it_was():
    text = from_html("<p>2 * 3 * 4 = 24, __init__, [1], `tick`, \\ and &amp;lt;</p>")
    assert markup.render(text) == "<p>2 * 3 * 4 = 24, __init__, [1], `tick`, \\ and &amp;lt;</p>"


@pytest.mark.one_database
def test_replies_wait_for_parents_that_come_later_and_loops_are_skipped(app, import_from,
                                                                         tmp_path):
    """A chain of replies that arrives backwards, a reply to itself, two replies that answer
    each other, a reply to a comment that was skipped, and an id the file repeats."""
    line = ('{{"id":"{id}","pid":"{pid}","orig":"{id}","user":{{"name":"N"}},'
            '"locator":{{"url":"https://example.org/chain/"}},"time":"2020-01-01T00:00:0{n}Z"}}')
    chain = [("c4", "c3"), ("c3", "c2"), ("c2", "c1"), ("c1", ""), ("self", "self"),
             ("x", "y"), ("y", "x"), ("bad", ""), ("child", "bad"), ("c1", "")]
    path = tmp_path / "backup.jsonl"
    path.write_text("\n".join(line.format(id=id_, pid=pid, n=n % 10)
                              for n, (id_, pid) in enumerate(chain)).replace(
        '"orig":"bad"', '"orig":"bad\\u0000"') + "\n")

    result = import_from("remark42", path)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "added 4 comments on 1 board (1 new board); skipped 6:",
        "  3 answers a comment that was skipped (line 6, line 7, line 9)",
        "  1 its text was refused: Remove the control characters and noncharacters (such as "
        "U+FFFE): only text, tabs and line breaks (line 8)",
        "  1 answers itself (line 5)",
        "  1 repeated in the file (line 10)",
    ]
    comments = stored(app, "remark42")
    assert {id_: comments[id_][1:3] for id_ in comments} == {
        "c1": (None, None), "c2": ("c1", "c1"), "c3": ("c2", "c1"), "c4": ("c3", "c1")}
    assert store.page_key("https://example.org/a/b?c=d#e") == "/a/b?c=d"
    assert store.page_key("https://example.org") == "/"
    assert store.page_key("/already/a/path/") == "/already/a/path/"
    assert store.page_key("  ") is None
