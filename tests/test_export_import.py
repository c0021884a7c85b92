"""`flask board export FILE` and `flask board import FILE`: JSON Lines, one comment a line.

Round trips on every database and across all three (threads and their reply counts and HTML
included), idempotent imports, refusal of a bad line (or of a reply that names a comment that is
nowhere, or the wrong thread) with its number and nothing changed, files from before replies,
the id sequence after explicit ids, and flat memory."""

import json
import tracemalloc
from datetime import datetime, timedelta, timezone

import flask_migrate
import pytest
import sqlalchemy as sa

from board import cli, create_app, markup, models, rules, transfer
from board.extensions import db
from tests.helpers import board_id, count, post

UTC = timezone.utc
T = datetime(2017, 7, 7, 18, 47, 5, 123456, tzinfo=UTC)

# Every field at its awkward values: text a byte-for-byte round trip must keep, authors from
# None to 64 astral characters, times on microsecond edges and in New York's spring-forward gap
# (the PostgreSQL server's zone), ids with gaps up to the largest INTEGER, all three states, and
# (parent, thread): threads' first comments, replies to them and replies to replies.
TRICKY = [
    (1, None, "Plain", T, None, "visible", None, None),
    (2, "Zoë 😀", "Emoji 😀👍🏽 👩‍👩‍👧, 𝕏, 中文, 日本語, 한국어, שלום, e\u0301", T,
     T + timedelta(minutes=3), "visible", None, None),
    (3, "", "Line one\nLine two\n\n\tIndented with a tab", T.replace(microsecond=0), None,
     "hidden", 2, 2),
    (7, "𝕏" * rules.AUTHOR_MAX, "𝕏" * rules.CONTENT_MAX, T.replace(microsecond=999999),
     T.replace(microsecond=1), "deleted", 3, 2),
    (8, "Ann", "x" * rules.CONTENT_MAX, datetime(2000, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
     None, "visible", None, None),
    (1000, "Bob", 'Quotes " \' and \\ backslash </script> <b>&amp;</b> *stars*',
     datetime(2021, 3, 14, 2, 30, 0, 500000, tzinfo=UTC), None, "hidden", 8, 8),
    (65536, "  padded  ", "  leading and trailing spaces  ", datetime(1999, 12, 31, 23, 59, 59,
     999999, tzinfo=UTC), datetime(2000, 1, 1, tzinfo=UTC), "visible", 1000, 8),
    (2**31 - 1, "Last", "\u2028 line and \u2029 paragraph separators, a NBSP\u00a0and \ufeff BOM",
     datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC), None, "deleted", 1, 1),
]
SAFE = TRICKY[:-1]  # the session's shared databases must not have their id counters maxed out


def invoke(runner, *args, **kwargs):
    return runner.invoke(args=["board", *map(str, args)], **kwargs)


def insert(app, rows, board=None):
    """Rows of transfer.COLUMNS but the board straight into the table, on board `board` (the
    default board when None); (parent, thread) may be left off."""
    with app.app_context():
        on = board_id(board)
        db.session.execute(sa.insert(models.TABLE),
                           [{**dict(zip(transfer.COLUMNS[:-1], full(row), strict=True)),
                             "board_id": on} for row in rows])
        db.session.commit()


def full(row):
    return tuple(row) + (None, None) * (len(row) == 6)


def rows_of(app, boards=False):
    """The stored comments as export reads them; with `boards`, each ends with its board's slug."""
    with app.app_context():
        return [tuple(row) if boards else tuple(row)[:-1] for row in
                db.session.execute(transfer.EXPORTED.order_by(models.TABLE.c.id))]


def line(id=5, author="Ann", content="Hello", posted="2017-07-07T18:47:05.123456Z", edited=None,
         state="visible", **extra):
    """A line as the previous version wrote it (no parent, no thread), plus `extra` fields."""
    return json.dumps({"id": id, "author": author, "content": content, "posted": posted,
                       "edited": edited, "state": state, **extra}, ensure_ascii=False)


def reply(id, parent, thread, **fields):
    return line(id=id, content=f"Reply {id}", parent=parent, thread=thread, **fields)


def jsonl(*lines):
    return ("\n".join(lines) + "\n").encode()


def export(runner, path):
    result = invoke(runner, "export", path)
    assert result.exit_code == 0, result.output
    return result


def import_(runner, path_or_dash, **kwargs):
    return invoke(runner, "import", path_or_dash, **kwargs)


# The format -----------------------------------------------------------------------------------

def test_export_writes_one_json_object_a_line_with_exactly_the_nine_fields(app, runner,
                                                                             tmp_path):
    insert(app, [(5, None, "Hello\n\t𝕏 \"quoted\"", T, None, "visible", None, None),
                 (6, "Zoë", "Bye", T + timedelta(seconds=1), T + timedelta(minutes=2), "hidden",
                  5, 5),
                 (9, "Ann", "Hi", T + timedelta(seconds=2), None, "visible", 6, 5)])

    result = export(runner, tmp_path / "board.jsonl")

    assert result.stderr == f"exported 3 comments to {tmp_path / 'board.jsonl'}\n"
    data = (tmp_path / "board.jsonl").read_bytes()
    assert data.decode("utf-8").splitlines() == [
        '{"id": 5, "author": null, "content": "Hello\\n\\t𝕏 \\"quoted\\"", '
        '"posted": "2017-07-07T18:47:05.123456Z", "edited": null, "state": "visible", '
        '"parent": null, "thread": null, "board": "main"}',
        '{"id": 6, "author": "Zoë", "content": "Bye", "posted": "2017-07-07T18:47:06.123456Z", '
        '"edited": "2017-07-07T18:49:05.123456Z", "state": "hidden", "parent": 5, "thread": 5, '
        '"board": "main"}',
        '{"id": 9, "author": "Ann", "content": "Hi", "posted": "2017-07-07T18:47:07.123456Z", '
        '"edited": null, "state": "visible", "parent": 6, "thread": 5, "board": "main"}',
    ]
    for text in data.decode().splitlines():  # exactly what json.dumps writes, keys in this order
        assert json.dumps(json.loads(text), ensure_ascii=False) == text
        assert list(json.loads(text)) == ["id", "author", "content", "posted", "edited", "state",
                                          "parent", "thread", "board"]


def test_export_to_standard_output_and_import_from_standard_input(app, runner):
    insert(app, SAFE)
    result = invoke(runner, "export", "-")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"exported {len(SAFE)} comments to standard output\n"
    assert len(result.stdout_bytes.splitlines()) == len(SAFE)

    with app.app_context():
        db.session.execute(sa.delete(models.TABLE))
        db.session.commit()
    imported = import_(runner, "-", input=result.stdout_bytes)
    assert imported.exit_code == 0, imported.output
    assert imported.stdout == f"imported {len(SAFE)} comments; skipped 0 the board already had\n"
    assert rows_of(app) == SAFE


def test_export_reads_the_board_in_batches_and_misses_no_row(app, runner, tmp_path, monkeypatch):
    """Batches of three over ids with gaps: a server-side cursor on PostgreSQL, SQLite's lazy
    cursor, keyset chunks on MariaDB."""
    insert(app, SAFE)
    monkeypatch.setattr(transfer, "BATCH", 3)
    export(runner, tmp_path / "board.jsonl")
    lines = (tmp_path / "board.jsonl").read_bytes().splitlines()
    assert [json.loads(text)["id"] for text in lines] == [row[0] for row in SAFE]


def test_an_empty_board_exports_an_empty_file(runner, tmp_path):
    result = export(runner, tmp_path / "empty.jsonl")
    assert result.stderr == f"exported 0 comments to {tmp_path / 'empty.jsonl'}\n"
    assert (tmp_path / "empty.jsonl").read_bytes() == b""


def test_a_failed_export_leaves_no_file(app, runner, tmp_path, monkeypatch):
    insert(app, SAFE)

    def broken(batch=None):
        yield from rows_of(app)[:2]
        raise RuntimeError("the database went away")

    monkeypatch.setattr(transfer, "exported", broken)
    (tmp_path / "old.jsonl").write_bytes(b"the previous export\n")
    result = invoke(runner, "export", tmp_path / "old.jsonl")
    assert result.exit_code == 1
    assert (tmp_path / "old.jsonl").read_bytes() == b"the previous export\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["old.jsonl"]


# Round trips and idempotence ------------------------------------------------------------------

def test_export_then_import_round_trips_every_field(app, runner, tmp_path):
    insert(app, SAFE)
    export(runner, tmp_path / "first.jsonl")
    with app.app_context():
        db.session.execute(sa.delete(models.TABLE))
        db.session.commit()

    result = import_(runner, tmp_path / "first.jsonl")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"imported {len(SAFE)} comments; skipped 0 the board already had\n"
    assert rows_of(app) == SAFE
    export(runner, tmp_path / "second.jsonl")
    assert (tmp_path / "second.jsonl").read_bytes() == (tmp_path / "first.jsonl").read_bytes()


def test_importing_the_same_file_twice_adds_nothing(app, runner, tmp_path):
    path = tmp_path / "board.jsonl"
    path.write_bytes(jsonl(*(line(id=i, content=f"Comment {i}") for i in range(10, 20))))
    assert import_(runner, path).exit_code == 0

    again = import_(runner, path)

    assert again.exit_code == 0, again.output
    assert again.stdout == "imported 0 comments; skipped 10 the board already had\n"
    assert again.stderr == ""
    assert count(app) == 10


def test_an_import_adds_only_what_the_board_lacks_and_keeps_the_boards_version(app, runner,
                                                                              tmp_path):
    insert(app, [(10, "Ann", "Comment 10", T, None, "visible"),
                 (11, "Ann", "The board's own 11", T, None, "hidden")])
    path = tmp_path / "board.jsonl"
    path.write_bytes(jsonl(*(line(id=i, content=f"Comment {i}") for i in range(10, 14)),
                           line(id=12, content="A repeat of 12 later in the file")))

    result = import_(runner, path)

    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 2 comments; skipped 3 the board already had\n"
    assert result.stderr == ("warning: some skipped ids hold a different comment on this board, "
                             "which was kept: 11, 12\n")
    assert [row[2] for row in rows_of(app)] == ["Comment 10", "The board's own 11", "Comment 12",
                                                "Comment 13"]


def test_the_next_post_after_an_import_gets_a_new_id(app, runner, tmp_path):
    client = app.test_client()
    assert post(client, "Before the import").status_code == 303
    before = max(row[0] for row in rows_of(app))
    path = tmp_path / "board.jsonl"
    imported_ids = [before + 5, before + 50]
    path.write_bytes(jsonl(*(line(id=i, content=f"Imported {i}") for i in imported_ids)))
    assert import_(runner, path).exit_code == 0

    assert post(client, "After the import").status_code == 303

    rows = rows_of(app)
    assert len(rows) == 4
    newest = max(rows, key=lambda row: row[0])
    assert newest[2] == "After the import" and newest[0] > before + 50


def test_an_import_never_moves_the_id_counter_back(app, runner, dialect, tmp_path):
    """A purged comment's id is not handed out again because an import had lower ids; except on
    SQLite, whose ids (without AUTOINCREMENT) are always max(id) + 1, purged or not."""
    client = app.test_client()
    for text in ("One", "Two", "Three"):
        assert post(client, text).status_code == 303
    first, second, third = (row[0] for row in rows_of(app))
    for comment_id in (second, third):
        assert invoke(runner, "purge", "--yes", comment_id).exit_code == 0
    path = tmp_path / "board.jsonl"
    path.write_bytes(jsonl(line(id=second, content="Imported")))
    assert import_(runner, path).exit_code == 0

    assert post(client, "Four").status_code == 303
    assert max(row[0] for row in rows_of(app)) > (second if dialect == "sqlite" else third)


# A bad line -----------------------------------------------------------------------------------

LONG_LINE = line(content="x" * 70_000)
BAD_LINES = {
    "not JSON": ("{'id': 5}", "is not valid JSON (Expecting property name enclosed in double "
                 "quotes at column 2)"),
    "cut short": (line()[:-1], "is not valid JSON"),
    "not an object": ("[5, null, \"Hello\"]", "is not a JSON object"),
    "a field missing": (line()[:-len(', "state": "visible"}')] + "}", "lacks the field(s) state"),
    "an unknown field": (line(likes=3), "has unknown field(s) likes"),
    "a field twice": (line()[:-1] + ', "id": 6}', "repeats the field(s) id"),
    "id as text": (line(id="5"), "id must be a whole number from 1 to 2147483647"),
    "id true": (line(id=True), "id must be a whole number"),
    "id fractional": (line(id=5.5), "id must be a whole number"),
    "id zero": (line(id=0), "id must be a whole number"),
    "id too big": (line(id=2**31), "id must be a whole number"),
    "author a number": (line(author=42), "author must be text or null"),
    "author too long": (line(author="a" * 65), "author: Keep your name to 64 characters"),
    "author with a bell": (line(author="Ann\u0007"), "author: Remove the control characters"),
    "content null": (line(content=None), "content must be text"),
    "content empty": (line(content=""), "content: Write a comment before posting"),
    "content too long": (line(content="x" * 4097), "content: Keep your comment to 4096 characters"),
    "content with NUL": (line(content="a\u0000b"), "content: Remove the control characters"),
    "content with escape": (line(content="\u001b[31mred"), "content: Remove the control characters"),
    "content with CR": (line(content="a\r\nb"), "content: Remove the control characters"),
    "content with C1": (line(content="a\u0085b"), "content: Remove the control characters"),
    "content with lone surrogate": ('{"id": 5, "author": null, "content": "a\\ud800b", '
                                    '"posted": "2017-07-07T18:47:05Z", "edited": null, '
                                    '"state": "visible"}', "content: Remove the control characters"),
    "unknown state": (line(state="spam"), "state must be one of visible, hidden, deleted"),
    "state missing a value": (line(state=None), "state must be one of"),
    "naive posted": (line(posted="2017-07-07T18:47:05.123456"), "posted has no time zone"),
    "naive edited": (line(edited="2017-07-07 18:50:00"), "edited has no time zone"),
    "unparsable posted": (line(posted="yesterday at noon"), "posted is not an ISO 8601 time"),
    "impossible date": (line(posted="2017-02-30T10:00:00Z"), "posted is not an ISO 8601 time"),
    "posted as a number": (line(posted=1499453225), "posted must be a time as text"),
    "posted null": (line(posted=None), "posted must be a time as text"),
    "posted before 1000": (line(posted="0999-12-31T23:59:59Z"), "posted is before the year 1000"),
    "line too long": (LONG_LINE, "is longer than 65536 bytes"),
    "html from a file": (line(html="<p>Hello</p>"), "has unknown field(s) html"),
    "parent as text": (line(parent="4", thread=4),
                       "parent must be a comment id (a whole number from 1 to 2147483647) or null"),
    "parent zero": (line(parent=0, thread=4), "parent must be a comment id"),
    "parent true": (line(parent=True, thread=4), "parent must be a comment id"),
    "thread too big": (line(parent=4, thread=2**31), "thread must be a comment id"),
    "thread without a parent": (line(parent=None, thread=4), "thread is 4 but parent is null: a "
                                "comment that answers none starts its own thread, with thread null"),
    "parent without a thread": (line(parent=4), "parent is 4 but thread is null: a reply names its "
                                "thread"),
    "a comment answering itself": (line(parent=5, thread=4), "parent is the comment's own id"),
    "a reply in its own thread": (line(parent=4, thread=5), "thread is the comment's own id"),
}


@pytest.mark.parametrize("bad, message", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_a_bad_line_is_refused_with_its_number_and_nothing_changes(app, runner, tmp_path,
                                                                   monkeypatch, bad, message):
    insert(app, [(1, "Ann", "Already here", T, None, "visible")])
    before = rows_of(app)
    # Batches of two: lines 1 and 2 are already INSERTed when line 3 is read.
    monkeypatch.setattr(transfer, "BATCH", 2)
    path = tmp_path / "bad.jsonl"
    path.write_bytes(jsonl(line(id=10), line(id=11), bad, line(id=12)))

    result = import_(runner, path)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: line 3: {message}"), result.stderr
    assert result.stderr.endswith(". Nothing was imported.\n")
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""
    assert rows_of(app) == before


def test_invalid_utf8_is_refused_with_its_line_number(app, runner, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(jsonl(line(id=10)) + line(id=11, content="caf\xe9").encode("latin-1") + b"\n")
    result = import_(runner, path)
    assert result.exit_code == 1
    assert result.stderr == "Error: line 2: is not UTF-8 text. Nothing was imported.\n"
    assert count(app) == 0


def test_a_bad_line_after_thousands_of_good_ones_rolls_them_all_back(app, runner, tmp_path):
    insert(app, [(1, "Ann", "Already here", T, None, "visible")])
    path = tmp_path / "bad.jsonl"
    good = [line(id=i, content=f"Comment {i}", posted=f"2017-07-07T18:47:05.{i:06d}Z")
            for i in range(10, 2510)]
    path.write_bytes(jsonl(*good, line(id=9999, state="spam")))

    result = import_(runner, path)

    assert result.exit_code == 1
    assert "line 2501: state must be one of" in result.stderr
    assert rows_of(app) == [(1, "Ann", "Already here", T, None, "visible", None, None)]


def test_blank_lines_and_other_time_zones_are_accepted(app, runner, tmp_path):
    path = tmp_path / "board.jsonl"
    path.write_bytes(b"\n" + jsonl(line(id=10, posted="2017-07-07T20:47:05.123456+02:00",
                                        edited="2017-07-07T18:50:00Z")) + b"   \n")
    result = import_(runner, path)
    assert result.exit_code == 0, result.output
    assert rows_of(app) == [(10, "Ann", "Hello", T, datetime(2017, 7, 7, 18, 50, tzinfo=UTC),
                             "visible", None, None)]


# Threads --------------------------------------------------------------------------------------

def whole_rows(app):
    """Every column an import sets or recounts, reply counts and HTML included, in id order."""
    table = models.TABLE
    with app.app_context():
        return db.session.execute(sa.select(
            *(table.c[name] for name in transfer.COLUMNS[:-1]), table.c.replies, table.c.html)
            .order_by(table.c.id)).all()


def empty_the_board(app):
    with app.app_context():
        db.session.execute(sa.delete(models.TABLE))
        db.session.commit()


def test_a_board_with_threads_round_trips_with_reply_counts_and_html(app, runner, tmp_path,
                                                                      clock):
    with app.app_context():
        def add(author, content, parent=None):
            clock.advance(seconds=1)
            return models.add(author, content, parent_id=parent).id

        first = add("Ann", "The *first* thread")
        answer = add("Bob", "A reply with `code`", first)
        deeper = add(None, "A reply to the reply: https://example.org/a_b", answer)
        deepest = add("Cy", "> quoting\n\n- and a list", deeper)
        second = add("Di", "Second thread")
        hidden = add("Ed", "Hidden reply", second)
        models.moderate(hidden, "hide")
        models.moderate(add("Fay", "Deleted reply", first), "delete")
    before = whole_rows(app)
    threads = {row.id: row for row in before}
    assert (threads[first].replies, threads[second].replies) == (3, 0)
    assert [(threads[i].parent_id, threads[i].thread_id) for i in (answer, deeper, deepest)] == [
        (first, first), (answer, first), (deeper, first)]

    export(runner, tmp_path / "board.jsonl")
    empty_the_board(app)
    result = import_(runner, tmp_path / "board.jsonl")

    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 7 comments; skipped 0 the board already had\n"
    assert whole_rows(app) == before
    page = app.test_client().get(f"/comments/{first}").get_data(as_text=True)
    assert "<em>first</em>" in page and "<code>code</code>" in page


def test_an_import_renders_html_and_files_without_parent_and_thread_still_import(app, runner,
                                                                                 tmp_path):
    """A file from before replies: six fields a line. Its comments start threads of their own."""
    path = tmp_path / "old.jsonl"
    path.write_bytes(jsonl(line(id=10, content="Some *Markdown* <b>not HTML</b>"),
                           line(id=11, content="Plain")))

    result = import_(runner, path)

    assert result.exit_code == 0, result.output
    assert [tuple(row) for row in whole_rows(app)] == [
        (10, "Ann", "Some *Markdown* <b>not HTML</b>", T, None, "visible", None, None, 0,
         markup.render("Some *Markdown* <b>not HTML</b>")),
        (11, "Ann", "Plain", T, None, "visible", None, None, 0, markup.render("Plain"))]
    assert "Some <em>Markdown</em> &lt;b&gt;not HTML&lt;/b&gt;" in whole_rows(app)[0].html
    export(runner, tmp_path / "new.jsonl")
    assert [json.loads(text)["parent"] for text in (tmp_path / "new.jsonl").read_text()
            .splitlines()] == [None, None]


def test_a_reply_may_come_before_its_parent_or_answer_a_comment_on_the_board(app, runner,
                                                                             tmp_path,
                                                                             monkeypatch):
    insert(app, [(1, "Ann", "On the board", T, None, "visible")])
    # Batches of two: replies 13 and 12 are stored before their thread, 10, is read.
    monkeypatch.setattr(transfer, "BATCH", 2)
    path = tmp_path / "board.jsonl"
    path.write_bytes(jsonl(reply(13, 12, 10), reply(12, 10, 10), line(id=11), line(id=10),
                           reply(14, 1, 1), reply(15, 10, 10, state="hidden")))

    result = import_(runner, path)

    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 6 comments; skipped 0 the board already had\n"
    assert [(row.id, row.parent_id, row.thread_id, row.replies) for row in whole_rows(app)] == [
        (1, None, None, 1), (10, None, None, 2), (11, None, None, 0), (12, 10, 10, 0),
        (13, 12, 10, 0), (14, 1, 1, 0), (15, 10, 10, 0)]


NOWHERE = "answers comment 99, which is neither in the file nor on the board"
WRONG_THREADS = {
    "parent nowhere": ([line(id=10), reply(11, 10, 10), reply(12, 99, 99)],
                       f"line 3: comment 12 {NOWHERE}"),
    "parent nowhere, before others": ([reply(12, 99, 99), line(id=10), reply(11, 10, 10)],
                                      f"line 1: comment 12 {NOWHERE}"),
    "not the parent's thread": ([line(id=10), line(id=11), reply(12, 10, 11)],
                                "line 3: comment 12 has thread 11, but its parent 10 starts a "
                                "thread: thread must be 10"),
    "not the parent's parent's thread": ([line(id=10), line(id=11), reply(12, 10, 10),
                                          reply(13, 12, 11)],
                                         "line 4: comment 13 has thread 11, but its parent 12 is "
                                         "in thread 10"),
    "wrong, and before its parent": ([reply(13, 12, 11), line(id=10), line(id=11),
                                      reply(12, 10, 10)],
                                     "line 1: comment 13 has thread 11, but its parent 12 is in "
                                     "thread 10"),
    "not the thread of a parent on the board": ([line(id=5), reply(12, 2, 5)],
                                                "line 2: comment 12 has thread 5, but its parent "
                                                "2 is in thread 1"),
    "a loop in no thread": ([reply(20, 21, 30), reply(21, 20, 30)],
                            "line 1: comment 20 is in thread 30, which is neither in the file "
                            "nor on the board"),
    "a loop in a reply": ([reply(20, 21, 2), reply(21, 20, 2)],
                          "line 1: comment 20 is in thread 2, which is a reply (in thread 1), not "
                          "a thread's first comment"),
}


@pytest.mark.parametrize("lines, message", WRONG_THREADS.values(), ids=WRONG_THREADS.keys())
def test_a_reply_to_a_comment_that_is_nowhere_or_in_the_wrong_thread_is_refused(
        app, runner, tmp_path, monkeypatch, lines, message):
    insert(app, [(1, "Ann", "On the board", T, None, "visible"),
                 (2, "Bob", "A reply on the board", T, None, "visible", 1, 1)])
    before = whole_rows(app)
    monkeypatch.setattr(transfer, "BATCH", 2)
    path = tmp_path / "bad.jsonl"
    path.write_bytes(jsonl(*lines))

    result = import_(runner, path)

    assert result.exit_code == 1
    assert result.stderr == f"Error: {message}. Nothing was imported.\n"
    assert result.stdout == ""
    assert whole_rows(app) == before


# Progress -------------------------------------------------------------------------------------

def test_a_progress_bar_only_on_a_terminal(app, runner, tmp_path, monkeypatch):
    insert(app, SAFE)
    path = tmp_path / "board.jsonl"
    assert "exporting" not in export(runner, path).stderr
    assert "importing" not in import_(runner, path).stderr

    monkeypatch.setattr(cli, "terminal", lambda: True)
    assert "exporting" in export(runner, path).stderr
    result = import_(runner, path)
    assert result.exit_code == 0 and "importing" in result.stderr


# Across all three databases -------------------------------------------------------------------

def migrated(url):
    app = create_app("testing", {"DATABASE_URL": url})
    with app.app_context():
        flask_migrate.upgrade()
    return app


def db_name(app):
    with app.app_context():
        return db.engine.dialect.name


def test_a_round_trip_sqlite_postgresql_mariadb_sqlite_keeps_every_byte(servers, tmp_path):
    """How a board that outgrew SQLite moves to a server database, and back."""
    apps = [migrated(f"sqlite:///{tmp_path / 'source.sqlite'}"),
            migrated(servers("postgresql").create_database()),
            migrated(servers("mariadb").create_database()),
            migrated(f"sqlite:///{tmp_path / 'back.sqlite'}")]
    try:
        insert(apps[0], TRICKY)
        files = []
        for number, app in enumerate(apps):
            runner = app.test_cli_runner()
            if files:
                result = import_(runner, files[-1])
                assert result.exit_code == 0, result.output
                assert result.stdout.startswith(f"imported {len(TRICKY)} comments;")
            files.append(tmp_path / f"{number}-{db_name(app)}.jsonl")
            export(runner, files[-1])

            assert rows_of(app) == TRICKY  # field by field, microseconds and UTC included
        first = files[0].read_bytes()
        assert [path.read_bytes() == first for path in files] == [True] * 4
        assert len(first.splitlines()) == len(TRICKY)
        assert "𝕏".encode() * rules.CONTENT_MAX in first  # kept as UTF-8, not \u-escaped
    finally:
        for app in apps:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


# Memory ---------------------------------------------------------------------------------------

@pytest.fixture
def sqlite_apps(tmp_path):
    made = []

    def make(name):
        made.append(migrated(f"sqlite:///{tmp_path / name}"))
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


def peak_growth(app, *args):
    """Run `flask board *args`; its result, and the peak of Python memory above the level it
    started from (tracemalloc), in bytes."""
    runner = app.test_cli_runner()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        result = invoke(runner, *args)
        return result, tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def fill(app, rows):
    """`rows` comments of 60 to 260 characters in one SQL statement, in SQLite's own storage
    format for times: a test's setup, much faster than any insert from Python."""
    with app.app_context():
        db.session.execute(sa.text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) "
            "INSERT INTO comments (id, board_id, author, content, posted, state) "
            "SELECT i, :board, CASE WHEN i % 4 THEN 'Author ' || (i % 97) END, "
            "'Comment ' || i || ' 😀 ' || substr(hex(randomblob(100)), 1, 50 + i % 200), "
            "printf('2020-01-%02d %02d:%02d:%02d.%06d', 1 + i / 86400 % 28, i / 3600 % 24, "
            "i / 60 % 60, i % 60, i % 1000000), 'visible' FROM n"), {"rows": rows, "board": board_id()})
        db.session.commit()


def first_lines(source, target, count):
    with source.open("rb") as whole, target.open("wb") as part:
        part.writelines(next(whole) for _ in range(count))
    return target


def test_export_and_import_stream_in_flat_memory(sqlite_apps, tmp_path):
    """Ten times the rows, the same peak: a batch of rows is in memory, never the whole board
    (100,000 rows as Python objects would take about 60 MB). tracemalloc slows Python several
    times over, hence the modest sizes."""
    peaks = {}
    for rows in (10_000, 100_000):
        source = sqlite_apps(f"source-{rows}.sqlite")
        fill(source, rows)
        path = tmp_path / f"board-{rows}.jsonl"
        result, peaks["export", rows] = peak_growth(source, "export", path)
        assert result.exit_code == 0, result.output
        part = first_lines(path, tmp_path / f"part-{rows}.jsonl", rows // 4)
        target = sqlite_apps(f"target-{rows}.sqlite")
        result, peaks["import", rows] = peak_growth(target, "import", part)
        assert result.exit_code == 0, result.output
        assert count(target) == rows // 4

    shown = {key: f"{peak / 2**20:.1f} MB" for key, peak in peaks.items()}
    for command in ("export", "import"):
        assert peaks[command, 100_000] < 4 * 2**20, shown
        assert peaks[command, 100_000] < peaks[command, 10_000] + 2**20, shown
