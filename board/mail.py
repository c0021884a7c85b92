"""The two transports of the outbox: email over SMTP (BOARD_SMTP_URL) and webhooks over HTTP
(BOARD_WEBHOOK_URLS). Used only by `flask board send-notifications`, never by a request.

    smtp://user:password@host:587   plain connection, upgraded with STARTTLS when the server
                                    offers it (a password is never sent without it, except to
                                    a server on this machine)
    smtps://user:password@host:465  TLS from the first byte

Each raises on failure; the outbox retries later.
"""

import hashlib
import hmac
import smtplib
import ssl
import urllib.error
import urllib.request
from urllib.parse import unquote, urlsplit

TIMEOUT = 10  # seconds, for connecting and for each reply of a server
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class Undeliverable(Exception):
    """A delivery that failed; the outbox keeps the message for another attempt."""


def smtp_settings(url):
    """(tls, host, port, user, password) from BOARD_SMTP_URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise Undeliverable("BOARD_SMTP_URL must look like smtp://user:password@host:587 or "
                            "smtps://user:password@host:465")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
    except ValueError:
        raise Undeliverable("BOARD_SMTP_URL has a port that is not a number") from None
    return (parts.scheme == "smtps", parts.hostname, port,
            unquote(parts.username or ""), unquote(parts.password or ""))


def connect(url):
    """A logged-in SMTP connection."""
    tls, host, port, user, password = smtp_settings(url)
    context = ssl.create_default_context()
    try:
        if tls:
            server = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context)
        else:
            server = smtplib.SMTP(host, port, timeout=TIMEOUT)
        try:
            server.ehlo()
            encrypted = tls
            if not tls and server.has_extn("starttls"):
                server.starttls(context=context)
                server.ehlo()
                encrypted = True
            if user:
                if not encrypted and host not in LOOPBACK:
                    raise Undeliverable(f"{host} offers no STARTTLS: the SMTP password is not "
                                        "sent unencrypted (use smtps:// if it takes TLS)")
                server.login(user, password)
        except BaseException:
            server.close()
            raise
    except (OSError, smtplib.SMTPException) as error:
        raise Undeliverable(f"SMTP server {host}:{port}: {describe(error)}") from None
    return server


def send_mail(server, message):
    """Send an email.message.EmailMessage over an open connection."""
    try:
        refused = server.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise Undeliverable(f"SMTP: {describe(error)}") from None
    if refused:
        raise Undeliverable(f"SMTP refused {', '.join(refused)}")


def describe(error):
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) \
            else str(error.smtp_error)
        return f"{error.smtp_code} {text}"
    return str(error) or type(error).__name__


def signature(secret, body):
    """The X-Board-Signature header's value: sha256=<hex HMAC-SHA256 of the body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET without its body: count it as a failure."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(NoRedirects)


def post_json(url, body, event_id, secret):
    """POST the JSON `body` (bytes) to `url`; anything but a 2xx answer raises Undeliverable."""
    if not secret:
        raise Undeliverable("BOARD_WEBHOOK_SECRET is not set: webhooks are not sent unsigned")
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "board-webhooks/1",
        "X-Board-Event-Id": str(event_id), "X-Board-Signature": signature(secret, body)})
    where = urlsplit(url).netloc.rpartition("@")[2]  # no credentials in the outbox's errors
    try:
        with OPENER.open(request, timeout=TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:
        raise Undeliverable(f"webhook {where}: {describe(getattr(error, 'reason', error))}") from None
    if not 200 <= status < 300:
        raise Undeliverable(f"webhook {where}: answered {status}")
