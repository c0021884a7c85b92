"""Real receivers on loopback for the board's notifications: an SMTP server (aiosmtpd) that keeps
each message it is sent, parsed, and an HTTP server that keeps each webhook request and answers
with the status a test sets. Both can be stopped and started again on the same port."""

import email
import email.policy
import http.server
import threading

from aiosmtpd.controller import Controller

from .ports import free_port


class SmtpReceiver:
    """An SMTP server on 127.0.0.1 (no TLS, no login: smtp:// without STARTTLS)."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.messages = []  # email.message.EmailMessage, in arrival order
        self.envelopes = []  # (MAIL FROM, [RCPT TO, ...])
        self.controller = None

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content,
                                                      policy=email.policy.default))
        return "250 Message accepted for delivery"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address):
        return [message for message in self.messages if message["To"] == address]


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST: (headers, raw body)."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.requests = []
        self.status = 200
        self.server = None
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
