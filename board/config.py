"""Settings. Every environment variable the board reads is read here, and listed in the README.
The rules a setting must meet are in board/doctor.py."""

import os
from pathlib import Path

from dotenv import load_dotenv
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

# A WSGI host (PythonAnywhere) does not see a console's exports: settings live in .env beside
# the project. Variables already in the environment win.
ROOT = Path(__file__).resolve().parent.parent
load_dotenv(ROOT / ".env")

DEV_SECRET_KEY = "dev-only-insecure-key"

# Bare schemes resolve to drivers we do not ship (psycopg 3, MySQLdb): point them at ours.
SCHEME_ALIASES = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+mysqlconnector",
    "mariadb": "mariadb+mysqlconnector",
}
# Driver module -> the pip package that provides it, for the "not installed" message.
DRIVER_PACKAGES = {
    "psycopg2": "psycopg2-binary",
    "psycopg": "psycopg[binary]",
    "mysqlconnector": "mysql-connector-python",
    "mysqldb": "mysqlclient",
    "pymysql": "PyMySQL",
    "asyncpg": "asyncpg",
}


class ConfigError(SystemExit):
    """A setting that cannot work. Exits with one line that says what to change."""

    PREFIX = "board: configuration error: "

    def __init__(self, message):
        super().__init__(f"{self.PREFIX}{message}")


def env_int(name, default):
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def env_bool(name, default):
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def normalise_database_url(url):
    """Map bare and legacy schemes to the drivers in requirements.txt; force utf8mb4 on MySQL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Not echoed back: a malformed URL may still hold a password.
        raise ConfigError(
            "DATABASE_URL is not a database URL; expected e.g. "
            "postgresql+psycopg2://user:password@host/dbname"
        ) from None
    parsed = parsed.set(drivername=SCHEME_ALIASES.get(parsed.drivername, parsed.drivername))
    if parsed.get_backend_name() in ("mysql", "mariadb"):
        # MySQL's "utf8" holds 3 bytes per character; emoji need utf8mb4 on the connection.
        parsed = parsed.update_query_dict(
            {"charset": "utf8mb4", "collation": "utf8mb4_unicode_ci"}
        )
    return parsed.render_as_string(hide_password=False)


def database_uri(url, instance=ROOT / "instance"):
    """The SQLAlchemy URL the board uses: DATABASE_URL normalised, or an SQLite file in the
    instance folder when it is unset."""
    return normalise_database_url(url or f"sqlite:///{Path(instance) / 'board.sqlite'}")


def check_driver_installed(url):
    parsed = make_url(url)
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise ConfigError(
            f"DATABASE_URL names an unknown database {parsed.drivername!r}; use sqlite, "
            "mysql+mysqlconnector or postgresql+psycopg2"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError:
        driver = parsed.get_driver_name()
        package = DRIVER_PACKAGES.get(driver, driver)
        raise ConfigError(
            f"DATABASE_URL needs the {driver!r} driver, which is not installed: "
            f"pip install {package}"
        ) from None


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY") or DEV_SECRET_KEY
    # None means "an SQLite file in the instance folder", resolved by create_app.
    DATABASE_URL = os.environ.get("DATABASE_URL") or None
    # PythonAnywhere drops idle MySQL connections after 300 s and recommends 280.
    DB_POOL_RECYCLE = env_int("BOARD_DB_POOL_RECYCLE", 280)
    DB_POOL_PRE_PING = env_bool("BOARD_DB_POOL_PRE_PING", True)
    # Only a connection that sat in the pool longer than this is tested: a busy worker's was
    # used moments ago, and testing it cost a round trip per request. 0 tests every time.
    DB_PING_IDLE_SECONDS = env_int("BOARD_DB_PING_IDLE_SECONDS", 1)
    DB_CONNECT_TIMEOUT = env_int("BOARD_DB_CONNECT_TIMEOUT", 2)
    SQLITE_BUSY_TIMEOUT = env_int("BOARD_SQLITE_BUSY_TIMEOUT", 5)

    BOARD_PAGE_SIZE = 50
    # The board at /; every other board is at /b/<slug>.
    BOARD_DEFAULT_SLUG = os.environ.get("BOARD_DEFAULT_SLUG") or "main"
    # The sites whose pages may show a board in an iframe (static/embed.js), comma-separated
    # origins (https://blog.example.org); empty, no page can, and no board is made for a page.
    BOARD_EMBED_ORIGINS = [origin.strip().rstrip("/").lower()
                           for origin in os.environ.get("BOARD_EMBED_ORIGINS", "").split(",")
                           if origin.strip()]
    # New boards that embedding pages may start per hour, all sites together.
    BOARD_EMBED_NEW_LIMIT = env_int("BOARD_EMBED_NEW_LIMIT", 30)

    # Keeping spam out. off: publish; first: hold a person's comments until a moderator approves
    # one; all: hold every comment. A board can set its own (/moderate/boards).
    BOARD_MODERATION = os.environ.get("BOARD_MODERATION") or "off"
    # The local spam score (board/screening.py) at which a comment is held, and refused.
    BOARD_SPAM_HOLD_SCORE = env_int("BOARD_SPAM_HOLD_SCORE", 5)
    BOARD_SPAM_REFUSE_SCORE = env_int("BOARD_SPAM_REFUSE_SCORE", 10)
    # Akismet: unset, no remote check. Its URL is a setting for tests (a server on loopback).
    BOARD_AKISMET_KEY = os.environ.get("BOARD_AKISMET_KEY") or None
    BOARD_AKISMET_URL = os.environ.get("BOARD_AKISMET_URL") or "https://rest.akismet.com"
    BOARD_AKISMET_TIMEOUT = 2  # seconds; a timeout holds the comment

    # Keeping people informed: delivered by `flask board send-notifications` from the outbox.
    # smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465 (TLS).
    BOARD_SMTP_URL = os.environ.get("BOARD_SMTP_URL") or None
    BOARD_MAIL_FROM = os.environ.get("BOARD_MAIL_FROM") or None
    BOARD_MODERATOR_EMAILS = [email.strip() for email in
                              os.environ.get("BOARD_MODERATOR_EMAILS", "").split(",") if email.strip()]
    # Each gets a JSON event for every new, approved, edited, hidden and deleted comment, signed
    # with HMAC-SHA256 of BOARD_WEBHOOK_SECRET.
    BOARD_WEBHOOK_URLS = [url.strip() for url in os.environ.get("BOARD_WEBHOOK_URLS", "").split(",")
                          if url.strip()]
    BOARD_WEBHOOK_SECRET = os.environ.get("BOARD_WEBHOOK_SECRET") or None
    BOARD_POLL_SECONDS = env_int("BOARD_POLL_SECONDS", 5)
    # How old a worker's knowledge of which boards changed may be when it answers an idle poll
    # without the database (board/reads.py BoardVersions): at most one statement per second per
    # worker for every idle poll together. 0: each poll reads its board's row (behind nginx,
    # whose one-second cache of idle polls is then the only wait; deploy/env.example).
    BOARD_POLL_FRESH_SECONDS = env_int("BOARD_POLL_FRESH_SECONDS", 1)
    BOARD_TIMEZONE = os.environ.get("BOARD_TIMEZONE") or "UTC"
    # One of rules.LANGUAGES for every page; unset, each reader's Accept-Language chooses (a
    # board's own language, and a reader's choice in the switcher, win over both).
    BOARD_LANGUAGE = os.environ.get("BOARD_LANGUAGE") or None
    # WTForms' own messages stay unused (every message a form shows is the board's, translated
    # by its catalogs): Flask-WTF would otherwise read WTForms' catalog from disk on every request.
    WTF_I18N_ENABLED = False
    # How long after posting an author may edit or delete their comment.
    BOARD_EDIT_MINUTES = env_int("BOARD_EDIT_MINUTES", 15)
    # A werkzeug password hash (`flask board hash-password`); unset, /moderate does not exist.
    BOARD_MODERATOR_PASSWORD_HASH = os.environ.get("BOARD_MODERATOR_PASSWORD_HASH") or None
    BOARD_LOGIN_LIMIT = os.environ.get("BOARD_LOGIN_LIMIT") or "5 per minute;20 per hour"
    # Wrong moderator passwords from all clients together (board/moderators.py): beyond it no
    # password is checked at all, so guessing from many addresses costs a bounded share of CPU.
    BOARD_LOGIN_FAILURES_LIMIT = (os.environ.get("BOARD_LOGIN_FAILURES_LIMIT")
                                  or "10 per minute;100 per hour")
    # After a few wrong passwords in a row (from anyone), each further one makes every login
    # wait 1, 2, 4, ... seconds, up to this many; 0 turns the waits off. A right one resets it.
    BOARD_LOGIN_DELAY_MAX_SECONDS = env_int("BOARD_LOGIN_DELAY_MAX_SECONDS", 300)
    BOARD_MODERATOR_SESSION_HOURS = env_int("BOARD_MODERATOR_SESSION_HOURS", 12)

    # Abuse: Flask-Limiter notation; several workers or hosts share counts through Redis or
    # memcached (e.g. redis://localhost:6379), one process through memory://.
    BOARD_POST_LIMIT = os.environ.get("BOARD_POST_LIMIT") or "5 per minute;50 per day"
    # Edits and deletes by authors, together (POSTs only; the forms themselves are not limited).
    BOARD_EDIT_LIMIT = os.environ.get("BOARD_EDIT_LIMIT") or "30 per minute;300 per hour"
    RATELIMIT_STORAGE_URI = os.environ.get("BOARD_RATELIMIT_STORAGE_URI") or "memory://"
    # While that store (Redis) does not answer, count in each process's memory instead of failing
    # every post, with a warning in the log; the limiter tries the store again after 1, 2, 4 ...
    # 32 s and goes back to it once it answers (board/extensions.py current_storage).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_ENABLED = env_bool("BOARD_RATELIMIT_ENABLED", True)
    # Counted at check time, one atomic increment; a refused post gives its count back
    # (board/security.py), which this strategy's counters allow.
    RATELIMIT_STRATEGY = "fixed-window"
    RATELIMIT_HEADERS_ENABLED = True
    BOARD_DUPLICATE_SECONDS = env_int("BOARD_DUPLICATE_SECONDS", 10)
    # How many proxies in front of us set X-Forwarded-*; 0 trusts no header at all.
    BOARD_TRUSTED_PROXIES = env_int("BOARD_TRUSTED_PROXIES", 0)
    # How many machines serve this board at once (declared, for `flask board check-config`):
    # above 1, an SQLite file and memory:// rate-limit counts cannot be shared between them.
    BOARD_WORKER_HOSTS = env_int("BOARD_WORKER_HOSTS", 1)
    # The host names this board answers to, comma-separated, the canonical one first
    # (board.example.org,www.board.example.org): a request with any other Host gets 400 (Flask's
    # TRUSTED_HOSTS), so absolute URLs (the API's, the feed's, redirects) cannot be forged, and
    # the feed's ids are tag: URIs of the first. Unset, any Host is answered and those come
    # from the request: `flask board check-config` warns under staging and production.
    BOARD_HOSTS = [name.strip().lower() for name in os.environ.get("BOARD_HOSTS", "").split(",")
                   if name.strip()]
    # Name the session cookie __Host-session: browsers then keep it to exactly this host, over
    # HTTPS, at path / (no subdomain can set or shadow it). Needs SESSION_COOKIE_SECURE (production
    # and staging) and the board at the root of its own host. Changing it logs everyone out once.
    BOARD_HOST_COOKIE = env_bool("BOARD_HOST_COOKIE", False)

    MAX_CONTENT_LENGTH = 64 * 1024
    # Static URLs carry ?v=<content hash> (board/templating.py), so browsers may keep them a year.
    SEND_FILE_MAX_AGE_DEFAULT = 365 * 24 * 3600
    # A tab left open for a day must still be able to post: tokens are bound to the
    # signed session, not to a clock.
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SQLALCHEMY_TRACK_MODIFICATIONS = False


class DevelopmentConfig(Config):
    BOARD_ENVIRONMENT = "development"  # which class built the app, for check-config
    DEBUG = True


class TestingConfig(Config):
    BOARD_ENVIRONMENT = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"
    BOARD_POST_LIMIT = "1000 per minute"  # tests of the limit set their own
    BOARD_POLL_FRESH_SECONDS = 0  # a test's post shows at the next poll (tests of it set theirs)


class ProductionConfig(Config):
    BOARD_ENVIRONMENT = "production"
    DEBUG = False
    SESSION_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


class StagingConfig(ProductionConfig):
    """Production's rules on a rehearsal host."""

    BOARD_ENVIRONMENT = "staging"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "staging": StagingConfig,
    "production": ProductionConfig,
}


def config_class(name=None):
    name = name or os.environ.get("FLASK_CONFIG") or "development"
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"FLASK_CONFIG={name!r} is unknown; use one of {', '.join(CONFIGS)}"
        ) from None
