"""What the board reads from a request: strict UTF-8 form bodies, its forms, listing cursors.
What makes a comment valid is in board/rules.py; the forms ask there."""

import io
import re
from urllib.parse import parse_qsl

from flask import Request, abort, current_app
from flask_wtf import FlaskForm
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.routing import BaseConverter, ValidationError
from werkzeug.utils import cached_property
from werkzeug.wsgi import get_input_stream
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

    @cached_property
    def stream(self):
        """The body, refused with 413 when it is larger than MAX_CONTENT_LENGTH however it is sent.

        Werkzeug refuses a Content-Length over the limit, but a chunked body (no Content-Length,
        from a server that sets wsgi.input_terminated, as gunicorn does) it only stops reading at
        the limit: the form would be parsed from its first 64 KiB, the rest silently dropped. So
        such a body is read here up to one byte past the limit (at most 64 KiB + 1 in memory)."""
        if self.shallow:
            raise RuntimeError("This request was created with 'shallow=True'; reading its body "
                               "is not allowed.")
        limit = self.max_content_length
        chunked = self.content_length is None and "wsgi.input_terminated" in self.environ
        if limit is None or not chunked:
            return get_input_stream(self.environ, max_content_length=limit)
        body = get_input_stream(self.environ, max_content_length=limit + 1).read()
        if len(body) > limit:
            raise RequestEntityTooLarge()
        return io.BytesIO(body)


class CommentIdConverter(BaseConverter):
    """`<comment_id:...>`: a comment id written the one way it is written: ASCII digits without
    leading zeros, from 1 to ID_MAX. /comments/01 or /comments/١ (an Arabic-Indic one), which
    Werkzeug's int converter reads as 1, are 404, so one comment has one URL. Registered by
    create_app for every route with an id (board/views.py, board/moderation.py)."""

    regex = rf"[1-9][0-9]{{0,{len(str(ID_MAX)) - 1}}}"
    part_isolating = True

    def to_python(self, value):
        number = int(value)
        if number > ID_MAX:  # beyond the id column's range: cannot exist, and no driver overflow
            raise ValidationError()
        return number

    def to_url(self, value):
        return str(int(value))


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
