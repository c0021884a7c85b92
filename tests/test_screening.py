"""Keeping spam out (board/screening.py): the block lists (words, names, networks), the local
spam score and its thresholds, Akismet (checked against a stand-in that speaks its documented
protocol on loopback: comment-check, submit-spam, submit-ham), the decisions each leaves for
/moderate, /moderate/blocks and `flask board blocks`."""

import json
import re
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from board import models, rules, screening
from board.extensions import db
from tests.helpers import HTMX, csrf_token, error_message, soup, textarea_value

one_database = pytest.mark.one_database
KEY = "stand-in-key"
PASSWORD = "correct horse battery staple"
SPAMMER = "akismet-guaranteed-spam"  # Akismet's documented test author: always spam


# --- Helpers ---------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def clean_lists(app_factory):
    """Block lists, decisions and the outbox outlive a test's comments: empty them afterwards."""
    yield
    apps = [app_factory()]
    with apps[0].app_context():
        for table in (models.BLOCKS, models.DECISIONS, models.OUTBOX, models.TRUSTED):
            db.session.execute(sa.delete(table))
        db.session.commit()


def stamp(app, seconds_ago=60):
    """The form's `started` as a page shown `seconds_ago` would have it."""
    with app.app_context():
        return screening.form_stamp(time.time() - seconds_ago)


def send(app, client, content, author="", started="old", ip=None, htmx=False, **fields):
    """Post like a browser whose form was shown a minute ago (started="old"), from `ip`."""
    data = {"content": content, "author": author, "csrf_token": csrf_token(client), **fields}
    if started == "old":
        data["started"] = stamp(app)
    elif started is not None:
        data["started"] = started
    extra = {"environ_base": {"REMOTE_ADDR": ip}} if ip else {}
    return client.post("/comments", data=data, headers=HTMX if htmx else {}, **extra)


def block(app, kind, value, action="hold"):
    with app.app_context():
        return screening.add_block(kind, value, action)[0]


def rows(app, statement):
    with app.app_context():
        return db.session.execute(statement).all()


def comments(app):
    return rows(app, sa.select(models.TABLE.c.id, models.TABLE.c.state, models.TABLE.c.content)
                .order_by(models.TABLE.c.id))


def decisions(app):
    found = rows(app, sa.select(models.DECISIONS).order_by(models.DECISIONS.c.id))
    return [(row.action, row.rule, json.loads(row.detail) if row.detail else {}, row.comment_id)
            for row in found]


def outbox(app):
    return [(row.kind, row.recipient, json.loads(row.payload))
            for row in rows(app, sa.select(models.OUTBOX).order_by(models.OUTBOX.c.id))]


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["board", *map(str, args)])


# --- The block lists, on every database -------------------------------------------------------

def test_each_kind_of_block_holds_or_refuses_and_records_why(app_factory):
    """Every kind of entry, on every database: a refused post is stored nowhere but its decision,
    shows the kind's message and keeps its text; a held one waits with the rule that held it."""
    app = app_factory(BOARD_TRUSTED_PROXIES=1)
    client = app.test_client()
    assert cli(app, "blocks", "add", "word", "Cheap Pills", "--refuse").exit_code == 0
    assert cli(app, "blocks", "add", "name", "Spam King").exit_code == 0
    assert cli(app, "blocks", "add", "network", "203.0.113.0/24", "--refuse").exit_code == 0
    assert cli(app, "blocks", "add", "network", "2001:db8::/32").exit_code == 0

    refused = send(app, client, "Buy CHEAP   pills today!", author="Ann")
    assert refused.status_code == 422
    assert error_message(refused) == screening.REFUSALS["word"]
    assert textarea_value(soup(refused).find("textarea", {"name": "content"})) \
        == "Buy CHEAP   pills today!"

    held = send(app, client, "Hello from the king", author="spam-KING")
    assert held.status_code == 303

    # Behind one trusted proxy, the client is the address it forwarded.
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.77"
    from_network = send(app, client, "Hello from a blocked network")
    assert from_network.status_code == 422
    assert error_message(from_network) == screening.REFUSALS["network"]
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "2001:db8:1::5"
    held_v6 = send(app, client, "Hello from a held IPv6 network")
    assert held_v6.status_code == 303
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.1"
    assert send(app, client, "Hello from elsewhere").status_code == 303

    stored = comments(app)
    assert [(state, content) for _, state, content in stored] == [
        (rules.HELD, "Hello from the king"), (rules.HELD, "Hello from a held IPv6 network"),
        (rules.VISIBLE, "Hello from elsewhere")]
    found = decisions(app)
    assert [(action, rule, comment) for action, rule, _, comment in found] == [
        ("refused", 'block list: word "cheap pills"', None),
        ("held", 'block list: name "Spam King"', stored[0].id),
        ("refused", "block list: network 203.0.113.0/24", None),
        ("held", "block list: network 2001:db8::/32", stored[1].id),
    ]
    # What a refused post was, and what a report to Akismet would need of a held one.
    assert found[0][2]["content"] == "Buy CHEAP   pills today!" and found[0][2]["author"] == "Ann"
    assert found[2][2]["user_ip"] == "203.0.113.77"
    assert found[3][2]["user_ip"] == "2001:db8:1::5" and found[3][2]["user_agent"]


def test_the_cli_lists_adds_and_removes_entries_and_refuses_duplicates(app):
    assert cli(app, "blocks", "list").output == "the block lists are empty\n"
    added = cli(app, "blocks", "add", "word", "  Casino   Royale ")
    assert added.exit_code == 0 and "word 'casino royale', held" in added.output
    assert cli(app, "blocks", "add", "network", "2001:DB8::1/48", "--refuse").output \
        .endswith("network '2001:db8::/48', refused\n")
    # The same entry twice, whatever its case, spacing or database collation.
    again = cli(app, "blocks", "add", "word", "CASINO royale", "--refuse")
    assert again.exit_code == 1 and "already on the block list" in again.output
    assert cli(app, "blocks", "add", "name", "Bob").exit_code == 0
    assert cli(app, "blocks", "add", "name", "B.O.B").exit_code == 1
    listing = cli(app, "blocks", "list").output.splitlines()
    assert listing[0].split() == ["id", "kind", "action", "added", "(UTC)", "value"]
    assert [line.split()[1:3] + line.split()[5:] for line in listing[1:]] == [
        ["name", "hold", "Bob"], ["network", "refuse", "2001:db8::/48"],
        ["word", "hold", "casino", "royale"]]
    first = int(listing[-1].split()[0])
    assert cli(app, "blocks", "remove", first).output == \
        f"block {first}: removed (word 'casino royale')\n"
    gone = cli(app, "blocks", "remove", first)
    assert gone.exit_code == 1 and f"there is no block list entry {first}" in gone.output
    assert len(cli(app, "blocks", "list").output.splitlines()) == 3


@one_database
@pytest.mark.parametrize("kind, value, why", [
    ("word", "", "give a word or phrase"),
    ("word", "   ", "give a word or phrase"),
    ("word", "x" * 101, "100 characters"),
    ("word", "bad\x07bell", "control characters"),
    ("word", "two\nlines", "control characters"),
    ("word", "\u200b\u200b", "give a word or phrase"),
    ("name", "n" * 65, "64 characters"),
    ("name", "!!!", "letters or digits"),
    ("network", "203.0.113.0/33", "not an IP network"),
    ("network", "example.org", "not an IP network"),
    ("network", "fe80::1%eth0", "not an IP network"),
    ("network", "0.0.0.0/0", "every address"),
    ("network", "::/0", "every address"),
])
def test_a_malformed_entry_exits_1_and_stores_nothing(app, kind, value, why):
    result = cli(app, "blocks", "add", kind, value)
    assert result.exit_code == 1 and why in result.output
    assert rows(app, sa.select(models.BLOCKS)) == []


@one_database
def test_an_unknown_kind_is_a_usage_error(app):
    assert cli(app, "blocks", "add", "domain", "spam.example").exit_code == 2
    assert cli(app, "blocks", "remove", "0").exit_code == 2
    assert rows(app, sa.select(models.BLOCKS)) == []


@one_database
@pytest.mark.parametrize("content, blocked", [
    ("Visit the CASINO!", True),
    ("casino", True),
    ("cas\u200bino night", True),             # a zero-width space inside
    ("the c\u0430sino", True),                # a Cyrillic а
    ("ｃａｓｉｎｏ", True),                      # fullwidth
    ("https://casino.example/win", True),     # a word inside a link
    ("casinos and casinoroyale", False),      # whole words only
    ("the occasion", False),
])
def test_words_match_in_any_case_as_whole_words(app, content, blocked):
    block(app, "word", "casino", "refuse")
    block(app, "word", "cheap pills")
    response = send(app, app.test_client(), content)
    assert response.status_code == (422 if blocked else 303)


@one_database
def test_a_phrase_matches_across_any_spacing_and_a_domain_its_subdomains(app):
    block(app, "word", "cheap pills")
    block(app, "word", "spam.example", "refuse")
    client = app.test_client()
    assert send(app, client, "so CHEAP\n\npills").status_code == 303
    assert comments(app)[-1].state == rules.HELD
    assert send(app, client, "see www.shop.spam.example now").status_code == 422
    assert send(app, client, "see notspam.example now").status_code == 303
    assert comments(app)[-1].state == rules.VISIBLE


@one_database
@pytest.mark.parametrize("author, blocked", [
    ("Spam King", True), ("spam-king", True), ("ＳＰＡＭ ＫＩＮＧ", True), ("Sраm King", True),
    ("Spam Kingdom", False), ("", False),
])
def test_names_match_whatever_the_case_spacing_and_look_alike_letters(app, author, blocked):
    block(app, "name", "Spam King", "refuse")
    response = send(app, app.test_client(), "Hello", author=author)
    assert response.status_code == (422 if blocked else 303)
    if blocked:
        assert error_message(response) == screening.REFUSALS["name"]


@one_database
@pytest.mark.parametrize("address, blocked", [
    ("203.0.113.1", True), ("203.0.113.255", True), ("203.0.114.1", False),
    ("2001:db8:ffff::1", True), ("2001:db9::1", False),
    ("::ffff:203.0.113.9", True),  # an IPv4 client on a dual-stack socket
])
def test_networks_match_their_addresses_only(app, address, blocked):
    block(app, "network", "203.0.113.0/24", "refuse")
    block(app, "network", "2001:db8::/32", "refuse")
    response = send(app, app.test_client(), "Hello", ip=address)
    assert response.status_code == (422 if blocked else 303)


@one_database
def test_forwarded_addresses_count_only_behind_trusted_proxies(app_factory):
    app = app_factory()  # BOARD_TRUSTED_PROXIES=0: the header is anyone's to write
    block(app, "network", "203.0.113.0/24", "refuse")
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.5"
    assert send(app, client, "Hello").status_code == 303
    assert send(app, client, "Hello again", ip="203.0.113.5").status_code == 422


@one_database
def test_a_refusal_wins_over_a_hold_and_every_rule_is_recorded(app):
    block(app, "word", "pills")
    block(app, "name", "Pill Seller", "refuse")
    response = send(app, app.test_client(), "pills for all", author="Pill Seller")
    assert response.status_code == 422
    assert error_message(response) == screening.REFUSALS["name"]
    assert [rule for _, rule, _, _ in decisions(app)] == [
        'block list: word "pills"; block list: name "Pill Seller"']


# --- The spam score ---------------------------------------------------------------------------

def links(n):
    return "Look: " + " ".join(f"https://shop{i}.example.com/offer" for i in range(n))


@one_database
@pytest.mark.parametrize("content, started, outcome", [
    (links(1), "old", rules.VISIBLE),                     # 0
    (links(3), "old", rules.VISIBLE),                     # 4: below 5
    (links(4), "old", rules.HELD),                        # 6
    (links(9), "old", rules.HELD),                        # 8: links alone never refuse
    (links(3), None, rules.HELD),                         # 4 + 1 (no stamp) = 5
    (links(3), "bad", rules.HELD),                        # 4 + 1 (not ours) = 5
    (links(2), "fast", rules.HELD),                       # 2 + 4 = 6: a script waits
    (links(4), "fast", "refused"),                        # 6 + 4 = 10
    ("ok", "fast", rules.VISIBLE),                        # short: anyone types it in no time
])
def test_the_score_holds_at_5_and_refuses_at_10(app, content, started, outcome):
    given = {"old": "old", None: None, "bad": "not-a-stamp",
             "fast": stamp(app, seconds_ago=0)}[started]
    response = send(app, app.test_client(), content, started=given)
    if outcome == "refused":
        assert response.status_code == 422
        assert "looks like spam" in error_message(response)
        assert "sent 0." in error_message(response)  # says why, in words
        assert comments(app) == []
        assert decisions(app)[0][1].startswith("spam score 10 (refuse at 10): 4 links")
    else:
        assert response.status_code == 303
        assert comments(app)[0].state == outcome
    if outcome == rules.HELD:
        action, rule, detail, _ = decisions(app)[0]
        assert action == "held" and rule.startswith("spam score ") and "(hold at 5)" in rule
        assert detail["score"] >= 5 and detail["signals"]


@one_database
def test_the_thresholds_are_settings(app_factory):
    relaxed = app_factory(BOARD_SPAM_HOLD_SCORE=20, BOARD_SPAM_REFUSE_SCORE=30)
    assert send(relaxed, relaxed.test_client(), links(6),
                started=stamp(relaxed, 0)).status_code == 303
    assert comments(relaxed)[0].state == rules.VISIBLE
    strict = app_factory(BOARD_SPAM_HOLD_SCORE=1, BOARD_SPAM_REFUSE_SCORE=2)
    client = strict.test_client()
    assert send(strict, client, links(2)).status_code == 422          # 2 points
    assert send(strict, client, "Hi", started=None).status_code == 303  # 1 point: held
    assert comments(strict)[-1].state == rules.HELD
    assert decisions(strict)[-1][1] == "spam score 1 (hold at 1): no form time stamp"


@one_database
def test_a_long_text_sent_within_seconds_of_the_form_counts_as_fast_an_old_one_does_not(app):
    client = app.test_client()
    text = "A considered comment that took a while to write. " * 4
    strict = {"BOARD_SPAM_HOLD_SCORE": 4}
    app.config.update(strict)
    assert send(app, client, text, started=stamp(app, 1)).status_code == 303
    assert send(app, client, text + " (again)", started=stamp(app, 30)).status_code == 303
    # A tab open for days posts too: older than a week is a mild signal only.
    assert send(app, client, text + " (a week on)",
                started=stamp(app, 8 * 24 * 3600)).status_code == 303
    states = [state for _, state, _ in comments(app)]
    assert states == [rules.HELD, rules.VISIBLE, rules.VISIBLE]
    assert re.search(r"spam score 4 \(hold at 4\): sent 1\.\d s after the form was shown, "
                     r"\d+ characters$", decisions(app)[0][1])


@one_database
def test_pages_shown_in_the_same_tenth_of_a_second_share_a_stamp_signed_with_their_key(app_factory):
    app, other = app_factory(), app_factory(SECRET_KEY="another key")
    now = round(time.time(), 1) - 10  # the start of a tenth, ten seconds ago
    with app.app_context():
        first, same = screening.form_stamp(now), screening.form_stamp(now + 0.04)
        later = screening.form_stamp(now + 2)
        assert 1.8 < screening.form_age(first) - screening.form_age(later) < 2.2
    assert same == first and later != first
    with other.app_context():
        theirs = screening.form_stamp(now)
        assert theirs != first
        assert screening.form_age(first) is None  # not signed with this board's key
        assert screening.form_age(theirs) is not None


@one_database
def test_capitals_count(app):
    app.config["BOARD_SPAM_HOLD_SCORE"] = 2
    client = app.test_client()
    assert send(app, client, "THIS IS THE BEST OFFER YOU WILL EVER SEE").status_code == 303
    assert send(app, client, "NASA and the ESA agree on this one").status_code == 303
    assert [state for _, state, _ in comments(app)] == [rules.HELD, rules.VISIBLE]
    assert decisions(app)[0][1] == "spam score 2 (hold at 2): in capitals"


def test_text_that_repeats_another_persons_recent_comment_counts(app_factory, clock):
    """The repeat is looked up with the block list, in one statement: on every database."""
    app = app_factory(BOARD_SPAM_HOLD_SCORE=3, BOARD_DUPLICATE_SECONDS=0)
    text = "Great article, check out my profile for more!"
    first, second, third = (app.test_client() for _ in range(3))
    assert send(app, first, text).status_code == 303
    # Its author saying it again repeats no other person's text.
    clock.advance(seconds=30)
    assert send(app, first, text + " ").status_code == 303  # stored stripped: the same text
    clock.advance(minutes=59)
    assert send(app, second, text).status_code == 303
    clock.advance(minutes=61)
    assert send(app, third, text).status_code == 303  # an hour on: not recent
    stored = comments(app)
    assert [state for _, state, _ in stored] == [rules.VISIBLE, rules.VISIBLE, rules.HELD,
                                                 rules.VISIBLE]
    assert decisions(app)[0][1] == \
        f"spam score 3 (hold at 3): repeats comment {stored[1].id} of another person"


@one_database
def test_a_repeat_is_looked_for_among_the_newest_comments_of_the_hour(app, clock):
    """A post compares its text with the newest REPEAT_SCAN comments of the last hour, not with
    every one: on a busy hour each post read them all, and cost more than the one before."""
    text = "Great article, check out my profile for more!"
    submission = screening.Submission(text, "Bob", "bob", "127.0.0.1", "", "", None, "main", None)

    def repeated():
        with app.test_request_context():
            return db.session.scalar(sa.select(screening.repeat_of(submission)))

    with app.app_context():
        original = models.add("Ann", text, "ann").id
        for n in range(screening.REPEAT_SCAN - 1):
            models.add("Cy", f"comment {n}", "cy")
    assert repeated() == original  # the oldest of the newest REPEAT_SCAN
    with app.app_context():
        models.add("Cy", "one more", "cy")
    assert repeated() is None


# --- What a post costs --------------------------------------------------------------------------

@one_database
def test_the_lists_are_read_in_one_statement_and_nothing_goes_over_the_network(app, akismet):
    app.config["BOARD_AKISMET_URL"] = akismet.url  # no key: Akismet is off
    for value in ("one", "two three", "four.example"):
        block(app, "word", value)
    block(app, "network", "198.51.100.0/24")
    sent = []

    def record(conn, cursor, statement, *args):
        sent.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
    client = app.test_client()
    token = csrf_token(client)
    try:
        response = client.post("/comments", data={
            "csrf_token": token, "content": "A comment long enough for the repeat check",
            "started": stamp(app)})
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 303
    reads_of_lists = [s for s in sent if "blocks" in s]
    assert len(reads_of_lists) == 1 and "UNION ALL" in reads_of_lists[0].upper()
    assert akismet.calls == []


# --- Akismet, against a stand-in on loopback ----------------------------------------------------

class AkismetStandIn(BaseHTTPRequestHandler):
    """Akismet's REST API as documented: POST form fields; comment-check answers "true" (spam,
    with X-akismet-pro-tip: discard for the worst) or "false", "invalid" with
    X-akismet-debug-help for a bad key; submit-spam/ham answer "Thanks for making the web a
    better place." Markers in the text make it slow ([slow]) or fail ([broken])."""

    server_version = "AkismetStandIn/1.0"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        fields = {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}
        self.server.calls.append((self.path, fields, self.headers.get("Content-Type")))
        content = fields.get("comment_content", "")
        headers = {}
        if fields.get("api_key") != KEY:
            answer, headers = "invalid", {"X-akismet-debug-help": "We were unable to verify your key."}
        elif self.path == "/1.1/comment-check":
            if not fields.get("blog") or not fields.get("user_ip"):
                answer = "Missing required field: user_ip."
            elif "[slow]" in content:
                time.sleep(self.server.delay)
                answer = "false"
            elif "[broken]" in content:
                self.send_error(500)
                return
            elif fields.get("comment_author") == SPAMMER:
                answer = "true"
                if "[discard]" in content:
                    headers = {"X-akismet-pro-tip": "discard"}
            else:
                answer = "false"
        elif self.path in ("/1.1/submit-spam", "/1.1/submit-ham"):
            if self.server.refuse_reports:
                self.send_error(503)
                return
            answer = screening.AKISMET_THANKS
        else:
            self.send_error(404)
            return
        data = answer.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@contextmanager
def akismet_stand_in():
    """The stand-in, serving on a free loopback port (its `url`), its requests in `calls`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), AkismetStandIn)
    server.daemon_threads = True
    server.calls, server.delay, server.refuse_reports = [], 1.5, False
    server.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def akismet():
    with akismet_stand_in() as server:
        yield server


@pytest.fixture
def checked(app_factory, akismet):
    return app_factory(BOARD_AKISMET_KEY=KEY, BOARD_AKISMET_URL=akismet.url,
                       BOARD_AKISMET_TIMEOUT=0.5)


def checks(akismet):
    return [fields for path, fields, _ in akismet.calls if path == "/1.1/comment-check"]


@one_database
def test_akismet_gets_what_its_documentation_asks_and_ham_is_published(checked, akismet):
    client = checked.test_client()
    response = client.post("/comments", data={
        "csrf_token": csrf_token(client), "content": "A perfectly fine comment", "author": "Ann",
        "started": stamp(checked)}, headers={"User-Agent": "Mozilla/5.0 (test)",
                                              "Referer": "http://localhost/"})
    assert response.status_code == 303 and comments(checked)[0].state == rules.VISIBLE
    [fields] = checks(akismet)
    assert akismet.calls[0][2] == "application/x-www-form-urlencoded"
    assert fields["api_key"] == KEY and fields["blog"] == "http://localhost/"
    assert fields["user_ip"] == "127.0.0.1" and fields["user_agent"] == "Mozilla/5.0 (test)"
    assert fields["referrer"] == "http://localhost/" and fields["permalink"] == "http://localhost/"
    assert fields["comment_type"] == "comment" and fields["comment_author"] == "Ann"
    assert fields["comment_content"] == "A perfectly fine comment"
    assert fields["comment_date_gmt"].endswith("Z") and fields["is_test"] == "1"
    assert decisions(checked) == []  # published: nothing to record


@one_database
def test_akismet_spam_is_held_and_discard_is_refused(checked, akismet):
    client = checked.test_client()
    assert send(checked, client, "Buy now", author=SPAMMER).status_code == 303
    discarded = send(checked, client, "Buy now [discard]", author=SPAMMER)
    assert discarded.status_code == 422
    assert error_message(discarded) == screening.AKISMET_REFUSAL
    assert [state for _, state, _ in comments(checked)] == [rules.HELD]
    found = decisions(checked)
    assert [(action, rule) for action, rule, _, _ in found] == [
        ("held", "akismet: spam"), ("refused", "akismet: spam (discard)")]
    assert found[0][2]["akismet"] == "spam" and found[0][2]["user_ip"] == "127.0.0.1"


@one_database
def test_a_refused_post_is_not_sent_to_akismet(checked, akismet):
    block(checked, "word", "casino", "refuse")
    assert send(checked, checked.test_client(), "casino").status_code == 422
    assert checks(akismet) == []


@one_database
def test_akismet_that_does_not_answer_in_time_holds_the_comment(checked, akismet):
    akismet.delay = 10  # far past the 0.5 s timeout, so that a loaded machine cannot blur it
    client = checked.test_client()
    started = time.monotonic()
    response = send(checked, client, "Hello [slow]")
    elapsed = time.monotonic() - started
    assert response.status_code == 303
    assert elapsed < 5, f"the post waited {elapsed:.2f} s, for an answer 10 s away"
    assert [state for _, state, _ in comments(checked)] == [rules.HELD]
    action, rule, detail, _ = decisions(checked)[0]
    assert (action, rule) == ("held", "akismet: unavailable (no answer within 0.5 s)")
    assert detail["akismet"] == "unavailable"


@one_database
def test_the_default_timeout_is_2_seconds(app):
    assert app.config["BOARD_AKISMET_TIMEOUT"] == 2


@one_database
@pytest.mark.parametrize("setup, why", [
    ("broken", "akismet: unavailable (HTTP 500)"),
    ("bad key", "akismet: unavailable (answered 'invalid': We were unable to verify your key.)"),
    ("closed port", "akismet: unavailable ("),
])
def test_akismet_errors_hold_the_comment(app_factory, akismet, setup, why):
    url, key, text = akismet.url, KEY, "Hello"
    if setup == "broken":
        text = "Hello [broken]"
    elif setup == "bad key":
        key = "wrong"
    else:
        akismet.shutdown()
        akismet.server_close()
    app = app_factory(BOARD_AKISMET_KEY=key, BOARD_AKISMET_URL=url, BOARD_AKISMET_TIMEOUT=0.5)
    assert send(app, app.test_client(), text).status_code == 303
    assert [state for _, state, _ in comments(app)] == [rules.HELD]
    assert decisions(app)[0][1].startswith(why)


def test_approve_and_reject_report_back_to_akismet_through_the_outbox(app_factory, akismet):
    """On every database: the report is stored in the moderator's transaction, read from the
    held decision; sending it later posts what comment-check got to submit-ham/submit-spam."""
    app = app_factory(BOARD_AKISMET_KEY=KEY, BOARD_AKISMET_URL=akismet.url)
    block(app, "word", "pills")
    client = app.test_client()
    send(app, client, "A false positive", author=SPAMMER)         # Akismet: spam
    send(app, client, "pills, pills, pills", author="Seller")       # a block: Akismet said ham
    send(app, client, "more pills, said nicely", author="Nice")     # the same, approved
    spam, missed, fine = (row.id for row in comments(app))
    before = len(akismet.calls)
    with app.app_context():
        models.moderate(spam, "approve")
        models.moderate(missed, "reject")
        models.moderate(fine, "approve")  # Akismet said ham: nothing to correct
    assert len(akismet.calls) == before  # nothing over the network in the moderator's request
    reports = outbox(app)
    assert [(kind, recipient) for kind, recipient, _ in reports] == [
        ("akismet", "submit-ham"), ("akismet", "submit-spam")]
    ham, spam_report = reports[0][2], reports[1][2]
    assert ham["comment_content"] == "A false positive" and ham["comment_author"] == SPAMMER
    assert spam_report["comment_content"] == "pills, pills, pills"
    assert spam_report["user_ip"] == "127.0.0.1" and spam_report["blog"] == "http://localhost/"
    assert "api_key" not in ham  # the key is added when it is sent, never stored
    assert [action for action, _, _, _ in decisions(app)] == [
        "held", "held", "held", "approved", "rejected", "approved"]

    # Delivered by the outbox's sender for its kind (`flask board send-notifications`).
    assert cli(app, "send-notifications").exit_code == 0
    sent = akismet.calls[before:]
    assert [path for path, _, _ in sent] == ["/1.1/submit-ham", "/1.1/submit-spam"]
    assert sent[1][1] == {**spam_report, "api_key": KEY}
    assert [row.status for row in rows(app, sa.select(models.OUTBOX.c.status))] == ["sent"] * 2
    akismet.refuse_reports = True
    with app.app_context(), pytest.raises(RuntimeError, match="submit-spam answered 503"):
        screening.report_to_akismet("submit-spam", reports[1][2])


@one_database
def test_without_akismet_approving_and_rejecting_store_no_report(app, akismet):
    app.config["BOARD_AKISMET_URL"] = akismet.url
    block(app, "word", "pills")
    client = app.test_client()
    send(app, client, "pills one")
    send(app, client, "pills two")
    first, second = (row.id for row in comments(app))
    with app.app_context():
        models.moderate(first, "approve")
        models.moderate(second, "reject")
        with pytest.raises(RuntimeError, match="BOARD_AKISMET_KEY is not set"):
            screening.report_to_akismet("submit-spam", {"user_ip": "127.0.0.1"})
        with pytest.raises(ValueError):
            screening.report_to_akismet("comment-check", {})
    assert outbox(app) == [] and akismet.calls == []
    # A report stored while Akismet was on is dropped once it is off, not sent.
    with app.app_context():
        now = models.clock()
        db.session.execute(sa.insert(models.OUTBOX).values(
            kind="akismet", recipient="submit-spam", payload='{"user_ip": "127.0.0.1"}',
            status="pending", created=now, due=now, attempts=0))
        db.session.commit()
    assert cli(app, "send-notifications").exit_code == 0
    assert rows(app, sa.select(models.OUTBOX.c.status, models.OUTBOX.c.error)) == [
        ("dropped", "BOARD_AKISMET_KEY is not set any more")]
    assert akismet.calls == []


# --- /moderate/blocks -----------------------------------------------------------------------------

@pytest.fixture
def moderator(app_factory):
    app = app_factory(BOARD_MODERATOR_PASSWORD_HASH=generate_password_hash(PASSWORD))
    client = app.test_client()
    token = soup(client.get("/moderate/login")).find("input", {"name": "csrf_token"})["value"]
    client.post("/moderate/login", data={"password": PASSWORD, "csrf_token": token})
    return app, client


def page_token(client):
    return soup(client.get("/moderate/blocks")).find("input", {"name": "csrf_token"})["value"]


@one_database
def test_the_blocks_page_adds_lists_and_removes_entries_without_javascript(moderator):
    app, client = moderator
    page = soup(client.get("/moderate/blocks"))
    assert page.find("h1").get_text() == "Block lists"
    assert "The block lists are empty." in page.get_text()
    boards_page = soup(client.get("/moderate/boards"))
    assert boards_page.find("a", string="Block lists")["href"] == "/moderate/blocks"

    added = client.post("/moderate/blocks", data={
        "csrf_token": page_token(client), "kind": "word", "value": "Casino", "action": "refuse"})
    assert added.status_code == 303
    block_id = rows(app, sa.select(models.BLOCKS.c.id))[0].id
    assert added.headers["Location"] == f"/moderate/blocks#block-{block_id}"
    listed = soup(client.get("/moderate/blocks"))
    row = listed.find("tr", id=f"block-{block_id}")
    cells = [cell.get_text(" ", strip=True) for cell in row.find_all("td")]
    assert cells[:3] == ["word", "casino", f"refused: “{screening.REFUSALS['word']}”"]
    assert "Added word 'casino'" in listed.get_text()

    # A refused post shows in the page's list of refusals, with its rule and text.
    send(app, app.test_client(), "casino tonight", author="Gambler")
    refusals = soup(client.get("/moderate/blocks")).find("table", class_="refusals-table")
    assert [cell.get_text() for cell in refusals.find("tbody").find_all("td")][1:] == [
        'block list: word "casino"', "Gambler", "casino tonight"]

    removed = client.post(f"/moderate/blocks/{block_id}/remove",
                          data={"csrf_token": page_token(client)})
    assert removed.status_code == 303 and rows(app, sa.select(models.BLOCKS)) == []
    again = client.post(f"/moderate/blocks/{block_id}/remove",
                        data={"csrf_token": page_token(client)})
    assert again.status_code == 404 and "no block list entry" in error_message(again)


@one_database
@pytest.mark.parametrize("fields, status, why", [
    ({"kind": "word", "value": ""}, 422, "give a word or phrase"),
    ({"kind": "network", "value": "10.0.0.0/99"}, 422, "not an IP network"),
    ({"kind": "domain", "value": "spam.example"}, 422, "kind must be one of word, name, network"),
    ({"kind": "word", "value": "ok", "action": "delete"}, 422, "action must be one of hold, refuse"),
    ({"kind": "name", "value": "x\x00y"}, 422, "control characters"),
])
def test_the_blocks_page_refuses_bad_input_and_keeps_what_was_typed(moderator, fields, status,
                                                                    why):
    app, client = moderator
    response = client.post("/moderate/blocks", data={"csrf_token": page_token(client), **fields})
    assert response.status_code == status
    assert why in error_message(response)
    if status == 422:
        assert soup(response).find("input", {"name": "value"})["value"] == fields["value"]
    assert rows(app, sa.select(models.BLOCKS)) == []


@one_database
def test_the_blocks_page_needs_a_login_and_a_token(moderator, app_factory):
    app, client = moderator
    assert client.post("/moderate/blocks", data={"kind": "word", "value": "x"}).status_code == 400
    stranger = app.test_client()
    assert stranger.get("/moderate/blocks").status_code == 303
    assert stranger.post("/moderate/blocks/1/remove").status_code in (303, 400)
    assert rows(app, sa.select(models.BLOCKS)) == []


@pytest.mark.one_database
def test_a_post_refused_as_spam_uses_up_the_allowance(app_factory):
    """A typo fixed after a 422 costs nothing, but a spammer refused by a block list may not try
    again and again for free."""
    app = app_factory(BOARD_POST_LIMIT="2 per minute")
    block(app, "word", "casino", "refuse")
    client = app.test_client()
    assert [send(app, client, f"casino offer {n}").status_code for n in range(3)] == [422, 422, 429]
    other = app_factory(BOARD_POST_LIMIT="2 per minute")
    fixed = other.test_client()
    assert [send(other, fixed, "").status_code for _ in range(3)] == [422, 422, 422]


@pytest.mark.one_database
def test_looking_for_a_repeat_reads_the_last_hour_not_the_whole_table(app):
    """SQLite answered the repeat check's MAX(id) by reading rows from the newest id down until
    one matched: every row of the table when none did (192 ms a post at 1,000,000 comments).
    Its plan must read a range of the posted index instead."""
    submission = screening.Submission("A long enough text to look for repeats of it", "Ann",
                                      "key", "127.0.0.1", "", "", None, "main", None)
    with app.test_request_context():
        check = sa.select(screening.repeat_of(submission))
        compiled = check.compile(db.engine)
        raw = db.session.connection().connection.driver_connection
        plan = " ".join(str(row[-1]) for row in raw.execute(
            f"EXPLAIN QUERY PLAN {compiled}",
            [compiled.params[name] if not hasattr(compiled.params[name], "isoformat")
             else compiled.params[name].strftime("%Y-%m-%d %H:%M:%S.%f")
             for name in compiled.positiontup]).fetchall())
    assert "ix_comments_posted_id" in plan, plan
