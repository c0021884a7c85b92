"""What the board reads from a request: strict UTF-8 form bodies, its forms, listing cursors.
What makes a comment valid is in board/rules.py; the forms ask there."""

import io
import re
from urllib.parse import parse_qsl

from flask import Request, abort, current_app
from flask_babel import gettext as _, lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.routing import BaseConverter, ValidationError
from werkzeug.utils import cached_property
from werkzeug.wsgi import get_input_stream
from wtforms import BooleanField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, ValidationError as FieldError

from . import reads
from .rules import (AUTHOR_MAX, CONTENT_MAX, EMAIL, EMAIL_MAX, EMAIL_MESSAGE, ID_MAX, PARENT_GONE,
                    normalise, parent_id, translate, validate)


class StrictFormDataParser(FormDataParser):
    """Werkzeug keeps undecodable %-escapes as text; we refuse a body that is not UTF-8."""

    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        try:
            items = parse_qsl(stream.read().decode(), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise BadRequest(_l("The request is not valid UTF-8 text.")) from None
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
            self[name].errors.append(translate(message))  # in the reader's language
            valid = False
        return valid


def content_field(label, placeholder=_l("Say something…")):
    # required and maxlength are for the browser's own hints; the server asks rules.validate.
    # The placeholder also tells the stylesheet the box is empty (:placeholder-shown).
    return TextAreaField(label, filters=[normalise],
                         render_kw={"required": True, "maxlength": CONTENT_MAX,
                                    "placeholder": placeholder})


class CommentForm(RulesForm):
    author = StringField(_l("Name"), filters=[normalise], render_kw={"maxlength": AUTHOR_MAX})
    content = content_field(_l("Comment"))
    # A honeypot: hidden from people by CSS, filled in by bots that fill in everything.
    website = StringField(_l("Leave this field empty"))
    # A reply's comment answered; empty for a new thread.
    parent = HiddenField()
    # Optional, never shown: where to send replies (after the address is confirmed).
    email = StringField(_l("Email"), filters=[normalise], render_kw={"maxlength": EMAIL_MAX})
    notify = BooleanField(_l("Email me replies"))
    # When the form was shown, signed (board/screening.py): a form sent faster than a person
    # types counts towards the spam score.
    started = HiddenField()

    def validate_email(self, field):
        if field.data and (len(field.data) > EMAIL_MAX or not EMAIL.fullmatch(field.data)):
            raise FieldError(translate(EMAIL_MESSAGE))
        if self.notify.data and not field.data:
            raise FieldError(_("Give your email address to hear of replies."))

    @property
    def parent_id(self):
        """The comment answered, once validated (None for a new thread or an unusable value)."""
        try:
            return parent_id(self.parent.data)
        except ValueError:
            return None

    def validate_parent(self, field):
        try:
            answered = parent_id(field.data)
        except ValueError as error:
            raise FieldError(translate(error.args[0])) from None
        # Checked again when the reply is stored (models.add); here, so that a reply to a
        # removed comment is refused before it uses up the duplicate guard. Kept on the form:
        # the session holds loaded rows weakly, and models.add finds this one there unread.
        self.answered = answered and reads.visible(answered)
        if answered is not None and self.answered is None:
            raise FieldError(translate(PARENT_GONE))


class ReplyForm(CommentForm):
    """The comment form under a comment: the same fields, the same POST /comments."""

    content = content_field(_l("Your reply"), _l("Your answer…"))


class EditForm(RulesForm):
    content = content_field(_l("Edit your comment"), "")


class ConfirmForm(FlaskForm):
    """A button and its CSRF token: delete, hide, unhide, log out."""


class LoginForm(FlaskForm):
    password = PasswordField(_l("Moderator password"),
                             validators=[DataRequired(_l("Enter the password."))])


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
            self.errors.append(_l("Use either before or after, not both."))

    def _int(self, args, name, low, high):
        raw = args.get(name)
        if raw is None:
            return None
        if not self.CURSOR.fullmatch(raw) or not low <= int(raw) <= high:
            self.errors.append(_l("%(name)s must be a whole number from %(low)d to %(high)d.",
                                   name=name, low=low, high=high))
            return None
        return int(raw)


def listing_args(args, pages_only=None):
    """The listing's arguments, or 400 with every problem. `pages_only` names a page that takes
    `before`, not `after` (a lazy string: "The board page").

    The problems stay lazy until the error is written: in the reader's language on a page, in
    English in the API's JSON (errors.render_error)."""
    parsed = ListingArgs(args, current_app.config["BOARD_PAGE_SIZE"])
    if parsed.after is not None and pages_only:  # (a lazy string's truth translates it)
        parsed.errors.append(_l("%(page)s takes before, not after.", page=pages_only))
    if parsed.errors:
        abort(400, LazyString(lambda: " ".join(map(str, parsed.errors))))
    return parsed
