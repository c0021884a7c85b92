"""The session cookie, read only when a request uses it. Flask checks and decodes the cookie of
every request before the view runs; the idle poll, the request an open tab sends every few
seconds, never looks at it, and checking the signature was a fifth of its time. A browser sends
the same cookie until its session changes: what a cookie holds is remembered, and only its age
is checked again."""

import copy
import time
from functools import lru_cache

from flask.sessions import SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature

# Cookies remembered per worker (a few hundred bytes each).
COOKIES_KEPT = 4096


class LazySession(SessionMixin):
    """Flask's cookie session, decoded by `load` on first use. Flask marks it `accessed` when
    anything asks for flask.session (the answer then varies on the cookie); until it is read it is
    not modified, so nothing is saved."""

    def __init__(self, load):
        self._load, self._session = load, None
        self.accessed = False

    @property
    def loaded(self):
        return self._session is not None

    @property
    def session(self):
        if self._session is None:
            self._session = self._load()
        return self._session

    def __getitem__(self, key):
        return self.session[key]

    def __setitem__(self, key, value):
        self.session[key] = value

    def __delitem__(self, key):
        del self.session[key]

    def __contains__(self, key):
        return key in self.session

    def __iter__(self):
        return iter(self.session)

    def __len__(self):
        return len(self.session)

    def get(self, key, default=None):
        return self.session.get(key, default)

    def setdefault(self, key, default=None):
        return self.session.setdefault(key, default)

    def pop(self, key, *default):
        return self.session.pop(key, *default)

    def clear(self):
        self.session.clear()

    def update(self, *args, **kwargs):
        self.session.update(*args, **kwargs)

    @property
    def permanent(self):
        return self.session.permanent

    @permanent.setter
    def permanent(self, value):
        self.session.permanent = value

    @property
    def new(self):
        return self.loaded and self._session.new

    @property
    def modified(self):
        return self.loaded and self._session.modified


class LazySessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, unchanged but for when the cookie is read. Sessions here
    are never permanent, so a session left unread has nothing to save."""

    def get_signing_serializer(self, app):
        # Flask builds a new one for every request; it depends only on the keys.
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializers = app.extensions.setdefault("board_session_serializers", {})
        if keys not in serializers:
            serializers[keys] = super().get_signing_serializer(app)
        return serializers[keys]

    def open_session(self, app, request):
        if not app.secret_key:
            return None
        return LazySession(lambda: self.read_cookie(app, request))

    def read_cookie(self, app, request):
        """Flask's open_session, with the cookie's signature checked once per worker."""
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            data, signed, immutable = decoded(self.get_signing_serializer(app), value)
        except BadSignature:
            return self.session_class()
        age = int(time.time()) - signed  # in whole seconds, as itsdangerous's max_age counts
        if not 0 <= age <= int(app.permanent_session_lifetime.total_seconds()):
            return self.session_class()  # expired (or from the future)
        # The remembered data is never handed out: a request may change its session's lists.
        return self.session_class(dict(data) if immutable else copy.deepcopy(data))

    def save_session(self, app, session, response):
        if isinstance(session, LazySession):
            if not session.loaded:
                if session.accessed:
                    response.vary.add("Cookie")
                return
            session.session.accessed |= session.accessed
            session = session.session
        super().save_session(app, session, response)


@lru_cache(maxsize=COOKIES_KEPT)
def decoded(serializer, value):
    """A session cookie's data, when it was signed, and whether all its values are immutable.
    Raises BadSignature (not remembered) for a cookie that is not ours."""
    data, signed = serializer.loads(value, return_timestamp=True)
    immutable = all(isinstance(item, (str, int, float, bool, type(None))) for item in data.values())
    return data, int(signed.timestamp()), immutable
