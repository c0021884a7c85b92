"""Keeping spam out, before a comment is stored: the block lists, a local spam score, and
optionally Akismet. `screen` says publish, hold or refuse, and why; the post's route asks it
(board/views.py) and the moderation mode (board/models.py) may hold what it lets through.

The order, and what each costs a post:

1. The block lists (table `blocks`): words and phrases (any case, whole words: "casino" matches
   "CASINO!" and "www.casino.example", not "casinos"), author names (compared as
   rules.name_key compares reserved names: "Cheap Pills" is "cheap-pills" and "ＣＨＥＡＰ ＰＩＬＬＳ"),
   IP networks (CIDR, IPv4 and IPv6; the client's address as the rate limits see it, behind
   BOARD_TRUSTED_PROXIES). Each entry holds the comment for a moderator or refuses it.
2. The local spam score: the signals a moderator would weigh, in points (SCORES below). At
   BOARD_SPAM_HOLD_SCORE (5) the comment is held; at BOARD_SPAM_REFUSE_SCORE (10) refused.
3. Akismet, only with BOARD_AKISMET_KEY, only when nothing above refused: one POST to
   comment-check, at most BOARD_AKISMET_TIMEOUT (2) seconds; spam is held (refused when Akismet
   says discard), and a timeout, an error or an answer that is neither true nor false holds too.

Steps 1 and 2 read the database once: the block list and, for a text long enough to be worth
it, whether another person posted the same text in the last hour, in one statement, inside the
post's own transaction. Without Akismet nothing goes over the network.

Refusal wins over holding; every rule that matched is kept (Verdict.rules), and the decision
models.add or models.refuse records lists them all, for /moderate. A moderator's Approve or
Reject of a comment goes back to Akismet later, through the outbox (`on_write`, `send_report`),
never inside the moderator's request.
"""

import ipaddress
import json
import re
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor, TimeoutError as Late
from datetime import timedelta
from functools import lru_cache
from typing import NamedTuple
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

import sqlalchemy as sa
from flask import current_app, has_request_context, request, url_for
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy.exc import IntegrityError

from . import markup, models
from .notifications import Dropped
from .extensions import db
from .rules import AUTHOR_MAX, CONFUSABLES, FORBIDDEN, N_, iso_utc, name_key, shows_nothing

PUBLISH, HOLD, REFUSE = "publish", "hold", "refuse"


class Submission(NamedTuple):
    """What a post brings for screening."""
    content: str
    author: str | None
    author_key: str  # the poster's author key (board/authors.py)
    ip: str  # the client's address, as the rate limits see it (behind BOARD_TRUSTED_PROXIES)
    user_agent: str
    referrer: str
    started: str | None  # the form's signed time stamp (form_stamp), as sent back
    board_slug: str
    parent_id: int | None


class Verdict(NamedTuple):
    action: str  # PUBLISH, HOLD or REFUSE
    rules: tuple = ()  # which rules decided, in words a moderator reads ("block word casino")
    message: str | None = None  # for REFUSE: what the poster reads
    detail: dict = {}  # kept with the decision (e.g. what a later report to Akismet needs)


# The form's time stamp ---------------------------------------------------------------------------

# Older than this, a stamp is from a tab left open for days, or copied by a script: a mild signal.
STAMP_MAX_AGE = timedelta(days=7).total_seconds()
STAMP_MAX = 200  # characters; a longer `started` is not one of ours


def _stamps():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="board-form-started")


# The last stamp signed, as (secret key, time, stamp): pages shown in the same tenth of a second
# share it, rather than each paying for a signature (a twentieth of a page's time).
_last_stamp = (None, None, None)


def form_stamp(at=None):
    """A signed "now" (or `at`, seconds since the epoch), for the form's hidden `started` field,
    to a tenth of a second: the typing-speed rule (FAST_SECONDS) needs no finer."""
    global _last_stamp
    shown, secret = round(time.time() if at is None else at, 1), current_app.config["SECRET_KEY"]
    kept_secret, kept_shown, stamp = _last_stamp
    if kept_shown != shown or kept_secret != secret:
        stamp = _stamps().dumps(shown)
        _last_stamp = (secret, shown, stamp)
    return stamp


def form_age(started):
    """Seconds since the form was shown, or None when `started` is missing or not ours."""
    if not started or len(started) > STAMP_MAX:
        return None
    try:
        shown = _stamps().loads(started)
    except BadData:
        return None
    if not isinstance(shown, (int, float)) or isinstance(shown, bool):
        return None
    return max(0.0, time.time() - shown)  # a little in the future: another host's clock


# The block lists ---------------------------------------------------------------------------------

WORD, NAME, NETWORK = "word", "name", "network"
KINDS = (WORD, NAME, NETWORK)
ACTIONS = (HOLD, REFUSE)
WORD_MAX = 100
# What a refused poster reads. The entry that matched is not named: a person can still tell
# what to change, and a spammer learns nothing to route around. (rules.Text: English here and in
# stored decisions, the reader's language on a page, through rules.translate.)
REFUSALS = {
    WORD: N_("This board does not accept a word or phrase in your comment; change it and post "
             "again."),
    NAME: N_("This board does not accept comments under that name."),
    NETWORK: N_("This board does not accept comments from your network."),
}
KIND_HINTS = {
    WORD: N_("a word or phrase, matched in any case as whole words; a domain (spam.example) also "
             "matches its subdomains"),
    NAME: N_("an author name, matched in any case and whatever the spacing, punctuation or "
             "look-alike letters"),
    NETWORK: N_("an IP address or network in CIDR notation, IPv4 or IPv6 (203.0.113.0/24, "
                "2001:db8::/32)"),
}


class BadEntry(models.Refused):
    """A block list entry that cannot be stored: says why."""


@lru_cache(maxsize=1)
def format_characters():
    """Every format character (category Cf: zero-width spaces and joiners, U+FEFF, tags, ...),
    as a regex class; they live in planes 0, 1 and 14."""
    found = (chr(point) for plane in (0, 1, 14) for point in range(plane << 16, (plane + 1) << 16)
             if unicodedata.category(chr(point)) == "Cf")
    return re.compile("[" + "".join(map(re.escape, found)) + "]")


def fold(text):
    """Text as the word list compares it: NFKC, look-alike letters as Latin (rules.CONFUSABLES),
    case folded, format characters (zero-width spaces, ...) removed, whitespace runs as one space."""
    if text.isascii():
        return " ".join(text.lower().split())
    folded = unicodedata.normalize("NFKC", text).translate(CONFUSABLES).casefold()
    return " ".join(format_characters().sub("", folded).split())


def not_a_network(value):
    return N_("%(value)s is not an IP network: give an address or CIDR, such as 203.0.113.0/24 or "
              "2001:db8::/32", value=repr(value))


def entry(kind, value):
    """The value to store for a block list entry of `kind`; BadEntry says what is wrong."""
    if kind not in KINDS:
        raise BadEntry(N_("kind must be one of %(kinds)s", kinds=", ".join(KINDS)))
    value = (value or "").strip()
    if kind == NETWORK:
        if "%" in value:  # an IPv6 zone (fe80::1%eth0) is this host's, not a client's
            raise BadEntry(not_a_network(value))
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise BadEntry(not_a_network(value)) from None
        if network.prefixlen == 0:
            raise BadEntry(N_("a /0 network is every address: to hold every comment, set "
                              "BOARD_MODERATION=all"))
        return str(network)
    limit = WORD_MAX if kind == WORD else AUTHOR_MAX
    word = kind == WORD  # whole sentences for each kind, for translators
    if not value or shows_nothing(value):
        raise BadEntry(N_("give a word or phrase to block") if word else N_("give a name to block"))
    if len(value) > limit:
        raise BadEntry(N_("keep a word or phrase to %(num)d characters", num=limit) if word
                       else N_("keep a name to %(num)d characters", num=limit))
    if FORBIDDEN.search(value) or any(char in value for char in "\t\n\r"):
        raise BadEntry(N_("a word or phrase cannot hold control characters or line breaks") if word
                       else N_("a name cannot hold control characters or line breaks"))
    if kind == WORD:
        return fold(value)
    if not name_key(value):
        raise BadEntry(N_("a name needs letters or digits to be compared by"))
    return " ".join(value.split())


def every_block():
    """Every entry, by kind and value."""
    return db.session.execute(
        sa.select(models.BLOCKS).order_by(models.BLOCKS.c.kind, models.BLOCKS.c.value,
                                          models.BLOCKS.c.id)).all()


def add_block(kind, value, action=HOLD):
    """Store an entry (checked by `entry`); BadEntry when it is malformed or already listed."""
    if action not in ACTIONS:
        raise BadEntry(N_("action must be one of %(actions)s", actions=", ".join(ACTIONS)))
    value = entry(kind, value)
    same = [row for row in every_block() if row.kind == kind
            and (name_key(row.value) == name_key(value) if kind == NAME else row.value == value)]
    if same:
        db.session.rollback()
        raise BadEntry(N_("%(kind)s %(value)s is already on the block list (entry %(id)s)",
                          kind=kind, value=repr(value), id=same[0].id))
    block = models.Block(kind=kind, value=value, action=action, created=models.clock())
    db.session.add(block)
    try:
        db.session.commit()
    except IntegrityError:  # added meanwhile, or equal under MariaDB's collation
        db.session.rollback()
        raise BadEntry(N_("%(kind)s %(value)s is already on the block list", kind=kind,
                          value=repr(value))) from None
    block_id = block.id
    return block_id, value


def remove_block(block_id):
    """Remove entry `block_id`; Refused when there is none. Returns (kind, value)."""
    row = db.session.execute(sa.select(models.BLOCKS.c.kind, models.BLOCKS.c.value)
                             .where(models.BLOCKS.c.id == block_id)).first()
    if row is None:
        db.session.rollback()
        raise models.Refused(N_("there is no block list entry %(id)s", id=block_id))
    db.session.execute(sa.delete(models.BLOCKS).where(models.BLOCKS.c.id == block_id))
    db.session.commit()
    return row.kind, row.value


def recent_refusals(limit=20):
    """The newest refused posts (they have no comment to show them on): when, why, and what."""
    rows = db.session.execute(
        sa.select(models.DECISIONS.c.id, models.DECISIONS.c.at, models.DECISIONS.c.rule,
                  models.DECISIONS.c.detail)
        .where(models.DECISIONS.c.comment_id.is_(None), models.DECISIONS.c.action == "refused")
        .order_by(models.DECISIONS.c.id.desc()).limit(limit)).all()
    return [(row.at, row.rule, json.loads(row.detail) if row.detail else {}) for row in rows]


@lru_cache(maxsize=1024)
def word_pattern(value):
    return re.compile(r"(?<!\w)" + re.escape(fold(value)) + r"(?!\w)")


def network_of(value):
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def address_of(ip):
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


# The local spam score ----------------------------------------------------------------------------

# Points for each signal: what a moderator looking at the comment would count against it. None
# of them alone holds a comment but many links; two of them together usually do; refusing takes
# several strong ones (a bot: many links, sent within a second, the same text as another's).
SCORES = {
    # Each link after the first; a comment with one link is ordinary, four (6) look like an ad.
    "link": 2, "links_max": 8,
    # Each link to a domain on the word list (its action applies anyway; this can raise a hold
    # to a refusal).
    "blocked_link": 4,
    # Sent within FAST_SECONDS of the form being shown, with more text than anyone types in that
    # time (TYPING_CHARS_PER_SECOND): a script, or at most a paste.
    "fast": 4,
    # No time stamp, one not ours, or one older than STAMP_MAX_AGE: scripts do that, but so do
    # old tabs and cached pages. Mild.
    "no_stamp": 1,
    # The same text as another person's comment of the last REPEAT_WINDOW: copy-paste spam
    # under many names. Only for texts of at least REPEAT_MIN characters ("Thanks!" repeats).
    "repeat": 3,
    # At least CAPITALS_MIN letters, nearly all capitals: shouting, common in spam.
    "capitals": 2,
}
FAST_SECONDS = 3
TYPING_CHARS_PER_SECOND = 10  # 120 words a minute: faster than nearly everyone types
REPEAT_WINDOW = timedelta(hours=1)
REPEAT_MIN = 20
REPEAT_SCAN = 1000  # the newest comments of REPEAT_WINDOW compared: a post's cost stays bounded
CAPITALS_MIN = 20


def links_in(content):
    """The hosts of the links a reader would see in `content` (what board/markup.py links)."""
    hosts = []
    if not markup.md.linkify.pretest(content):  # no "://", no "@", no "." at all: no link
        return hosts
    for link in markup.md.linkify.match(content) or ():
        if link.schema.lower() == "mailto:":  # an email address is no link to a site
            continue
        try:
            host = urlsplit(link.url).hostname
        except ValueError:
            host = None
        hosts.append(fold(host) if host else "")
    return hosts


def under(host, domain):
    return host == domain or host.endswith("." + domain)


def score(submission, word_blocks, repeated):
    """The spam score and its signals, as [(points, what a moderator reads)]."""
    signals = []
    hosts = links_in(submission.content)
    if len(hosts) > 1:
        signals.append((min(SCORES["link"] * (len(hosts) - 1), SCORES["links_max"]),
                        f"{len(hosts)} links"))
    domains = [word for word in word_blocks if "." in word and " " not in word]
    blocked = sum(1 for host in hosts if any(under(host, domain) for domain in domains))
    if blocked:
        signals.append((SCORES["blocked_link"] * blocked,
                        f"{blocked} link{'s' if blocked > 1 else ''} to a blocked domain"))
    age = form_age(submission.started)
    if age is None or age > STAMP_MAX_AGE:
        signals.append((SCORES["no_stamp"], "no form time stamp" if age is None
                        else "form shown over a week before"))
    elif age < FAST_SECONDS and len(submission.content) > TYPING_CHARS_PER_SECOND * max(age, 0.5):
        signals.append((SCORES["fast"], f"sent {age:.1f} s after the form was shown, "
                                        f"{len(submission.content)} characters"))
    if repeated:
        signals.append((SCORES["repeat"], f"repeats comment {repeated} of another person"))
    letters = [char for char in submission.content if char.isalpha() and char.lower() != char.upper()]
    if len(letters) >= CAPITALS_MIN and sum(char.isupper() for char in letters) >= 0.9 * len(letters):
        signals.append((SCORES["capitals"], "in capitals"))
    return sum(points for points, _ in signals), signals


# Reading the lists (one statement) ---------------------------------------------------------------

def read_lists(submission):
    """The block list's rows and, for a long enough text, the newest other person's comment of
    the last REPEAT_WINDOW with the same text (or None): one statement."""
    blocks = models.BLOCKS
    statement = sa.select(blocks.c.id, blocks.c.kind, blocks.c.value, blocks.c.action)
    if len(submission.content) >= REPEAT_MIN:
        statement = sa.union_all(statement, sa.select(
            repeat_of(submission), sa.literal_column("'repeat'"), sa.literal_column("''"),
            sa.literal_column("''")))
    rows = db.session.execute(statement).all()
    repeated = next((row[0] for row in rows if row[1] == "repeat"), None)
    return sorted((row for row in rows if row[1] != "repeat"), key=lambda row: row.id), repeated


def repeat_of(submission):
    """The newest comment of the last REPEAT_WINDOW with the submission's text by another person,
    among the newest REPEAT_SCAN comments of that window, as a scalar subquery.

    The newest REPEAT_SCAN ids come from one range of ix_comments_posted_id, read from its
    newest end; only those rows are read for their text. Without that bound a post read every
    comment of the last hour: on a busy site, or under the flood this check is for, each post
    cost more than the one before. (Not MAX(id) either: SQLite answers that by reading every
    row from the newest id down until one matches, the whole table when none does.)"""
    comments = models.TABLE
    newest = (sa.select(comments.c.id)
              .where(comments.c.posted >= models.clock() - REPEAT_WINDOW)
              .order_by(comments.c.posted.desc(), comments.c.id.desc())
              .limit(REPEAT_SCAN).subquery("newest"))
    return (sa.select(comments.c.id)
            .join(newest, newest.c.id == comments.c.id)
            .where(comments.c.content == submission.content,
                   sa.or_(comments.c.author_key.is_(None),
                          comments.c.author_key != submission.author_key))
            .order_by(comments.c.id.desc()).limit(1).scalar_subquery())


def matches(submission, rows):
    """The block list entries that match, as (action, kind, rule)."""
    content = fold(submission.content)
    author = name_key(submission.author) if submission.author else None
    address = address_of(submission.ip)
    found = []
    for row in rows:
        if row.kind == WORD:
            hit = word_pattern(row.value).search(content)
            rule = f'block list: word "{row.value}"'
        elif row.kind == NAME:
            hit = author is not None and name_key(row.value) == author
            rule = f'block list: name "{row.value}"'
        elif row.kind == NETWORK:
            network = network_of(row.value)
            hit = (address is not None and network is not None
                   and address.version == network.version and address in network)
            rule = f"block list: network {row.value}"
        else:
            continue
        if hit:
            found.append((REFUSE if row.action == REFUSE else HOLD, row.kind, rule))
    return found


# Screening ---------------------------------------------------------------------------------------

def score_refusal(signals):
    # The signals are in the moderator's words (English, as stored in the decision).
    return N_("This comment looks like spam to this board (%(signals)s), so it was not posted. "
              "Change it and post again.", signals=signals)


AKISMET_REFUSAL = N_("This board's spam filter (Akismet) refused this comment.")


def screen(submission):
    config = current_app.config
    rows, repeated = read_lists(submission)
    found = matches(submission, rows)
    points, signals = score(submission, [row.value for row in rows if row.kind == WORD], repeated)
    rules, message, action = [], None, PUBLISH
    for matched_action, kind, rule in found:
        rules.append(rule)
        if matched_action == REFUSE and message is None:
            message, action = REFUSALS[kind], REFUSE
        elif action == PUBLISH:
            action = HOLD
    detail = request_detail(submission)
    if signals:
        detail["score"] = points
        detail["signals"] = [f"{what} (+{worth})" for worth, what in signals]
    hold_at, refuse_at = config["BOARD_SPAM_HOLD_SCORE"], config["BOARD_SPAM_REFUSE_SCORE"]
    if points >= min(hold_at, refuse_at):
        refused = points >= refuse_at
        rules.append(f"spam score {points} ({'refuse' if refused else 'hold'} at "
                     f"{refuse_at if refused else hold_at}): "
                     + ", ".join(what for _, what in signals))
        if refused and message is None:
            message, action = score_refusal(", ".join(what for _, what in signals)), REFUSE
        elif action == PUBLISH:
            action = HOLD
    if action != REFUSE and config["BOARD_AKISMET_KEY"]:
        db.session.commit()  # the read's transaction ends: no connection waits on the network
        answer, rule, discard = check_with_akismet(akismet_fields(submission, detail))
        detail["akismet"] = answer
        if rule:
            rules.append(rule)
            if discard:
                message, action = AKISMET_REFUSAL, REFUSE
            elif action == PUBLISH:
                action = HOLD
    return Verdict(action, tuple(rules), message, detail)


def request_detail(submission):
    """What a report to Akismet needs later, kept with a held decision (and shown to moderators):
    the request's address, browser and referrer, and where the comment was posted."""
    detail = {"user_ip": submission.ip, "user_agent": submission.user_agent[:500],
              "referrer": submission.referrer[:500],
              "comment_type": "reply" if submission.parent_id else "comment"}
    if has_request_context():
        detail["blog"] = request.host_url
        try:
            detail["permalink"] = (
                url_for("board.show_comment", comment_id=submission.parent_id, _external=True)
                if submission.parent_id else url_for("board.index", _external=True))
        except Exception:  # no such route in this app (a tool's app): the front page will do
            detail["permalink"] = request.host_url
    return detail


# Akismet -----------------------------------------------------------------------------------------

AKISMET_AGENT = "board/1.0 | akismet-client"
_pool, _pool_lock = None, threading.Lock()


def akismet_fields(submission, detail):
    """comment-check's parameters (without the key), from the post and `request_detail`."""
    fields = {key: detail[key] for key in ("blog", "user_ip", "user_agent", "referrer",
                                           "permalink", "comment_type") if key in detail}
    fields.update(comment_author=submission.author or "", comment_content=submission.content,
                  comment_date_gmt=iso_utc(models.clock()), blog_charset="UTF-8")
    if current_app.testing:
        fields["is_test"] = "1"
    return fields


def pool():
    """Threads for Akismet calls (made in the worker process, at its first call), so that a
    call is cut off after its timeout whatever hangs: the DNS lookup, the connection, the answer."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="akismet")
        return _pool


def call_akismet(url, fields, timeout):
    """POST `fields` to `url`: (status, headers, body). Raises on any failure."""
    body = urlencode(fields).encode()
    sent = Request(url, data=body, method="POST", headers={
        "User-Agent": AKISMET_AGENT, "Content-Type": "application/x-www-form-urlencoded"})
    with urlopen(sent, timeout=timeout) as answer:  # respects HTTPS_PROXY (PythonAnywhere)
        return answer.status, answer.headers, answer.read(1024).decode("utf-8", "replace")


def akismet_url(call):
    return f"{current_app.config['BOARD_AKISMET_URL'].rstrip('/')}/1.1/{call}"


def check_with_akismet(fields):
    """Ask comment-check: (answer, rule or None, discard). answer: "ham", "spam" or
    "unavailable"; a rule holds the comment (discard: refuses it)."""
    config = current_app.config
    timeout = config["BOARD_AKISMET_TIMEOUT"]
    late = f"no answer within {timeout:g} s"
    fields = {"api_key": config["BOARD_AKISMET_KEY"], **fields}
    try:
        status, headers, body = pool().submit(
            call_akismet, akismet_url("comment-check"), fields, timeout).result(timeout)
    except Late:
        reason = late
    except HTTPError as error:
        reason = f"HTTP {error.code}"
    except Exception as error:  # refused, reset, DNS, TLS, the socket's own timeout: all hold
        reason = getattr(error, "reason", None) or error
        reason = late if isinstance(reason, TimeoutError) or "timed out" in str(reason) \
            else str(reason)
    else:
        body = body.strip()
        if status == 200 and body == "true":
            discard = headers.get("X-akismet-pro-tip", "").strip().lower() == "discard"
            return "spam", f"akismet: spam{' (discard)' if discard else ''}", discard
        if status == 200 and body == "false":
            return "ham", None, False
        help_text = headers.get("X-akismet-debug-help") or headers.get("X-akismet-alert-msg")
        reason = f"answered {body[:40]!r}" + (f": {help_text[:80]}" if help_text else "")
        current_app.logger.warning("Akismet comment-check %s", reason)
    return "unavailable", f"akismet: unavailable ({str(reason)[:100]})", False


# Reporting back to Akismet -----------------------------------------------------------------------

REPORTS = ("submit-spam", "submit-ham")
AKISMET_THANKS = "Thanks for making the web a better place."


def held_detail(comment_id):
    """The detail of the comment's (latest) held decision, or {}."""
    detail = db.session.scalar(
        sa.select(models.DECISIONS.c.detail)
        .where(models.DECISIONS.c.comment_id == comment_id, models.DECISIONS.c.action == "held")
        .order_by(models.DECISIONS.c.id.desc()).limit(1))
    try:
        return json.loads(detail) if detail else {}
    except ValueError:
        return {}


def on_write(event, comment, **context):
    """models.WRITE_HOOKS: when a moderator approves or rejects a held comment and Akismet is
    configured, put a report in the outbox, in the moderator's transaction: submit-ham for a
    comment Akismet called spam and the moderator approved (a false positive), submit-spam for
    one the moderator rejected that Akismet had not called spam (missed spam), as Akismet's
    documentation asks. `flask board send-notifications` sends it (send_report)."""
    if event not in ("approved", "rejected"):
        return
    try:
        report(event, comment)
    finally:
        forget_poster(comment.id)


# What a held decision keeps of its poster for Akismet; dropped once a moderator has decided.
POSTER = ("user_ip", "user_agent", "referrer")


def forget_poster(comment_id):
    """Once a held comment is decided (and any report to Akismet is in the outbox), its held
    decisions keep no address, browser or referrer: nothing needs them any more."""
    rows = db.session.execute(sa.select(models.DECISIONS.c.id, models.DECISIONS.c.detail).where(
        models.DECISIONS.c.comment_id == comment_id, models.DECISIONS.c.action == "held",
        models.DECISIONS.c.detail.is_not(None))).all()
    for decision_id, text in rows:
        try:
            detail = json.loads(text)
        except ValueError:
            continue
        if isinstance(detail, dict) and any(key in detail for key in POSTER):
            kept = {key: value for key, value in detail.items() if key not in POSTER}
            db.session.execute(sa.update(models.DECISIONS)
                               .where(models.DECISIONS.c.id == decision_id)
                               .values(detail=json.dumps(kept) if kept else None))


def report(event, comment):
    if not current_app.config["BOARD_AKISMET_KEY"]:
        return
    detail = held_detail(comment.id)
    said_spam = detail.get("akismet") == "spam"
    if not detail.get("user_ip") or (event == "approved") != said_spam:
        return  # nothing to correct, or held before Akismet was asked about it
    fields = {key: detail[key] for key in ("blog", "user_ip", "user_agent", "referrer",
                                           "permalink", "comment_type") if key in detail}
    fields.update(comment_author=comment.author or "", comment_content=comment.content,
                  comment_date_gmt=iso_utc(comment.posted), blog_charset="UTF-8")
    if current_app.testing:
        fields["is_test"] = "1"
    now = models.clock()
    db.session.execute(sa.insert(models.OUTBOX).values(
        kind="akismet", recipient="submit-ham" if event == "approved" else "submit-spam",
        payload=json.dumps(fields), status="pending", created=now, due=now, attempts=0))


def send_report(row):
    """notifications.SENDERS["akismet"]: send one outbox row (`flask board send-notifications`).
    Dropped when Akismet was turned off since; any other failure raises, to be tried again."""
    if not current_app.config["BOARD_AKISMET_KEY"]:
        raise Dropped("BOARD_AKISMET_KEY is not set any more")
    report_to_akismet(row.recipient, row.payload)


def report_to_akismet(recipient, payload):
    """POST a report's `payload` (JSON text or a dict) to submit-spam or submit-ham, with the
    key. Raises on any failure."""
    config = current_app.config
    if recipient not in REPORTS:
        raise ValueError(f"not an Akismet report: {recipient!r}")
    if not config["BOARD_AKISMET_KEY"]:
        raise RuntimeError("BOARD_AKISMET_KEY is not set: the report waits until it is")
    fields = {"api_key": config["BOARD_AKISMET_KEY"],
              **(json.loads(payload) if isinstance(payload, str) else payload)}
    try:
        status, _, body = call_akismet(akismet_url(recipient), fields,
                                       max(10, config["BOARD_AKISMET_TIMEOUT"]))
    except HTTPError as error:
        status, body = error.code, ""
    if status != 200 or body.strip() != AKISMET_THANKS:
        raise RuntimeError(f"Akismet {recipient} answered {status} {body[:80]!r}")
