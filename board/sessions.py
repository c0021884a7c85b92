"""The session cookie, read only when a request uses it. Flask checks and decodes the cookie of
every request before the view runs; the idle poll, the request an open tab sends every few
seconds, never looks at it, and checking the signature was a fifth of its time."""

from flask.sessions import SecureCookieSessionInterface, SessionMixin


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
        return LazySession(lambda: super(LazySessionInterface, self).open_session(app, request))

    def save_session(self, app, session, response):
        if isinstance(session, LazySession):
            if not session.loaded:
                if session.accessed:
                    response.vary.add("Cookie")
                return
            session.session.accessed |= session.accessed
            session = session.session
        super().save_session(app, session, response)
