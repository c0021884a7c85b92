"""What the board reads from a request: strict UTF-8 form bodies, its forms, listing cursors.
What makes a comment valid is in board/rules.py; the forms ask there."""

import re
from urllib.parse import parse_qsl

from flask import Request, abort, current_app
from flask_wtf import FlaskForm
from werkzeug.exceptions import BadRequest
from werkzeug.formparser import FormDataParser
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired

from .rules import AUTHOR_MAX, CONTENT_MAX, ID_MAX, normalise, validate


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


class RulesForm(FlaskForm):
    """A form whose comment fields are checked by rules.validate, and nothing else."""

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        author = self.author.data if "author" in self else None
        for name, message in validate(self.content.data, author).items():
            self[name].errors.append(message)
            valid = False
        return valid


def content_field(label):
    # required and maxlength are for the browser's own hints; the server asks rules.validate.
    return TextAreaField(label, filters=[normalise],
                         render_kw={"required": True, "maxlength": CONTENT_MAX})


class CommentForm(RulesForm):
    author = StringField("Name", filters=[normalise], render_kw={"maxlength": AUTHOR_MAX})
    content = content_field("Comment")
    # A honeypot: hidden from people by CSS, filled in by bots that fill in everything.
    website = StringField("Leave this field empty")


class EditForm(RulesForm):
    content = content_field("Edit your comment")


class ConfirmForm(FlaskForm):
    """A button and its CSRF token: delete, hide, unhide, log out."""


class LoginForm(FlaskForm):
    password = PasswordField("Moderator password", validators=[DataRequired("Enter the password.")])


class ListingArgs:
    """Query parameters of a listing: `before` and `after` cursors (comment ids: after N means
    the comments stored after N), `since` (the poll's change cursor, a revision) and `limit`."""

    CURSOR = re.compile(r"[0-9]{1,16}")  # longer digit strings are out of every range below
    # Revisions started at the time of the upgrade that introduced them, in milliseconds, and
    # grow by one a change: this bound (the end of year 9999 in milliseconds) is never reached.
    SINCE_MAX = 253402300799999

    def __init__(self, args, default_limit, max_limit=100):
        self.errors = []
        self.before = self._int(args, "before", 1, ID_MAX)
        self.after = self._int(args, "after", 0, ID_MAX)
        self.since = self._int(args, "since", 0, self.SINCE_MAX)
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


def listing_args(args, pages_only=None):
    """The listing's arguments, or 400 with every problem. `pages_only` names a page that takes
    `before`, not `after`."""
    parsed = ListingArgs(args, current_app.config["BOARD_PAGE_SIZE"])
    if pages_only and parsed.after is not None:
        parsed.errors.append(f"{pages_only} takes before, not after.")
    if parsed.errors:
        abort(400, " ".join(parsed.errors))
    return parsed
