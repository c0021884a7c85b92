"""What a valid comment is: the one place that says so."""

import re
from urllib.parse import parse_qsl

from flask import Request
from flask_wtf import FlaskForm
from werkzeug.exceptions import BadRequest
from werkzeug.formparser import FormDataParser
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .models import AUTHOR_MAX, CONTENT_MAX

# C0 controls except tab and newline, DEL, C1 controls, and lone surrogates (not encodable).
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


class StrictFormDataParser(FormDataParser):
    """Werkzeug keeps undecodable %-escapes as text; we refuse a body that is not UTF-8."""

    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        try:
            items = parse_qsl(stream.read().decode(), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise BadRequest("The request is not valid UTF-8 text.") from None
        return stream, self.cls(items), self.cls()


class StrictRequest(Request):
    form_data_parser_class = StrictFormDataParser


def normalise(value):
    """Browsers send textarea line breaks as CRLF; store and count them as one character."""
    if value is None:
        return value
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def printable(form, field):
    if field.data and FORBIDDEN.search(field.data):
        raise ValidationError("Remove the control characters: only text, tabs and line breaks.")


def content_field(label):
    return TextAreaField(
        label,
        filters=[normalise],
        validators=[
            DataRequired(message="Write a comment before posting."),
            Length(max=CONTENT_MAX, message=f"Keep your comment to {CONTENT_MAX} characters."),
            printable,
        ],
    )


class CommentForm(FlaskForm):
    author = StringField(
        "Name",
        filters=[normalise],
        validators=[
            Optional(),
            Length(max=AUTHOR_MAX, message=f"Keep your name to {AUTHOR_MAX} characters."),
            printable,
        ],
    )
    content = content_field("Comment")
    # A honeypot: hidden from people by CSS, filled in by bots that fill in everything.
    website = StringField("Leave this field empty")


class EditForm(FlaskForm):
    content = content_field("Edit your comment")


class ConfirmForm(FlaskForm):
    """A button and its CSRF token: delete, hide, unhide, log out."""


class LoginForm(FlaskForm):
    password = PasswordField("Moderator password", validators=[DataRequired("Enter the password.")])


class ListingArgs:
    """Query parameters of a listing: `before` and `after` cursors (comment ids), `since` (the
    poll's change cursor) and `limit`."""

    CURSOR = re.compile(r"[0-9]{1,18}")  # 18 digits always fit a signed 64-bit id

    def __init__(self, args, default_limit, max_limit=100):
        self.errors = []
        self.before = self._int(args, "before", 1, 10**18)
        self.after = self._int(args, "after", 0, 10**18)
        self.since = self._int(args, "since", 0, 10**15)  # milliseconds since 1970
        self.limit = self._int(args, "limit", 1, max_limit)
        if self.limit is None:
            self.limit = default_limit
        if self.before is not None and self.after is not None:
            self.errors.append("Use either before or after, not both.")

    def _int(self, args, name, low, high):
        raw = args.get(name)
        if raw is None:
            return None
        if not self.CURSOR.fullmatch(raw) or not low <= int(raw) <= high:
            self.errors.append(f"{name} must be a whole number from {low} to {high}.")
            return None
        return int(raw)
