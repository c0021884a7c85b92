"""Keeping people informed, end to end with real parts on loopback: an SMTP server (aiosmtpd)
that receives and parses each email, an HTTP server that receives each webhook, and the real
`flask board send-notifications` delivering to them. Only the outbox claim depends on the
database: the rest runs on SQLite alone."""

import hashlib
import hmac
import json
import re
import threading
from urllib.parse import urlsplit

import itsdangerous
import pytest
import sqlalchemy as sa

from board import models, notifications
from board.extensions import db
from harness.receivers import SmtpReceiver, WebhookReceiver
from tests.helpers import HTMX, board_id, csrf_token, post, soup

SECRET = "webhook-secret-for-tests"
MODERATOR = "mod@example.org"
ANN, BOB, CAT = "ann@example.org", "bob@example.org", "cat@example.org"


@pytest.fixture
def smtp():
    receiver = SmtpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def hooks(smtp):  # after smtp: the two need different ports
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def informed(app_factory, smtp, hooks):
    """An app that sends email to the SMTP receiver and webhooks to the HTTP receiver."""
    def make(**overrides):
        made = app_factory(BOARD_SMTP_URL=smtp.url, BOARD_MAIL_FROM="Board <board@example.org>",
                           BOARD_MODERATOR_EMAILS=[MODERATOR], BOARD_WEBHOOK_URLS=[hooks.url],
                           BOARD_WEBHOOK_SECRET=SECRET, **overrides)
        with made.app_context():
            # The default board exists: models.add makes it on the first post by rolling back
            # and trying again, which drops the address that post gave (see the report).
            db.session.execute(sa.update(models.BOARDS).where(models.BOARDS.c.id == board_id())
                               .values(title="Town square"))
            db.session.commit()
        return made
    return make


@pytest.fixture
def app(informed):
    return informed()


def send(app):
    """One run of the real command; its output."""
    result = app.test_cli_runner().invoke(args=["board", "send-notifications"])
    assert result.exit_code == 0, result.output
    return result.output


def posted(client, content, **fields):
    response = post(client, content, htmx=True, **fields)
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(soup(response).select_one("article.comment")["id"].removeprefix("comment-"))


def outbox(app, **where):
    with app.app_context():
        query = sa.select(models.OUTBOX).order_by(models.OUTBOX.c.id)
        for name, value in where.items():
            query = query.where(models.OUTBOX.c[name] == value)
        return db.session.execute(query).all()


def text_and_html(message):
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def link(message, path):
    """The first link to `path` in a message's text part, as a path the test client can get."""
    text, _ = text_and_html(message)
    url = re.search(rf"https?://\S+{path}\S+", text).group(0)
    return urlsplit(url).path


def confirm(client, message):
    """Follow a confirmation email's link: a page with a button, then the button."""
    path = link(message, "/confirm/")
    page = client.get(path)
    assert page.status_code == 200 and b"Confirm my address" in page.data
    token = soup(page).find("input", {"name": "csrf_token"})["value"]
    done = client.post(path, data={"csrf_token": token})
    assert done.status_code == 200 and b"your address is confirmed" in done.data
    return done


def confirmed(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(models.ADDRESSES.c.confirmed)
                                 .where(models.ADDRESSES.c.email == email))


def events(hooks):
    """The webhook requests' bodies, each checked: signature, event id."""
    seen = []
    for headers, body in hooks.requests:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Board-Signature"] == expected
        event = json.loads(body)
        assert headers["X-Board-Event-Id"] == str(event["id"])
        assert headers["Content-Type"] == "application/json"
        seen.append(event)
    return seen


# Replies, and the double opt-in ------------------------------------------------------------------

@pytest.mark.one_database
def test_replies_are_emailed_only_once_the_address_is_confirmed(app, smtp):
    ann, bob = app.test_client(), app.test_client()
    first = posted(ann, "Ann's question", author="Ann", email=ANN, notify="y")
    send(app)
    [confirmation] = smtp.to(ANN)
    assert confirmation["Subject"] == "Confirm your email address"
    assert confirmation["From"] == "Board <board@example.org>"
    text, html = text_and_html(confirmation)
    assert "/confirm/" in text and "/confirm/" in html
    # Its one-click link removes the address ("not you?"): it too can be refused.
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    posted(bob, "Bob answers before Ann confirmed", author="Bob", parent=str(first))
    send(app)
    assert len(smtp.to(ANN)) == 1  # nothing but the confirmation before it is confirmed
    assert confirmed(app, ANN) is None

    # Opening the link shows a button and confirms nothing (mail scanners open links too).
    path = link(confirmation, "/confirm/")
    assert b"Confirm my address" in bob.get(path).data
    assert confirmed(app, ANN) is None
    confirm(ann, confirmation)
    assert confirmed(app, ANN) is not None

    answer = posted(bob, "Bob answers **again**", author="Bob", parent=str(first))
    assert "2 sent" in send(app)  # the email and the webhook
    reply = smtp.to(ANN)[-1]
    assert reply["Subject"] == "Bob replied to your comment on Town square"
    assert reply["Message-ID"].startswith("<outbox-") and reply["Message-ID"].endswith("@example.org>")
    assert re.fullmatch(r"<https?://[^>]+/unsubscribe/[^>]+>", reply["List-Unsubscribe"])
    assert reply["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = text_and_html(reply)
    assert "Bob answers **again**" in text and f"/comments/{answer}" in text
    assert "<strong>again</strong>" in html
    assert smtp.envelopes[-1] == ("board@example.org", [ANN])

    # Ann answering herself, and a reply to a comment whose author asked for nothing: no email.
    posted(ann, "Ann answers herself", author="Ann", parent=str(first))
    quiet = posted(bob, "Bob's own thread", author="Bob")
    posted(ann, "Ann answers Bob", author="Ann", parent=str(quiet))
    send(app)
    assert len(smtp.messages) == 2


@pytest.mark.one_database
def test_one_click_unsubscribe_stops_replies_without_a_login(app, smtp):
    ann, bob = app.test_client(), app.test_client()
    first = posted(ann, "Question", author="Ann", email=ANN, notify="y")
    send(app)
    confirm(ann, smtp.to(ANN)[0])
    posted(bob, "Answer", author="Bob", parent=str(first))
    send(app)
    reply = smtp.to(ANN)[-1]
    url = urlsplit(reply["List-Unsubscribe"].strip("<>")).path

    stranger = app.test_client()  # a mail client: no session, no CSRF token
    page = stranger.get(url)
    assert page.status_code == 200 and b"Unsubscribe" in page.data
    with app.app_context():  # a GET changes nothing
        assert db.session.scalar(sa.select(models.TABLE.c.notify_replies)
                                 .where(models.TABLE.c.id == first)) is True
    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert stranger.post(forged, data="List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded").status_code == 400
    done = stranger.post(url, data="List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200 and b"no more emails about replies" in done.data
    assert stranger.post(url, data="List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(models.TABLE.c.notify_replies)
                                 .where(models.TABLE.c.id == first)) is False

    posted(bob, "Another answer", author="Bob", parent=str(first))
    send(app)
    assert len(smtp.to(ANN)) == 2  # the confirmation and the first reply only


@pytest.mark.one_database
def test_a_reply_queued_before_an_unsubscribe_is_dropped_not_sent(app, smtp):
    ann, bob = app.test_client(), app.test_client()
    first = posted(ann, "Question", author="Ann", email=ANN, notify="y")
    send(app)
    confirm(ann, smtp.to(ANN)[0])
    posted(bob, "First answer", author="Bob", parent=str(first))
    send(app)
    url = urlsplit(smtp.to(ANN)[-1]["List-Unsubscribe"].strip("<>")).path
    posted(bob, "Second answer, queued", author="Bob", parent=str(first))
    app.test_client().post(url)  # the page's own button
    assert "1 dropped" in send(app)
    assert len(smtp.to(ANN)) == 2


# Boards ------------------------------------------------------------------------------------------

def subscribe(client, email, board="main"):
    page = client.get("/" if board == "main" else f"/b/{board}")
    form = soup(page).find("form", id="subscribe-form")
    assert form is not None, "the board page has no subscribe form"
    return client.post(form["action"], headers=HTMX, data={
        "csrf_token": form.find("input", {"name": "csrf_token"})["value"],
        "board": form.find("input", {"name": "board"})["value"], "email": email})


@pytest.mark.one_database
def test_subscribers_hear_of_each_new_comment_once_confirmed(app, smtp):
    cat, bob = app.test_client(), app.test_client()
    posted(bob, "The board's first comment", author="Bob")
    answer = subscribe(cat, "Cat@Example.org")
    assert answer.status_code == 200 and b"Check your inbox" in answer.data
    posted(bob, "Before Cat confirmed", author="Bob")
    send(app)
    [confirmation] = smtp.to(CAT)
    assert "new comments on" in text_and_html(confirmation)[0]

    confirm(cat, confirmation)
    posted(bob, "After Cat confirmed", author="Bob")
    posted(cat, "Cat's own comment", author="Cat", email=CAT)  # not to herself
    send(app)
    [news] = smtp.to(CAT)[1:]
    assert news["Subject"] == "New comment on Town square from Bob"
    assert "After Cat confirmed" in text_and_html(news)[0]
    url = urlsplit(news["List-Unsubscribe"].strip("<>")).path

    # Subscribing again from the browser that confirmed: at once, no second confirmation.
    assert b"Subscribed" in subscribe(cat, CAT).data
    assert app.test_client().post(url, data="List-Unsubscribe=One-Click",
                                  content_type="application/x-www-form-urlencoded").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(models.SUBSCRIPTIONS)) == 0
    posted(bob, "After Cat left", author="Bob")
    send(app)
    assert len(smtp.to(CAT)) == 2


@pytest.mark.one_database
def test_subscribing_refuses_bad_input_and_changes_nothing(app, smtp):
    client = app.test_client()
    posted(client, "First", author="Bob")
    assert subscribe(client, "not an address").status_code == 422
    token = csrf_token(client)
    assert client.post("/subscribe", data={"csrf_token": token, "board": "nope",
                                           "email": ANN}).status_code == 404
    assert client.post("/subscribe", data={"board": "main", "email": ANN}).status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(models.ADDRESSES)) == 0
    assert outbox(app, kind="email") == []


@pytest.mark.one_database
def test_confirmations_are_limited_per_address_and_day(app, smtp):
    client = app.test_client()
    for n in range(4):
        posted(client, f"Comment {n}", email=ANN, notify="y")
    assert len(outbox(app, kind="email")) == 1


# Moderators --------------------------------------------------------------------------------------

@pytest.mark.one_database
def test_moderators_are_emailed_each_held_comment_with_a_link_to_the_queue(informed, smtp, hooks):
    app = informed(BOARD_MODERATION="all")
    held = posted(app.test_client(), "Please let me in", author="Dan")
    send(app)
    [message] = smtp.to(MODERATOR)
    assert "Dan" in message["Subject"]
    text, html = text_and_html(message)
    assert f"/moderate/#moderate-{held}" in text and "Please let me in" in text
    assert events(hooks) == []  # nothing public about a held comment

    result = app.test_cli_runner().invoke(args=["board", "approve", str(held)])
    assert result.exit_code == 0, result.output
    send(app)
    [approved] = events(hooks)
    assert approved["event"] == "approved" and approved["comment"]["id"] == held
    assert approved["comment"]["content"] == "Please let me in"


# Webhooks ----------------------------------------------------------------------------------------

@pytest.mark.one_database
def test_a_signed_webhook_for_each_new_edited_hidden_and_deleted_comment(app, hooks, smtp):
    client = app.test_client()
    first = posted(client, "Hello *world*", author="Eve", email=ANN)
    with app.app_context():
        models.change(db.session.get(models.Comment, first), content="Hello edited",
                      edited=models.clock())
    runner = app.test_cli_runner()
    for verb in ("hide", "unhide", "delete"):
        assert runner.invoke(args=["board", verb, str(first)]).exit_code == 0
    send(app)
    seen = events(hooks)
    assert [event["event"] for event in seen] == ["new", "edited", "hidden", "unhidden", "deleted"]
    assert len({event["id"] for event in seen}) == 5
    new = seen[0]["comment"]
    assert new["id"] == first and new["board"] == "main" and new["author"] == "Eve"
    assert new["content"] == "Hello *world*" and "<em>world</em>" in new["html"]
    assert new["url"].endswith(f"/comments/{first}")
    assert seen[1]["comment"]["content"] == "Hello edited"
    assert "content" not in seen[2]["comment"] and "content" not in seen[4]["comment"]
    assert ANN not in json.dumps(seen)


@pytest.mark.one_database
def test_a_write_that_rolls_back_leaves_nothing_in_the_outbox(app, smtp, hooks):
    def fail(event, comment):
        raise RuntimeError("after the outbox rows, before the commit")

    models.WRITE_HOOKS.append(fail)
    try:
        with app.app_context(), pytest.raises(RuntimeError):
            models.add("Fay", "Never stored", post=models.Post(
                address_id=notifications.address_for(ANN), notify_replies=True))
    finally:
        models.WRITE_HOOKS.remove(fail)
    with app.app_context():
        db.session.rollback()
    assert outbox(app) == []
    send(app)
    assert hooks.requests == [] and smtp.messages == []


# Failures: nothing is lost -----------------------------------------------------------------------

@pytest.mark.one_database
def test_with_the_smtp_server_down_mail_waits_and_goes_once_it_is_back(app, smtp, clock):
    smtp.stop()
    posted(app.test_client(), "Hello", email=ANN, notify="y")
    assert "1 retrying" in send(app)
    [row] = outbox(app, kind="email")
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.due > clock.now and "127.0.0.1" in row.error

    smtp.start()
    assert "nothing due" in send(app)  # not before its time
    clock.advance(minutes=3)
    assert "1 sent" in send(app)
    assert "nothing due" in send(app)
    assert len(smtp.to(ANN)) == 1
    [row] = outbox(app, kind="email")
    assert (row.status, row.attempts, row.error) == ("sent", 2, None)


@pytest.mark.one_database
def test_a_webhook_answering_500_is_retried_with_backoff_then_delivered(app, hooks, clock):
    hooks.status = 500
    posted(app.test_client(), "Hello")
    assert "1 retrying" in send(app)
    clock.advance(minutes=3)
    assert "1 retrying" in send(app)
    [row] = outbox(app, kind="webhook")
    assert row.attempts == 2 and row.due == clock.now + notifications.backoff(2)
    assert "500" in row.error

    hooks.status = 200
    clock.advance(minutes=5)
    assert "1 sent" in send(app)
    send(app)
    ids = [headers["X-Board-Event-Id"] for headers, _ in hooks.requests]
    assert ids == [str(row.id)] * 3  # one event id for every try: the receiver drops repeats


@pytest.mark.one_database
def test_a_message_that_keeps_failing_is_listed_and_can_be_retried(app, hooks, clock):
    hooks.status = 500
    posted(app.test_client(), "Hello")
    for _ in range(notifications.MAX_ATTEMPTS):
        send(app)
        clock.advance(hours=5)
    [row] = outbox(app, kind="webhook")
    assert (row.status, row.attempts) == ("failed", notifications.MAX_ATTEMPTS)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["board", "send-notifications", "--failed"]).output
    assert f"{row.id}  webhook  {hooks.url}" in listed and "answered 500" in listed
    hooks.status = 200
    result = runner.invoke(args=["board", "send-notifications", "--retry-failed"])
    assert "1 failed messages are due again" in result.output and "1 sent" in result.output
    assert runner.invoke(args=["board", "send-notifications", "--failed"]).output.strip() \
        == "no failed messages"


def test_two_senders_at_once_send_each_message_exactly_once(app, hooks):
    """The claim is a compare-and-set UPDATE: on every database, one sender wins each row."""
    with app.app_context():
        notifications.queue("webhook", [hooks.url] * 40, {"event": "test"})
        db.session.commit()
        [row] = db.session.execute(sa.select(models.OUTBOX).limit(1)).all()
        assert notifications.claim(row) is True
        assert notifications.claim(row) is False  # the same read of it cannot claim twice
        db.session.execute(sa.update(models.OUTBOX).where(models.OUTBOX.c.id == row.id)
                           .values(attempts=0, due=models.clock()))
        db.session.commit()

    results, errors = [], []

    def sender():
        try:
            with app.app_context():
                results.append(notifications.deliver())
                db.session.remove()
        except Exception as error:  # pragma: no cover - shown by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    ids = [json.loads(body)["id"] for _, body in hooks.requests]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert sum(done["sent"] for done in results) == 40
    assert {row.status for row in outbox(app)} == {"sent"}


# Privacy -----------------------------------------------------------------------------------------

SECRET_ADDRESS = "private-person@example.org"


@pytest.mark.one_database
def test_an_email_never_appears_in_pages_polls_feeds_the_api_or_the_default_export(app, smtp):
    client = app.test_client()
    first = posted(client, "Mine", author="Gus", email=SECRET_ADDRESS, notify="y")
    posted(client, "A reply", author="Gus", email=SECRET_ADDRESS, parent=str(first))
    outputs = [client.get(path, headers=headers) for path, headers in [
        ("/", {}), (f"/comments/{first}", {}), (f"/comments/{first}/replies", HTMX),
        ("/comments?after=0", HTMX), ("/comments", HTMX), ("/feed.atom", {}),
        ("/recent", {}), ("/recent.atom", {}), ("/api/comments", {}), ("/boards", {}),
        (f"/comments/{first}/reply", {})]]
    for response in outputs:
        assert response.status_code in (200, 204), response.request.path
        assert SECRET_ADDRESS.encode() not in response.data, response.request.path
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["board", "export", "-"])
    assert exported.exit_code == 0 and SECRET_ADDRESS not in exported.stdout
    assert '"email"' not in exported.stdout and '"notify"' not in exported.stdout
    private = runner.invoke(args=["board", "export", "--with-private", "-"])
    lines = [json.loads(line) for line in private.stdout.splitlines()]
    assert [(line["email"], line["notify"], line["email_confirmed"]) for line in lines] \
        == [(SECRET_ADDRESS, True, None), (SECRET_ADDRESS, False, None)]


@pytest.mark.one_database
def test_a_private_export_moves_addresses_to_another_installation(app, smtp, tmp_path):
    ann = app.test_client()
    first = posted(ann, "Question", email=ANN, notify="y")
    send(app)
    confirm(ann, smtp.to(ANN)[0])
    runner = app.test_cli_runner()
    path = tmp_path / "private.jsonl"
    assert runner.invoke(args=["board", "export", "--with-private", str(path)]).exit_code == 0
    with app.app_context():
        for table in (models.OUTBOX, models.TABLE, models.ADDRESSES):
            db.session.execute(sa.delete(table))
        db.session.commit()
    result = runner.invoke(args=["board", "import", str(path)])
    assert result.exit_code == 0 and "imported 1 comments" in result.output
    assert confirmed(app, ANN) is not None
    posted(app.test_client(), "An answer after the move", parent=str(first))
    send(app)
    assert smtp.to(ANN)[-1]["Subject"].endswith("replied to your comment on Town square")


@pytest.mark.one_database
def test_forget_removes_an_address_its_subscriptions_and_its_messages(app, smtp):
    ann = app.test_client()
    first = posted(ann, "Mine", email=ANN, notify="y")
    subscribe(ann, ANN)
    send(app)
    confirm(ann, smtp.to(ANN)[-1])
    posted(app.test_client(), "An answer", parent=str(first))  # queued, not sent yet
    runner = app.test_cli_runner()
    result = runner.invoke(args=["board", "forget", "--email", "ANN@example.org"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"forgot {ANN}: 1 subscriptions, 1 comments unlinked")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(models.ADDRESSES)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(models.SUBSCRIPTIONS)) == 0
        assert db.session.execute(sa.select(models.TABLE.c.address_id, models.TABLE.c.notify_replies)
                                  .where(models.TABLE.c.id == first)).one() == (None, False)
    assert outbox(app, recipient=ANN) == []
    send(app)  # the reply queued for her went with the rest
    assert len(smtp.to(ANN)) == 2  # the two confirmations sent before
    again = runner.invoke(args=["board", "forget", "--email", ANN])
    assert again.exit_code == 0 and f"no address {ANN} is stored" in again.output


@pytest.mark.one_database
def test_bad_or_expired_links_are_refused_with_a_page(app, smtp):
    client = app.test_client()
    for path in ("/confirm/nonsense", "/unsubscribe/nonsense", "/confirm/" + "x" * 300):
        assert client.get(path).status_code == 400
    assert client.post("/unsubscribe/nonsense").status_code == 400
    posted(client, "Hello", email=ANN, notify="y")

    class EightDaysAgo(itsdangerous.TimestampSigner):
        def get_timestamp(self):
            return super().get_timestamp() - (notifications.CONFIRM_DAYS + 1) * 86400

    with app.app_context():
        address = db.session.scalar(sa.select(models.ADDRESSES.c.id))
        token = itsdangerous.URLSafeTimedSerializer(
            app.secret_key, salt=notifications.CONFIRM_SALT, signer=EightDaysAgo).dumps(
            {"a": address, "f": notifications.fingerprint(ANN), "b": None})
    page = client.get(f"/confirm/{token}")
    assert page.status_code == 400 and b"expired" in page.data
    page = client.post(f"/confirm/{token}", data={"csrf_token": csrf_token(client)})
    assert page.status_code == 400
    assert confirmed(app, ANN) is None
