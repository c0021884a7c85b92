"""The JSON Lines transfer format and bulk writes: export, import and seeding in batches.

One comment a line, UTF-8: {"id": 7, "author": null, "content": "...",
"posted": "2017-07-07T18:47:05.123456Z", "edited": null, "state": "visible"}.
"""

import json
from datetime import datetime, timezone
from json.encoder import encode_basestring as quoted  # a JSON string, non-ASCII kept as is
from typing import NamedTuple

import sqlalchemy as sa

from .extensions import db
from .models import COMMENT_IDS, TABLE, advance_ids, take
from .rules import ID_MAX, STATES, iso_utc, validate

# One comment as JSON Lines carries exactly these columns, in this order.
FIELDS = ("id", "author", "content", "posted", "edited", "state")
EXPORTED = sa.select(*(TABLE.c[name] for name in FIELDS))
BATCH = 1000  # rows per fetch, per existence check and per multi-row INSERT
MAX_LINE = 64 * 1024  # bytes; the longest valid comment, \u-escaped, is under 50 KiB
TIME_EXAMPLE = "2017-07-07T18:47:05.123456Z"
EARLIEST = datetime(1000, 1, 1, tzinfo=timezone.utc)  # MySQL's DATETIME starts at year 1000


class BadLine(Exception):
    def __init__(self, number, problem):
        super().__init__(f"line {number}: {problem}")


class Imported(NamedTuple):
    added: int
    skipped: int  # ids the board (or an earlier line) already had
    differing: list  # the first few of those whose fields differ: the board's version was kept


def batches(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# Writing ----------------------------------------------------------------------------------------

def to_line(row):
    """What json.dumps(dict, ensure_ascii=False) writes for the row, built directly: a million
    rows spend most of their export time here."""
    id_, author, content, posted, edited, state = row
    author = "null" if author is None else quoted(author)
    edited = "null" if edited is None else f'"{iso_utc(edited, "microseconds")}"'
    return (f'{{"id": {id_}, "author": {author}, "content": {quoted(content)}, '
            f'"posted": "{iso_utc(posted, "microseconds")}", "edited": {edited}, '
            f'"state": {quoted(state)}}}\n')


def exported(batch=BATCH):
    """Every comment in id order, `batch` rows in memory at a time, as one snapshot.

    PostgreSQL streams through a server-side cursor and SQLite's cursor steps lazily by itself.
    SQLAlchemy gives mysql-connector no server-side cursor: stream_results would quietly buffer
    the whole result (358 MB at 300,000 rows), so MySQL/MariaDB read keyset chunks by id inside
    one transaction (InnoDB's REPEATABLE READ keeps them one snapshot).
    """
    dialect = db.session.get_bind().dialect
    ordered = EXPORTED.order_by(TABLE.c.id)
    if dialect.supports_server_side_cursors or dialect.name == "sqlite":
        yield from db.session.execute(
            ordered.execution_options(stream_results=True, yield_per=batch))
        return
    last = 0
    while True:
        rows = db.session.execute(ordered.where(TABLE.c.id > last).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1].id


# Reading ----------------------------------------------------------------------------------------

def unique_keys(pairs):
    record = dict(pairs)
    if len(record) < len(pairs):
        keys = [key for key, _ in pairs]
        repeated = [key for key in record if keys.count(key) > 1]
        raise ValueError(f"repeats the field(s) {', '.join(repeated)}")
    return record


def check_time(name, value, nullable=False):
    if value is None and nullable:
        return value
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a time as text, like {TIME_EXAMPLE}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} is not an ISO 8601 time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{name} has no time zone: {value[:40]!r}; write UTC as {TIME_EXAMPLE}")
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:  # year 1 with an offset east of UTC
        moment = None
    if moment is None or moment < EARLIEST:
        raise ValueError(f"{name} is before the year 1000: {value[:40]!r}")
    return moment


DECODER = json.JSONDecoder(object_pairs_hook=unique_keys)
FIELD_SET = set(FIELDS)


def to_record(raw):
    """One line's comment, checked by the board's own rules for what it once stored
    (rules.validate with posting=False)."""
    try:
        record = DECODER.decode(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"is not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict):
        raise ValueError("is not a JSON object")
    if record.keys() != FIELD_SET:
        missing = [name for name in FIELDS if name not in record]
        unknown = sorted(set(record) - FIELD_SET)
        raise ValueError("; ".join(filter(None, [
            missing and f"lacks the field(s) {', '.join(missing)}",
            unknown and f"has unknown field(s) {', '.join(unknown)}"])))
    if type(record["id"]) is not int or not 1 <= record["id"] <= ID_MAX:
        raise ValueError(f"id must be a whole number from 1 to {ID_MAX}")
    if record["state"] not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}")
    if record["author"] is not None and not isinstance(record["author"], str):
        raise ValueError("author must be text or null")
    if not isinstance(record["content"], str):
        raise ValueError("content must be text")
    problems = validate(record["content"], record["author"], posting=False)
    if problems:
        raise ValueError("; ".join(f"{name}: {message.rstrip('.')}"
                                   for name, message in problems.items()))
    return {"id": record["id"], "author": record["author"], "content": record["content"],
            "posted": check_time("posted", record["posted"]),
            "edited": check_time("edited", record["edited"], nullable=True),
            "state": record["state"]}


def records(file, on_progress=lambda nbytes: None):
    """The file's comments, line by line; blank lines are skipped, a bad one raises BadLine.
    `on_progress` hears how many bytes were read, now and then."""
    number = pending = 0
    while raw := file.readline(MAX_LINE + 1):
        number += 1
        pending += len(raw)
        if number % BATCH == 0:
            on_progress(pending)
            pending = 0
        if len(raw) > MAX_LINE:
            raise BadLine(number, f"is longer than {MAX_LINE} bytes")
        if raw.strip():
            try:
                yield to_record(raw)
            except ValueError as error:
                raise BadLine(number, str(error)) from None
    on_progress(pending)


# Bulk writes ------------------------------------------------------------------------------------

def insert_comments(rows):
    """One multi-row INSERT per batch (Core executemany, no ORM objects); keeps given ids."""
    db.session.execute(sa.insert(TABLE), rows)


def values(row_or_record):
    if isinstance(row_or_record, dict):
        return tuple(row_or_record[name] for name in FIELDS)
    return tuple(row_or_record)


def import_comments(records, batch=BATCH, differing_max=10):
    """Add the `records` (dicts of FIELDS) whose id the board lacks, all in ONE transaction:
    any exception, from the database or from the records' iterator (a bad line), rolls back
    everything. Ids are kept, so permalinks survive a move; new posts get ids after them."""
    added = skipped = highest = 0
    differing = []
    try:
        for chunk in batches(records, batch):
            ids = {record["id"] for record in chunk}
            present = {row.id: row for row in
                       db.session.execute(EXPORTED.where(TABLE.c.id.in_(ids)))}
            new = []
            for record in chunk:
                old = present.get(record["id"])
                if old is None:
                    new.append(record)
                    present[record["id"]] = record  # a repeat later in the file is skipped
                    continue
                skipped += 1
                if values(old) != values(record) and len(differing) < differing_max:
                    differing.append(record["id"])
            if new:
                insert_comments(new)
                added += len(new)
                highest = max(highest, *(record["id"] for record in new))
        advance_ids(highest)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return Imported(added, skipped, differing)


def seed_comments(rows, batch=10 * BATCH):
    """Insert generated rows in batches, committing each; returns how many. Each batch takes its
    ids from the counter in one step."""
    total = 0
    for chunk in batches(rows, batch):
        last = take(db.session.connection(), COMMENT_IDS, len(chunk))
        for id_, row in enumerate(chunk, start=last - len(chunk) + 1):
            row["id"] = id_
        insert_comments(chunk)
        db.session.commit()
        total += len(chunk)
    return total
