"""`flask board ...` for moderators: list, hide, unhide, delete and purge comments; hash the
moderator password; seed a board; render comments' HTML again. Each command's output and exit
code, on every database."""

import re
from datetime import datetime, timedelta, timezone

import flask_migrate
import pytest
from werkzeug.security import check_password_hash

import sqlalchemy as sa

from board import cli, create_app, markup, models, rules, transfer
from board.extensions import db
from tests.helpers import board_id, count, soup

START = datetime(2017, 7, 7, 18, 47, 5, 123456, tzinfo=timezone.utc)
LONG = "A first line that goes on and on\nand a second line, \tand then some more text to cut"

# (state, verb): the state the comment ends in, or None when the command must refuse. Written out
# by hand, not derived from rules.VERBS, so that the table itself is under test.
RULES = {
    ("visible", "approve"): None, ("visible", "reject"): None, ("visible", "hide"): "hidden",
    ("visible", "unhide"): None, ("visible", "delete"): "deleted",
    ("hidden", "approve"): None, ("hidden", "reject"): None, ("hidden", "hide"): None,
    ("hidden", "unhide"): "visible", ("hidden", "delete"): "deleted",
    ("deleted", "approve"): None, ("deleted", "reject"): None, ("deleted", "hide"): None,
    ("deleted", "unhide"): None, ("deleted", "delete"): None,
    ("held", "approve"): "visible", ("held", "reject"): "deleted", ("held", "hide"): None,
    ("held", "unhide"): None, ("held", "delete"): None,
}
TARGETS = {"approve": "visible", "reject": "deleted", "hide": "hidden", "unhide": "visible",
           "delete": "deleted"}


def invoke(runner, *args, **kwargs):
    return runner.invoke(args=["board", *map(str, args)], **kwargs)


def add(app, content="Hello", author=None, state=rules.VISIBLE, posted=START):
    with app.app_context():
        comment = models.Comment(content=content, author=author, state=state, posted=posted,
                                 board_id=board_id())
        db.session.add(comment)
        db.session.commit()
        return comment.id


def stored(app, comment_id):
    with app.app_context():
        return db.session.get(models.Comment, comment_id)


HEADER = ["id", "state", "posted", "(UTC)", "author", "replies", "reply", "to", "content"]


def table_rows(result):
    """The listed rows, without the header and the closing note: (id, state, rest)."""
    lines = result.stdout.splitlines()
    assert lines[0].split() == HEADER
    return [line.split(None, 2) for line in lines[1:] if not line.startswith("(")]


# list ----------------------------------------------------------------------------------------

def test_list_shows_visible_comments_newest_first_as_a_table(app, runner):
    older = add(app, "Older", author="Ann", posted=START)
    newer = add(app, LONG, posted=START + timedelta(minutes=1))
    add(app, "Hidden", author="Spammer", state=rules.HIDDEN, posted=START + timedelta(minutes=2))

    result = invoke(runner, "list")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert [row[0] for row in table_rows(result)] == [str(newer), str(older)]
    assert re.fullmatch(rf" *{newer}  visible  2017-07-07 18:48:05  Anonymous +0 +"
                        r"A first line that goes on and on and a second line, and the…", lines[1])
    assert re.fullmatch(rf" *{older}  visible  2017-07-07 18:47:05  Ann +0 +Older", lines[2])
    # The content starts in the same column on every line.
    starts = zip(lines, ["content", "A first", "Older"], strict=True)
    assert {line.index(text) for line, text in starts} == {lines[0].index("content")}


def test_list_shows_what_each_reply_answers_and_each_threads_reply_count(app, runner, clock):
    with app.app_context():
        def reply(parent, content):
            clock.advance(minutes=1)
            return models.add("Bob", content, parent_id=parent).id

        first = models.add("Ann", "A thread").id
        answer = reply(first, "An answer")
        deeper = reply(answer, "An answer to the answer")
        models.moderate(reply(first, "Hidden"), "hide")
        clock.advance(minutes=1)
        lonely = models.add(None, "A thread of its own").id

    result = invoke(runner, "list")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    starts = [lines[0].index(name) for name in ("author", "replies", "reply to", "content")]
    ends = starts[1:] + [None]
    cells = {int(line.split()[0]): [line[start:end].strip() for start, end in zip(starts, ends)]
             for line in lines[1:]}
    assert cells == {
        lonely: ["Anonymous", "0", "", "A thread of its own"],
        deeper: ["Bob", "", f"#{answer} in #{first}", "An answer to the answer"],
        answer: ["Bob", "", f"#{first}", "An answer"],
        first: ["Ann", "2", "", "A thread"],  # the hidden reply is not counted
    }
    assert list(cells) == [lonely, deeper, answer, first]
    # The columns line up: two spaces before each, counts under the end of "replies".
    for line in lines:
        assert {line[start - 2:start] for start in starts} == {"  "}
    assert [line[starts[2] - 3] for line in lines] == ["s", "0", " ", " ", "2"]


def test_list_hidden_shows_hidden_and_deleted_comments_instead(app, runner):
    add(app, "Visible")
    hidden = add(app, "Hidden", state=rules.HIDDEN, posted=START + timedelta(seconds=1))
    deleted = add(app, "Deleted", state=rules.DELETED, posted=START + timedelta(seconds=2))

    result = invoke(runner, "list", "--hidden")

    assert result.exit_code == 0, result.output
    assert [row[:2] for row in table_rows(result)] == [[str(deleted), "deleted"],
                                                       [str(hidden), "hidden"]]
    assert "Visible" not in result.stdout


def test_list_limit_lists_the_newest_and_says_there_are_more(app, runner):
    ids = [add(app, f"Comment {i}", posted=START + timedelta(seconds=i)) for i in range(5)]

    result = invoke(runner, "list", "--limit", 2)

    assert result.exit_code == 0, result.output
    assert [row[0] for row in table_rows(result)] == [str(ids[4]), str(ids[3])]
    assert result.stdout.splitlines()[-1] == "(the newest 2; --limit N lists more)"
    assert invoke(runner, "list", "--limit", 5).stdout.splitlines()[-1].split()[0] == str(ids[0])
    assert invoke(runner, "list", "--limit", 0).exit_code == 2


def test_list_on_an_empty_board_says_so(app, runner):
    assert invoke(runner, "list").stdout == "no visible comments\n"
    assert invoke(runner, "list", "--hidden").stdout == "no hidden or deleted comments\n"
    add(app, "Visible")
    assert invoke(runner, "list", "--hidden").stdout == "no hidden or deleted comments\n"


# hide, unhide, delete --------------------------------------------------------------------------

def test_the_rules_table_says_what_each_verb_does_to_each_state():
    # The CLI and the moderator page both act through models.moderate, which follows this table.
    table = {(state, verb): (to if state in allowed else None)
             for verb, (allowed, to) in rules.VERBS.items() for state in rules.STATES}
    assert table == RULES


def test_hide_unhide_delete_follow_the_rules_and_take_a_new_revision(app, runner, clock):
    revisions = []
    for (state, verb), to in RULES.items():
        comment_id = add(app, f"{verb} a {state} comment", state=state)
        clock.advance(seconds=1)

        result = invoke(runner, verb, comment_id)

        comment = stored(app, comment_id)
        if to is None:
            assert result.exit_code == 1, (state, verb, result.output)
            expected = (f"comment {comment_id} is already {state}" if state == TARGETS[verb]
                        else f"comment {comment_id} is {state}; it cannot become {TARGETS[verb]}")
            assert result.stderr.startswith(f"Error: {expected}"), (state, verb, result.stderr)
            assert result.stdout == ""
            assert (comment.state, comment.revision) == (state, None)
        else:
            assert result.exit_code == 0, (state, verb, result.output)
            assert result.stdout == f"comment {comment_id}: {state} -> {to}\n"
            assert comment.state == to
            revisions.append(comment.revision)
    # Each change takes the next revision: open boards ask for the changes after one.
    assert revisions == sorted(revisions) and len(set(revisions)) == len(revisions) > 1


def test_a_hidden_comment_leaves_the_board_and_comes_back(app, runner):
    comment_id = add(app, "Now you see me")
    client = app.test_client()

    assert invoke(runner, "hide", comment_id).exit_code == 0
    assert client.get(f"/comments/{comment_id}").status_code == 404
    assert soup(client.get("/")).select(f"#comment-{comment_id}") == []

    assert invoke(runner, "unhide", comment_id).exit_code == 0
    assert client.get(f"/comments/{comment_id}").status_code == 200

    assert invoke(runner, "delete", comment_id).exit_code == 0
    assert client.get(f"/comments/{comment_id}").status_code == 404
    assert stored(app, comment_id).content == "Now you see me"  # kept for audit


@pytest.mark.parametrize("command", [["hide"], ["unhide"], ["delete"], ["purge", "--yes"]])
def test_an_unknown_id_is_an_error(app, runner, command):
    missing = add(app, "Soon gone") + 1000
    result = invoke(runner, *command, missing)
    assert result.exit_code == 1
    assert result.stderr == f"Error: there is no comment {missing}\n"
    assert result.stdout == ""
    for not_an_id in ("0", "seven", str(2**63)):
        result = invoke(runner, *command, not_an_id)
        assert result.exit_code == 2 and "Invalid value for 'ID'" in result.stderr
    assert count(app) == 1


# purge -----------------------------------------------------------------------------------------

def test_purge_removes_the_row_after_asking(app, runner):
    keep = add(app, "Keep me", author="Ann")
    gone = add(app, "Purge me", state=rules.DELETED)

    refused = invoke(runner, "purge", keep, input="n\n")
    assert refused.exit_code == 1
    assert f"Purge comment {keep} (visible, by Ann: 'Keep me') for good? [y/N]" in refused.stdout
    assert "Aborted" in refused.stderr
    assert stored(app, keep) is not None

    confirmed = invoke(runner, "purge", gone, input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert confirmed.stdout.endswith(f"comment {gone}: purged\n")
    assert stored(app, gone) is None

    result = invoke(runner, "purge", "--yes", keep)
    assert (result.exit_code, result.stdout) == (0, f"comment {keep}: purged\n")
    assert count(app) == 0


# hash-password ---------------------------------------------------------------------------------

@pytest.fixture
def plain_runner():
    """hash-password needs no database."""
    return create_app("testing", {"DATABASE_URL": "sqlite://"}).test_cli_runner()


def test_hash_password_asks_twice_without_echo_and_prints_a_hash(plain_runner):
    result = invoke(plain_runner, "hash-password", input="correct horse\ncorrect horse\n")

    assert result.exit_code == 0, result.output
    assert result.stderr.count("Moderator password") == 1
    assert "Repeat for confirmation" in result.stderr
    assert "correct horse" not in result.output
    password_hash = result.stdout.strip()  # alone on stdout: HASH=$(flask board hash-password)
    assert check_password_hash(password_hash, "correct horse")
    assert "BOARD_MODERATOR_PASSWORD_HASH='" in result.stderr


def test_hash_password_refuses_two_different_entries(plain_runner):
    result = invoke(plain_runner, "hash-password", input="one\ntwo\n")
    assert result.exit_code == 1
    assert "do not match" in result.output
    assert not re.search(r"^(scrypt|pbkdf2):", result.stdout, re.M)


def test_hash_password_reads_standard_input_for_scripts(plain_runner):
    result = invoke(plain_runner, "hash-password", "--password-stdin",
                    input="  spaces count \nsecond line ignored\n")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1  # the hash alone: $(flask board hash-password ...)
    assert check_password_hash(result.stdout.strip(), "  spaces count ")

    empty = invoke(plain_runner, "hash-password", "--password-stdin", input="\n")
    assert (empty.exit_code, empty.stderr) == (1, "Error: the password is empty\n")


def test_hash_password_refuses_a_password_shorter_than_12_characters(plain_runner):
    for args, text in [(["--password-stdin"], "eleven char\n"),
                       ([], "eleven char\neleven char\n")]:
        result = invoke(plain_runner, "hash-password", *args, input=text)
        assert result.exit_code == 1
        assert "Error: the password is too short: use at least 12 characters" in result.stderr
        assert not re.search(r"^(scrypt|pbkdf2):", result.stdout, re.M)
    twelve = invoke(plain_runner, "hash-password", "--password-stdin", input="twelve chars\n")
    assert twelve.exit_code == 0 and check_password_hash(twelve.stdout.strip(), "twelve chars")


@pytest.mark.one_database
def test_the_printed_hash_logs_the_moderator_in(app_factory, plain_runner):
    password_hash = invoke(plain_runner, "hash-password", "--password-stdin",
                           input="a moderator's password\n").stdout.strip()
    client = app_factory(BOARD_MODERATOR_PASSWORD_HASH=password_hash).test_client()
    token = soup(client.get("/moderate/login")).find("input", {"name": "csrf_token"})["value"]
    response = client.post("/moderate/login",
                           data={"password": "a moderator's password", "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/moderate/"


# seed ------------------------------------------------------------------------------------------

def seeded(app):
    with app.app_context():
        return db.session.execute(transfer.EXPORTED.order_by(models.TABLE.c.id)).all()


def test_seed_adds_realistic_comments_posted_one_after_another(app, runner, clock):
    result = invoke(runner, "seed", 400, "--seed", 7)

    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"seeded 400 comments in \d+\.\d\d s \([\d,]+ rows/s\)\n", result.stdout)
    rows = seeded(app)
    assert len(rows) == 400
    posted = [row.posted for row in rows]
    assert posted == sorted(posted) and len(set(posted)) == 400  # strictly increasing with id
    assert clock.now - timedelta(weeks=4) <= posted[0] and posted[-1] <= clock.now
    assert posted[-1] - posted[0] > timedelta(weeks=3)  # spread over the weeks
    authors = [row.author for row in rows]
    assert None in authors and len(set(authors)) > 10
    assert all(0 < len(row.content) <= rules.CONTENT_MAX for row in rows)
    assert any("\n" in row.content for row in rows)
    assert {row.state for row in rows} == {rules.VISIBLE}
    edited = [row for row in rows if row.edited]
    assert edited and all(row.posted < row.edited <= clock.now for row in edited)
    # It shows on the board like any comment.
    assert soup(app.test_client().get("/")).select(f"#comment-{rows[-1].id}")


def test_seed_with_a_seed_makes_the_same_comments(app, runner, clock):
    assert invoke(runner, "seed", 50, "--seed", 1).exit_code == 0
    assert invoke(runner, "seed", 50, "--seed", 1).exit_code == 0
    assert invoke(runner, "seed", 50, "--seed", 2).exit_code == 0
    rows = [tuple(row)[1:] for row in seeded(app)]
    assert rows[:50] == rows[50:100]
    assert rows[:50] != rows[100:]


def test_seeded_comments_have_their_html(app, runner):
    """demo.py puts each comment's HTML together from its sentences': the same HTML as
    rendering the comment, in a fraction of the time."""
    assert invoke(runner, "seed", 400, "--seed", 3).exit_code == 0
    with app.app_context():
        rows = db.session.execute(sa.select(models.TABLE.c.content, models.TABLE.c.html)).all()
    assert len(rows) == 400
    assert all(row.html == markup.render(row.content) for row in rows)
    assert any("\n\n" in row.content for row in rows)


def test_seed_renders_rows_that_come_without_html(app):
    with app.app_context():
        assert transfer.seed_comments([{"author": None, "content": "*Hi*", "posted": START,
                                        "state": rules.VISIBLE}]) == 1
        html = db.session.scalar(sa.select(models.TABLE.c.html))
    assert html == markup.render("*Hi*") and "<em>Hi</em>" in html


@pytest.mark.one_database
def test_seed_refuses_nonsense(runner):
    assert invoke(runner, "seed", 0).exit_code == 2
    assert invoke(runner, "seed", "many").exit_code == 2
    assert invoke(runner, "seed", 5, "--weeks", 0).exit_code == 2


@pytest.fixture
def sqlite_app(tmp_path):
    app = create_app("testing", {"DATABASE_URL": f"sqlite:///{tmp_path / 'board.sqlite'}"})
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_seed_inserts_in_bulk(sqlite_app):
    """Tens of thousands of rows a second on SQLite (one INSERT per row would manage a few
    hundred); the bound is loose so a busy machine does not fail it."""
    result = invoke(sqlite_app.test_cli_runner(), "seed", 50_000)
    assert result.exit_code == 0, result.output
    rate = int(re.search(r"\(([\d,]+) rows/s\)", result.stdout).group(1).replace(",", ""))
    assert rate > 5_000, result.stdout
    assert count(sqlite_app) == 50_000


# rerender --------------------------------------------------------------------------------------

def html_of(app):
    with app.app_context():
        return dict(db.session.execute(sa.select(models.TABLE.c.id, models.TABLE.c.html)).all())


def test_rerender_fills_in_html_that_is_missing_or_stale(app, runner, monkeypatch):
    monkeypatch.setattr(transfer, "BATCH", 3)  # several batches, one short
    with app.app_context():
        ids = [models.add("Ann", f"Comment *{i}*").id for i in range(7)]
        ids.append(models.add("Bob", "A **reply**", parent_id=ids[0]).id)
        models.moderate(ids[1], "delete")
        revisions = dict(db.session.execute(
            sa.select(models.TABLE.c.id, models.TABLE.c.revision)).all())
    expected = html_of(app)
    assert "<strong>reply</strong>" in expected[ids[-1]]
    with app.app_context():  # as stored before Markdown, and by an older renderer
        db.session.execute(sa.text("UPDATE comments SET html = NULL WHERE id <> :id"),
                           {"id": ids[2]})
        db.session.execute(sa.text("UPDATE comments SET html = 'stale' WHERE id = :id"),
                           {"id": ids[2]})
        db.session.commit()
    page = app.test_client().get(f"/comments/{ids[0]}").get_data(as_text=True)
    assert "Comment *0*" in page  # shown as its text until rendered

    result = invoke(runner, "rerender")

    assert result.exit_code == 0, result.output
    assert result.stdout == "rendered 8 comments\n"
    assert html_of(app) == expected
    with app.app_context():  # a new revision would make every open board fetch them again
        assert dict(db.session.execute(
            sa.select(models.TABLE.c.id, models.TABLE.c.revision)).all()) == revisions
    page = app.test_client().get(f"/comments/{ids[0]}").get_data(as_text=True)
    assert "<em>0</em>" in page

    again = invoke(runner, "rerender")
    assert (again.exit_code, again.stdout) == (0, "rendered 8 comments\n")
    assert html_of(app) == expected


def test_rerender_leaves_a_comment_edited_meanwhile_to_its_edit(app, monkeypatch):
    with app.app_context():
        comment_id = models.add("Ann", "Before").id
        db.session.execute(sa.text("UPDATE comments SET html = NULL"))
        db.session.commit()
    rendered, edits = markup.render, []

    def render_while_the_author_edits(source):
        if not edits:  # the edit renders too
            edits.append(source)
            with app.app_context():
                models.change(db.session.get(models.Comment, comment_id), content="*After*")
        return rendered(source)

    monkeypatch.setattr(markup, "render", render_while_the_author_edits)
    with app.app_context():
        assert transfer.rerender() == 1
    assert html_of(app) == {comment_id: markup.render("*After*")}


def test_rerender_shows_progress_on_a_terminal_and_counts_an_empty_board(app, runner,
                                                                        monkeypatch):
    assert invoke(runner, "rerender").stdout == "rendered 0 comments\n"
    with app.app_context():
        models.add(None, "Hello")
    assert "rendering" not in invoke(runner, "rerender").stderr
    monkeypatch.setattr(cli, "terminal", lambda: True)
    result = invoke(runner, "rerender")
    assert result.exit_code == 0 and "rendering" in result.stderr
