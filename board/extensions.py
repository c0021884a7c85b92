"""Extension objects, created unbound; create_app binds them to an app."""

import ipaddress

from flask import request
import flask_limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
import limits.storage
from sqlalchemy import MetaData

from .memory_counts import MemoryCounts

# Named constraints, so that migrations can drop them on every database (SQLite included).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# expire_on_commit=False: a comment just stored is rendered from what we sent, not re-read.
db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION),
                session_options={"expire_on_commit": False})
migrate = Migrate()
csrf = CSRFProtect()


def client_key():
    """Who counts as one client for every per-client limit (the limiter's key):
    an IPv4 address, or an IPv6 client's /64 network, since one subscriber or server holds a whole
    /64 and could otherwise step to a fresh address for every request. An IPv4-mapped address
    (::ffff:192.0.2.1) counts as its IPv4 address. The address is the one ProxyFix leaves: a
    forwarded one only from BOARD_TRUSTED_PROXIES."""
    address = request.remote_addr or "127.0.0.1"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip.packed, 64), strict=False))  # packed: no %scope


class Limiter(flask_limiter.Limiter):
    """Flask-Limiter, but
    - a request its request filters exempt (views.unlimited: the listing, and every GET while
      the store answers) costs it nothing: Flask-Limiter 4.1 still evaluates an empty list of limits, and meta limits (the
      board has none), for such a request, an eighth of an idle poll's time;
    - counts kept in memory (memory://, and the fallback while Redis is away) go to
      memory_counts.MemoryCounts, which starts no thread per request."""

    def init_app(self, app):
        super().init_app(app)
        if isinstance(self._storage, limits.storage.MemoryStorage):
            self._storage = MemoryCounts()
            self._limiter = type(self._limiter)(self._storage)
        if self._fallback_limiter is not None:
            self._fallback_storage = MemoryCounts()
            self._fallback_limiter = type(self._fallback_limiter)(self._fallback_storage)

    def _check_request_limit(self, callable_name=None, in_middleware=True):
        if in_middleware and any(exempt() for exempt in self._request_filters):
            return
        super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)


limiter = Limiter(client_key)


def current_storage():
    """The store counts go to right now: the limiter's own (Redis, when shared), or, while that
    cannot be reached, this process's memory, where the limiter itself has fallen back
    (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED) until the store answers again. The duplicate guard and
    the login guard count here too, so that they follow the limiter and never fail on their own."""
    return limiter.limiter.storage
