"""Keeping people informed: the notifications a write causes go into the outbox in the write's
own transaction (models.WRITE_HOOKS calls `on_write`), so none is lost and none is sent for a
write that was rolled back; `flask board send-notifications` delivers them later, so no request
ever waits on a mail server or a webhook.

What is queued (only when it is set up: BOARD_SMTP_URL and BOARD_MAIL_FROM for email,
BOARD_WEBHOOK_URLS for webhooks):

- a new visible comment (event "stored") or an approved one: webhook "new" / "approved"; an
  email to the author of the comment it answers, when they ticked "email me replies" and
  confirmed their address (not when they answer themselves); an email to each confirmed
  subscriber of the board (not the poster's own address, nor one that already gets the reply);
- a held comment: an email to each of BOARD_MODERATOR_EMAILS, linking to the queue;
- edited (while visible), hidden, unhidden, deleted: webhooks;
- an address given for the first time, or still unconfirmed: a confirmation email (a signed
  link, valid CONFIRM_DAYS days), at most one per address and board a day, and
  CONFIRMATIONS_PER_DAY in all. Nothing else is ever sent to an unconfirmed address.

An email's content is rendered when it is sent, and only if it is still wanted then: a comment
hidden, deleted or approved meanwhile, an address forgotten or unsubscribed meanwhile, drops it
(status "dropped").

Delivery (`deliver`) is at least once, and exactly once unless a sender crashes between sending
and marking: each row is first claimed with a compare-and-set UPDATE (status pending and the
attempts it was read with), so two senders running at once never both send it; the claim also
moves its due time on (the backoff), so a row whose sender died is tried again later. A crash
after the send and before the mark can send it twice: the row id is the email's Message-ID and
the webhook's event id, so receivers can drop the repeat.
"""

import hashlib
import json
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import sqlalchemy as sa
from flask import current_app, g, has_request_context, render_template, request, url_for
from flask_babel import force_locale, gettext as _, ngettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from . import mail, models
from .extensions import db
from .models import ADDRESSES, BOARDS, OUTBOX, SUBSCRIPTIONS, TABLE, TRUSTED
from .rules import EMAIL, EMAIL_MAX, HELD, LANGUAGES, VISIBLE, display_name, iso_utc, translate

PENDING, SENT, FAILED, DROPPED = "pending", "sent", "failed", "dropped"
MAX_ATTEMPTS = 12  # 2, 4, 8, ... minutes apart, at most BACKOFF_CAP: about a day in all
BACKOFF_CAP = timedelta(hours=4)
KEEP = timedelta(days=30)  # sent, dropped and failed rows (they name an address) then go
CONFIRM_DAYS = 7
CONFIRMATIONS_PER_DAY = 3
BATCH = 100

CONFIRM_SALT = "board-confirm-address"
UNSUBSCRIBE_SALT = "board-unsubscribe"
# What an unsubscribe link stops: replies to the address's comments, one board's new
# comments, or everything (the link in a confirmation: "not you?" forgets the address).
REPLIES, BOARD, ADDRESS = "replies", "board", "address"


class Dropped(Exception):
    """A queued message no longer wanted when its time came (marked "dropped", not sent)."""


class BadToken(Exception):
    """A confirmation or unsubscribe link that is forged, expired or no longer applies."""


# Queueing (inside the write's transaction) --------------------------------------------------------

def email_on():
    config = current_app.config
    return bool(config["BOARD_SMTP_URL"] and config["BOARD_MAIL_FROM"])


def normal(email):
    return (email or "").strip().lower()


def fingerprint(email):
    """A short hash of an address, in links: a link made for an address that was forgotten does
    nothing to a later address that got its id (SQLite reuses the highest id)."""
    return hashlib.sha256(email.encode()).hexdigest()[:16]


def base_url():
    """Where links in messages point: the request's site, or outside a request (a command) the
    first of BOARD_HOSTS."""
    if has_request_context():
        return request.url_root
    hosts = current_app.config["BOARD_HOSTS"]
    scheme = current_app.config.get("PREFERRED_URL_SCHEME") or "http"
    return f"{scheme}://{hosts[0]}/" if hosts else "http://localhost/"


def external(base, endpoint, **values):
    """An absolute URL on the site at `base`, in a request or not."""
    with current_app.test_request_context("/", base_url=base):
        return url_for(endpoint, _external=True, **values)


def queue(kind, recipients, payload):
    """Outbox rows, one per recipient, due now; not committed (the write commits)."""
    now = models.clock()
    rows = [{"kind": kind, "recipient": recipient, "payload": json.dumps(payload),
             "status": PENDING, "created": now, "due": now, "attempts": 0}
            for recipient in recipients]
    if rows:
        db.session.execute(sa.insert(OUTBOX), rows)


def find_address(email):
    return db.session.execute(sa.select(ADDRESSES.c.id, ADDRESSES.c.email, ADDRESSES.c.confirmed)
                              .where(ADDRESSES.c.email == email)).first()


def stored_address(email):
    """The addresses row for `email`, inserted unconfirmed when new (flushed, not committed)."""
    row = find_address(email)
    if row is None:
        try:
            with db.session.begin_nested():  # another request may add it meanwhile
                db.session.execute(sa.insert(ADDRESSES).values(email=email, created=models.clock()))
        except IntegrityError:
            pass
        row = find_address(email)
    return row


def address_for(email):
    """The id of the addresses row for `email` (made, unconfirmed, when new; only flushed), or
    None for no email. An unconfirmed address is asked to confirm (ask_to_confirm's limits)."""
    email = normal(email)
    if not email:
        return None
    row = stored_address(email)
    if row.confirmed is None:
        ask_to_confirm(row.id, email)
    return row.id


def is_confirmed(address_id):
    return db.session.scalar(sa.select(ADDRESSES.c.confirmed)
                             .where(ADDRESSES.c.id == address_id)) is not None


def ask_to_confirm(address_id, email, board_id=None):
    """Queue a confirmation email; its link also subscribes to `board_id` when given. At most
    one per address and board a day, and CONFIRMATIONS_PER_DAY a day in all: a form cannot be
    used to flood someone's inbox."""
    if not email_on():
        return False
    since = models.clock() - timedelta(days=1)
    recent = [json.loads(payload) for payload in db.session.scalars(
        sa.select(OUTBOX.c.payload).where(OUTBOX.c.kind == "email", OUTBOX.c.recipient == email,
                                          OUTBOX.c.created > since))]
    confirmations = [payload for payload in recent if payload.get("template") == "confirm"]
    if (len(confirmations) >= CONFIRMATIONS_PER_DAY
            or any(payload.get("board_id") == board_id for payload in confirmations)):
        return False
    queue("email", [email], {"template": "confirm", "address_id": address_id,
                             "board_id": board_id, "base": base_url()})
    return True


def on_write(event, comment, **context):
    """Called inside the transaction of every write to a comment, before its commit. `event`:
    stored (a new comment, visible or held), approved, rejected, edited, hidden, unhidden,
    deleted."""
    if event == "stored" and comment.state == HELD:
        tell_moderators(comment)
    elif event in ("stored", "approved") and comment.state == VISIBLE:
        db.session.flush()  # a new comment gets its id
        webhook("new" if event == "stored" else "approved", comment)
        tell_readers(comment, poster=event == "stored")
    elif event == "edited" and comment.state == VISIBLE or event in ("hidden", "unhidden",
                                                                     "deleted"):
        webhook(event, comment)


def tell_moderators(comment):
    moderators = current_app.config["BOARD_MODERATOR_EMAILS"]
    if email_on() and moderators:
        db.session.flush()
        queue("email", [normal(email) for email in moderators],
              {"template": "held", "comment_id": comment.id, "base": base_url()})


def tell_readers(comment, poster):
    """The author of the comment answered (when they asked), and the board's subscribers."""
    if not email_on():
        return
    from . import authors  # the poster's own confirmed addresses (board/authors.py)

    base = base_url()
    mine = {comment.address_id}
    if poster and has_request_context():
        mine |= authors.confirmed_here()
    told = set()
    if comment.parent_id is not None:
        parent = db.session.get(models.Comment, comment.parent_id)
        if (parent is not None and parent.notify_replies and parent.address_id is not None
                and parent.address_id not in mine):
            address = db.session.execute(
                sa.select(ADDRESSES.c.id, ADDRESSES.c.email).where(
                    ADDRESSES.c.id == parent.address_id, ADDRESSES.c.confirmed.is_not(None))).first()
            if address is not None:
                queue("email", [address.email], {"template": "reply", "comment_id": comment.id,
                                                 "address_id": address.id, "base": base})
                told.add(address.id)
    subscribers = db.session.execute(
        sa.select(ADDRESSES.c.id, ADDRESSES.c.email)
        .join_from(SUBSCRIPTIONS, ADDRESSES, ADDRESSES.c.id == SUBSCRIPTIONS.c.address_id)
        .where(SUBSCRIPTIONS.c.board_id == comment.board_id, ADDRESSES.c.confirmed.is_not(None))
        .order_by(ADDRESSES.c.id)).all()
    for address in subscribers:
        if address.id not in mine | told:
            queue("email", [address.email], {"template": "board", "comment_id": comment.id,
                                             "address_id": address.id,
                                             "board_id": comment.board_id, "base": base})


def webhook(event, comment):
    urls = current_app.config["BOARD_WEBHOOK_URLS"]
    if not urls:
        return
    board = db.session.execute(sa.select(BOARDS.c.slug, BOARDS.c.title)
                               .where(BOARDS.c.id == comment.board_id)).first()
    about = {"id": comment.id, "board": board.slug if board else None,
             "thread": comment.thread_id, "parent": comment.parent_id, "state": comment.state,
             "url": external(base_url(), "board.show_comment", comment_id=comment.id)}
    if event not in ("hidden", "deleted"):  # what was taken down is not sent around
        about |= {"author": comment.author, "content": comment.content, "html": comment.html,
                  "posted": iso_utc(comment.posted, "microseconds"),
                  "edited": comment.edited and iso_utc(comment.edited, "microseconds")}
    queue("webhook", urls, {"event": event, "at": iso_utc(models.clock(), "microseconds"),
                            "comment": about})


# Links: confirm and unsubscribe ---------------------------------------------------------------------

def confirm_token(address_id, email, board_id=None):
    return URLSafeTimedSerializer(current_app.secret_key, salt=CONFIRM_SALT).dumps(
        {"a": address_id, "f": fingerprint(email), "b": board_id})


def unsubscribe_token(address_id, email, what, board_id=None):
    return URLSafeSerializer(current_app.secret_key, salt=UNSUBSCRIBE_SALT).dumps(
        {"a": address_id, "f": fingerprint(email), "k": what, "b": board_id})


def read_confirmation(token):
    """(the address row, the board's row or None) that a confirmation link names."""
    try:
        data = URLSafeTimedSerializer(current_app.secret_key, salt=CONFIRM_SALT).loads(
            token, max_age=CONFIRM_DAYS * 86400)
    except SignatureExpired:
        raise BadToken(ngettext("This link has expired (links work for %(num)d day). Give your "
                                "address again to get a new one.",
                                "This link has expired (links work for %(num)d days). Give your "
                                "address again to get a new one.", CONFIRM_DAYS)) from None
    except (BadSignature, ValueError, TypeError):
        raise BadToken(_("This link is not valid. Copy the whole link from the email.")) from None
    if not isinstance(data, dict) or not isinstance(data.get("a"), int):
        raise BadToken(_("This link is not valid. Copy the whole link from the email."))
    address = db.session.execute(sa.select(ADDRESSES).where(ADDRESSES.c.id == data["a"])).first()
    if address is None or fingerprint(address.email) != data.get("f"):
        raise BadToken(_("This address is no longer stored here. Give it again to get a new link."))
    board = None
    if isinstance(data.get("b"), int):
        board = db.session.execute(sa.select(BOARDS.c.id, BOARDS.c.slug, BOARDS.c.title)
                                   .where(BOARDS.c.id == data["b"])).first()
    return address, board


def confirm(token):
    """Confirm the address a link names (and subscribe it to the link's board); committed."""
    address, board = read_confirmation(token)
    if address.confirmed is None:
        db.session.execute(sa.update(ADDRESSES).where(ADDRESSES.c.id == address.id,
                                                      ADDRESSES.c.confirmed.is_(None))
                           .values(confirmed=models.clock()))
    if board is not None:
        subscribe(address.id, board.id)
    db.session.commit()
    return address, board


def subscribe(address_id, board_id):
    """Subscribe an address to a board; already subscribed is fine. Not committed."""
    present = sa.select(SUBSCRIPTIONS.c.id).where(SUBSCRIPTIONS.c.address_id == address_id,
                                                  SUBSCRIPTIONS.c.board_id == board_id)
    if db.session.scalar(present) is None:
        try:
            with db.session.begin_nested():
                db.session.execute(sa.insert(SUBSCRIPTIONS).values(
                    address_id=address_id, board_id=board_id, created=models.clock()))
        except IntegrityError:
            pass


def read_unsubscribe(token):
    """What an unsubscribe link stops: (kind, address row or None, board row or None). A link
    whose address was forgotten meanwhile still reads (there is nothing left to stop)."""
    try:
        data = URLSafeSerializer(current_app.secret_key, salt=UNSUBSCRIBE_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise BadToken(_("This link is not valid. Copy the whole link from the email.")) from None
    if (not isinstance(data, dict) or not isinstance(data.get("a"), int)
            or data.get("k") not in (REPLIES, BOARD, ADDRESS)):
        raise BadToken(_("This link is not valid. Copy the whole link from the email."))
    address = db.session.execute(sa.select(ADDRESSES).where(ADDRESSES.c.id == data["a"])).first()
    if address is not None and fingerprint(address.email) != data.get("f"):
        address = None
    board = None
    if isinstance(data.get("b"), int):
        board = db.session.execute(sa.select(BOARDS.c.id, BOARDS.c.slug, BOARDS.c.title)
                                   .where(BOARDS.c.id == data["b"])).first()
    return data["k"], address, board


def unsubscribe(token):
    """Stop what the link names; committed. Doing it twice is fine."""
    what, address, board = read_unsubscribe(token)
    if address is not None:
        if what == REPLIES:
            db.session.execute(sa.update(TABLE).where(TABLE.c.address_id == address.id,
                                                      TABLE.c.notify_replies.is_(True))
                               .values(notify_replies=False),
                               execution_options={"synchronize_session": False})
        elif what == BOARD and board is not None:
            db.session.execute(sa.delete(SUBSCRIPTIONS).where(
                SUBSCRIPTIONS.c.address_id == address.id, SUBSCRIPTIONS.c.board_id == board.id))
        elif what == ADDRESS:
            forget(address.email)
    db.session.commit()
    return what, board


def forget(email):
    """Remove an address and everything that names it: its subscriptions, its link to comments
    (and their "email me replies"), its trust, every outbox row to it. Committed; what was
    removed, counted."""
    email = normal(email)
    removed = Counter()
    removed["messages"] = db.session.execute(
        sa.delete(OUTBOX).where(OUTBOX.c.kind == "email", OUTBOX.c.recipient == email)).rowcount
    address = find_address(email)
    if address is not None:
        removed["subscriptions"] = db.session.execute(
            sa.delete(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.address_id == address.id)).rowcount
        removed["comments"] = db.session.execute(
            sa.update(TABLE).where(TABLE.c.address_id == address.id)
            .values(address_id=None, notify_replies=False),
            execution_options={"synchronize_session": False}).rowcount
        db.session.execute(sa.delete(TRUSTED).where(TRUSTED.c.person == f"email:{address.id}"))
        removed["addresses"] = db.session.execute(
            sa.delete(ADDRESSES).where(ADDRESSES.c.id == address.id)).rowcount
    db.session.commit()
    return removed


def valid_email(email):
    return bool(email) and len(email) <= EMAIL_MAX and EMAIL.fullmatch(email) is not None


# Delivering ----------------------------------------------------------------------------------------

def backoff(attempts):
    """How long after attempt number `attempts` the next may come: 2, 4, 8, ... minutes."""
    return min(timedelta(minutes=2 ** min(attempts, 20)), BACKOFF_CAP)


def due(limit):
    now = models.clock()
    rows = db.session.execute(
        sa.select(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.recipient, OUTBOX.c.payload,
                  OUTBOX.c.attempts)
        .where(OUTBOX.c.status == PENDING, OUTBOX.c.due <= now)
        .order_by(OUTBOX.c.due, OUTBOX.c.id).limit(limit)).all()
    db.session.commit()
    return rows


def claim(row):
    """Take `row` for sending: True for exactly one of any senders that try with the same read
    of it. Counts the attempt and moves its due time on first, so a sender that dies after this
    leaves it to be tried again later."""
    attempt = row.attempts + 1
    taken = db.session.execute(
        sa.update(OUTBOX).where(OUTBOX.c.id == row.id, OUTBOX.c.status == PENDING,
                                OUTBOX.c.attempts == row.attempts)
        .values(attempts=attempt, due=models.clock() + backoff(attempt)))
    db.session.commit()
    return taken.rowcount == 1


def settle(row, **values):
    db.session.execute(sa.update(OUTBOX).where(OUTBOX.c.id == row.id, OUTBOX.c.status == PENDING,
                                               OUTBOX.c.attempts == row.attempts + 1)
                       .values(**values))
    db.session.commit()


def deliver(limit=BATCH):
    """Send what is due, up to `limit` messages; a Counter of sent, retrying, failed, dropped
    and taken (by another sender meanwhile)."""
    done = Counter()
    try:
        for row in due(limit):
            if not claim(row):
                done["taken"] += 1
                continue
            try:
                sender = SENDERS.get(row.kind)
                if sender is None:
                    raise mail.Undeliverable(f"no sender for messages of kind {row.kind!r}")
                sender(row)
            except Dropped as why:
                db.session.rollback()
                settle(row, status=DROPPED, error=str(why)[:500])
                done["dropped"] += 1
            except Exception as error:  # any failure, even a bug: retried, then listed as failed
                db.session.rollback()
                final = row.attempts + 1 >= MAX_ATTEMPTS
                reason = str(error) or type(error).__name__
                settle(row, status=FAILED if final else PENDING, error=reason[:500])
                done["failed" if final else "retrying"] += 1
            else:
                db.session.rollback()  # a sender's reads end here
                settle(row, status=SENT, sent=models.clock(), error=None)
                done["sent"] += 1
    finally:
        close_smtp()
        db.session.rollback()
    prune()
    return done


def prune():
    """Sent, dropped and failed rows go after KEEP: they name the addresses they went to."""
    db.session.execute(sa.delete(OUTBOX).where(OUTBOX.c.status != PENDING,
                                               OUTBOX.c.created < models.clock() - KEEP))
    db.session.commit()


def failed(limit=50):
    return db.session.execute(
        sa.select(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.recipient, OUTBOX.c.created,
                  OUTBOX.c.attempts, OUTBOX.c.error)
        .where(OUTBOX.c.status == FAILED).order_by(OUTBOX.c.id).limit(limit)).all()


def retry_failed():
    """Make every failed message due again, with its attempts counted from zero."""
    count = db.session.execute(sa.update(OUTBOX).where(OUTBOX.c.status == FAILED).values(
        status=PENDING, attempts=0, due=models.clock())).rowcount
    db.session.commit()
    return count


# Senders: SENDERS[kind](row) sends an outbox row (id, kind, recipient, payload as JSON text,
# attempts as read before the claim); it raises Dropped when the message is no longer wanted,
# anything else to be tried again.

def send_webhook(row):
    body = json.dumps({"id": row.id, **json.loads(row.payload)}, ensure_ascii=False,
                      separators=(",", ":")).encode()
    mail.post_json(row.recipient, body, row.id, current_app.config["BOARD_WEBHOOK_SECRET"])


def send_email(row):
    if not email_on():
        raise mail.Undeliverable("BOARD_SMTP_URL and BOARD_MAIL_FROM must both be set")
    payload = json.loads(row.payload)
    make = EMAILS.get(payload.get("template"))
    if make is None:
        raise Dropped(f"unknown email {payload.get('template')!r}")
    with current_app.test_request_context("/", base_url=payload["base"]):
        with force_locale(email_language(payload)):
            subject, context, unsubscribe_url = make(row, payload)
            text = render_template(f"email/{payload['template']}.txt", **context)
            html = render_template(f"email/{payload['template']}.html", **context)
    message = EmailMessage()
    sender = current_app.config["BOARD_MAIL_FROM"]
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = row.recipient
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "board.invalid"
    message["Message-ID"] = f"<outbox-{row.id}@{domain}>"  # the same when sent again
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    server = smtp()
    try:
        mail.send_mail(server, message)
    except mail.Undeliverable:
        close_smtp()
        raise


def email_language(payload):
    """The language an email is written in: its board's own (the comment's board, or the board a
    confirmation subscribes to), else BOARD_LANGUAGE, else English. (Addresses keep no language
    of their own: the board's is the one its readers were shown.)"""
    board_language = None
    if payload.get("comment_id") is not None:
        board_language = db.session.scalar(
            sa.select(BOARDS.c.language).join(TABLE, TABLE.c.board_id == BOARDS.c.id)
            .where(TABLE.c.id == payload["comment_id"]))
    elif payload.get("board_id") is not None:
        board_language = db.session.scalar(sa.select(BOARDS.c.language)
                                           .where(BOARDS.c.id == payload["board_id"]))
    for code in (board_language, current_app.config["BOARD_LANGUAGE"]):
        if code in LANGUAGES:
            return code
    return "en"


def smtp():
    """One SMTP connection for a run of deliver(); after a failed connect the rest of the run's
    emails fail at once instead of each waiting for the timeout."""
    if "board_smtp_error" in g:
        raise mail.Undeliverable(g.board_smtp_error)
    if "board_smtp" not in g:
        try:
            g.board_smtp = mail.connect(current_app.config["BOARD_SMTP_URL"])
        except mail.Undeliverable as error:
            g.board_smtp_error = str(error)
            raise
    return g.board_smtp


def close_smtp():
    g.pop("board_smtp_error", None)
    server = g.pop("board_smtp", None)
    if server is not None:
        try:
            server.quit()
        except Exception:
            server.close()


def comment_and_board(comment_id):
    comment = db.session.get(models.Comment, comment_id)
    if comment is None:
        raise Dropped(f"comment {comment_id} is gone")
    board = db.session.execute(sa.select(BOARDS.c.slug, BOARDS.c.title)
                               .where(BOARDS.c.id == comment.board_id)).first()
    return comment, board


def board_url(board):
    return url_for("board.index", slug=None if board.slug == current_app.config[
        "BOARD_DEFAULT_SLUG"] else board.slug, _external=True)


def confirmed_address(row, payload):
    address = db.session.execute(sa.select(ADDRESSES).where(
        ADDRESSES.c.id == payload["address_id"])).first()
    if address is None or address.email != row.recipient:
        raise Dropped("the address was forgotten")
    if address.confirmed is None:
        raise Dropped("the address is not confirmed")
    return address


def comment_url(comment):
    return url_for("board.show_comment", comment_id=comment.id, _anchor=f"comment-{comment.id}",
                   _external=True)


def reply_email(row, payload):
    comment, board = comment_and_board(payload["comment_id"])
    address = confirmed_address(row, payload)
    parent = db.session.get(models.Comment, comment.parent_id) if comment.parent_id else None
    if comment.state != VISIBLE:
        raise Dropped(f"comment {comment.id} is {comment.state}")
    if parent is None or parent.address_id != address.id or not parent.notify_replies:
        raise Dropped("replies are no longer wanted")
    name = translate(display_name(comment.author))
    return (_("%(name)s replied to your comment on %(board)s", name=name, board=board.title),
            {"comment": comment, "parent": parent, "board": board, "name": name,
             "url": comment_url(comment), "board_url": board_url(board),
             "unsubscribe": unsubscribe_link(address, REPLIES)},
            unsubscribe_link(address, REPLIES))


def board_email(row, payload):
    comment, board = comment_and_board(payload["comment_id"])
    address = confirmed_address(row, payload)
    if comment.state != VISIBLE:
        raise Dropped(f"comment {comment.id} is {comment.state}")
    if db.session.scalar(sa.select(SUBSCRIPTIONS.c.id).where(
            SUBSCRIPTIONS.c.address_id == address.id,
            SUBSCRIPTIONS.c.board_id == comment.board_id)) is None:
        raise Dropped("the subscription ended")
    name = translate(display_name(comment.author))
    link = unsubscribe_link(address, BOARD, comment.board_id)
    return (_("New comment on %(board)s from %(name)s", board=board.title, name=name),
            {"comment": comment, "board": board, "name": name, "url": comment_url(comment),
             "board_url": board_url(board), "unsubscribe": link}, link)


def held_email(row, payload):
    comment, board = comment_and_board(payload["comment_id"])
    if comment.state != HELD:
        raise Dropped(f"comment {comment.id} was decided on meanwhile ({comment.state})")
    name = translate(display_name(comment.author))
    # To the moderators BOARD_MODERATOR_EMAILS names: that setting, not a link, starts and stops
    # these; they carry no List-Unsubscribe.
    return (_("Held for review on %(board)s: a comment from %(name)s", board=board.title,
              name=name),
            {"comment": comment, "board": board, "name": name,
             "url": url_for("moderate.index", _anchor=f"moderate-{comment.id}", _external=True)},
            None)


def confirm_email(row, payload):
    address = db.session.execute(sa.select(ADDRESSES).where(
        ADDRESSES.c.id == payload["address_id"])).first()
    if address is None or address.email != row.recipient:
        raise Dropped("the address was forgotten")
    board = None
    if payload.get("board_id") is not None:
        board = db.session.execute(sa.select(BOARDS.c.slug, BOARDS.c.title)
                                   .where(BOARDS.c.id == payload["board_id"])).first()
    elif address.confirmed is not None:
        raise Dropped("the address is confirmed already")
    link = unsubscribe_link(address, ADDRESS)
    url = url_for("subscriptions.confirm_page",
                  token=confirm_token(address.id, address.email, payload.get("board_id")),
                  _external=True)
    return (_("Confirm your email address"), {"board": board, "url": url, "unsubscribe": link,
                                           "days": CONFIRM_DAYS,
                                           "site": url_for("board.index", slug=None,
                                                           _external=True)}, link)


def unsubscribe_link(address, what, board_id=None):
    return url_for("subscriptions.unsubscribe_page",
                   token=unsubscribe_token(address.id, address.email, what, board_id),
                   _external=True)


EMAILS = {"reply": reply_email, "board": board_email, "held": held_email,
          "confirm": confirm_email}
SENDERS = {"email": send_email, "webhook": send_webhook}
