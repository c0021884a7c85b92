"""The configuration doctor: every rule a setting must meet, in one list.

create_app refuses to start on a problem from the rules marked `at_start` (one line, the first
found); `flask board check-config` and `python -m board.cli check-config` print the effective
configuration with secrets masked and every problem, and exit 1 when there is one.
"""

import importlib.util
import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from flask.helpers import get_debug_flag
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from . import config as settings
from .config import ConfigError, check_driver_installed
from .rules import LANGUAGE_MESSAGE, LANGUAGES, MODERATION_MODES, slug_problem

# Keys that ship in this repository, so they are no secret from anyone.
PUBLIC_KEYS = {settings.DEV_SECRET_KEY, settings.TestingConfig.SECRET_KEY}
STRICT_ENVIRONMENTS = ("staging", "production")
MIN_SECRET_LENGTH = 32  # a placeholder copied from the docs is shorter than this
# Shown besides the Config classes' own settings: what Flask and create_app derive from them.
DERIVED = ("DEBUG", "TESTING", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN")
# user:password@ in a URL; the password runs to the first "@", as SQLAlchemy parses it.
URL_CREDENTIALS = re.compile(r"(?<=://)([^:/@]*):([^@]*)@")
HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]")
URL_SECRET_QUERY = re.compile(r"(?i)\b(password|passwd|pwd|secret|token)=([^&#]*)")


def environment(config):
    return config.get("BOARD_ENVIRONMENT", "development")


def hosts(config):
    return config.get("BOARD_WORKER_HOSTS", 1)


# The rules: each takes the config and returns what is wrong, or None. -----------------------------

def time_zone(config):
    try:
        ZoneInfo(config.get("BOARD_TIMEZONE", "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return (f"BOARD_TIMEZONE {config['BOARD_TIMEZONE']!r} is not an IANA time zone "
                "(for example Europe/London)")
    return None


def language(config):
    chosen = config.get("BOARD_LANGUAGE")
    if chosen and chosen not in LANGUAGES:
        return f"BOARD_LANGUAGE {chosen!r} is not shipped: {LANGUAGE_MESSAGE}"
    return None


def poll_interval(config):
    if config.get("BOARD_POLL_SECONDS", 5) < 1:
        return "BOARD_POLL_SECONDS must be at least 1"
    return None


def secret_key(config):
    key = config.get("SECRET_KEY") or ""
    if environment(config) not in STRICT_ENVIRONMENTS:
        return None
    if key and key not in PUBLIC_KEYS and len(key) >= MIN_SECRET_LENGTH:
        return None
    # Unset, the development key from the source code stands in for it.
    what = ("not set" if key in ("", settings.DEV_SECRET_KEY)
            else "a key from the source code" if key in PUBLIC_KEYS
            else f"only {len(key)} characters long")
    return (f"SECRET_KEY is {what} under {environment(config)}: sessions and CSRF tokens can be "
            f"forged. Put at least {MIN_SECRET_LENGTH} random characters in .env: "
            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')")


def debug(config):
    if environment(config) in STRICT_ENVIRONMENTS and config.get("DEBUG"):
        return (f"DEBUG is on under {environment(config)}: errors bypass the board's error pages, "
                "and under `flask run` the interactive debugger runs any code it is sent. Remove "
                "FLASK_DEBUG (and --debug) from the environment, .env and .flaskenv")
    return None


def worker_hosts(config):
    return "BOARD_WORKER_HOSTS must be at least 1" if hosts(config) < 1 else None


def database_url(config):
    url = config.get("SQLALCHEMY_DATABASE_URI") or config.get("DATABASE_URL")
    if not url:
        return None
    try:
        check_driver_installed(url)
        backend = make_url(url).get_backend_name()
    except ConfigError as error:
        return reason(error)
    except ArgumentError:
        return f"DATABASE_URL is not a database URL: {mask_url(url)!r}"
    if backend == "sqlite" and hosts(config) > 1:
        return (f"DATABASE_URL is an SQLite file but BOARD_WORKER_HOSTS={hosts(config)}: hosts "
                "cannot share a file database. Use PostgreSQL or MySQL/MariaDB, or declare 1 host")
    return None


def shared_counts(config):
    storage = config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if not config.get("RATELIMIT_ENABLED", True):
        return None
    if storage.startswith("memory://") and hosts(config) > 1:
        return (f"BOARD_RATELIMIT_STORAGE_URI is memory:// but BOARD_WORKER_HOSTS={hosts(config)}: "
                "each host would count posts on its own. Use a shared store, e.g. "
                "redis://host:6379")
    return missing_storage_package(storage)


def missing_storage_package(uri):
    """The rate-limit storage's client library, when it is not installed (redis:// needs redis)."""
    from limits.storage import SCHEMES

    scheme = urlsplit(uri).scheme
    if scheme not in SCHEMES:
        return f"BOARD_RATELIMIT_STORAGE_URI has an unknown scheme {scheme!r}"
    dependencies = list(SCHEMES[scheme].DEPENDENCIES or [])
    if dependencies and not any(
        importlib.util.find_spec(module.split(".")[0]) for module in dependencies
    ):
        return (f"BOARD_RATELIMIT_STORAGE_URI {scheme}:// needs a client library that is not "
                f"installed: pip install {dependencies[0].split('.')[0]}")
    return None


def board_hosts(config):
    for name in config.get("BOARD_HOSTS") or ():
        if not HOST_NAME.fullmatch(name):
            return (f"BOARD_HOSTS lists host names separated by commas (board.example.org), not "
                    f"{name!r}")
    return None


def default_board(config):
    slug = config.get("BOARD_DEFAULT_SLUG", "main")
    if problem := slug_problem(slug):
        return f"BOARD_DEFAULT_SLUG {slug!r}: {problem}"
    return None


ORIGIN = re.compile(r"https?://" + HOST_NAME.pattern + r"(:[0-9]{1,5})?")


def embed_origins(config):
    for origin in config.get("BOARD_EMBED_ORIGINS") or ():
        if not ORIGIN.fullmatch(origin):
            return (f"BOARD_EMBED_ORIGINS lists origins separated by commas "
                    f"(https://blog.example.org), not {origin!r}")
    if config.get("BOARD_EMBED_NEW_LIMIT", 30) < 0:
        return "BOARD_EMBED_NEW_LIMIT must be 0 or more"
    return None


def moderation(config):
    if config.get("BOARD_MODERATION", "off") not in MODERATION_MODES:
        return f"BOARD_MODERATION must be one of {', '.join(MODERATION_MODES)}"
    return None


def notifications(config):
    if config.get("BOARD_SMTP_URL") and not config.get("BOARD_MAIL_FROM"):
        return "BOARD_SMTP_URL is set without BOARD_MAIL_FROM: emails need a sender address"
    if config.get("BOARD_WEBHOOK_URLS") and not config.get("BOARD_WEBHOOK_SECRET"):
        return ("BOARD_WEBHOOK_URLS is set without BOARD_WEBHOOK_SECRET: receivers could not "
                "tell the board's events from anyone's")
    return None


def host_cookie(config):
    if not config.get("BOARD_HOST_COOKIE"):
        return None
    if not config.get("SESSION_COOKIE_SECURE"):
        return (f"BOARD_HOST_COOKIE is on under {environment(config)}, without HTTPS: browsers "
                "drop a __Host- cookie that is not Secure, so nobody could post. Use it under "
                "staging or production only")
    if config.get("SESSION_COOKIE_DOMAIN") or (config.get("SESSION_COOKIE_PATH") or "/") != "/" \
            or (config.get("APPLICATION_ROOT") or "/") != "/":
        return ("BOARD_HOST_COOKIE needs the board at / of its own host, with no cookie domain: "
                "browsers drop a __Host- cookie with a Domain or another Path")
    return None


def hosts_unset(config):
    if environment(config) in STRICT_ENVIRONMENTS and not config.get("BOARD_HOSTS"):
        return (f"BOARD_HOSTS is not set under {environment(config)}: the board answers any Host "
                "header, and builds absolute URLs (the API's, the feed's) and the feed's ids from "
                "it. Set BOARD_HOSTS=board.example.org (your host name) in .env")
    return None


# (rule, whether the app refuses to start on it). The database URL is checked at start by
# create_app itself (it must be parsed before anything else); the two "several hosts" rules
# depend on a declaration only a person can verify, so they are reported, not enforced.
RULES = (
    (time_zone, True),
    (language, True),
    (poll_interval, True),
    (secret_key, True),
    (debug, True),
    (worker_hosts, True),
    (board_hosts, True),
    (host_cookie, True),
    (default_board, True),
    (embed_origins, True),
    (moderation, True),
    (notifications, True),
    (database_url, False),
    (shared_counts, False),
)


# Reported by check-config without failing it: unsafe where the internet can reach the board,
# but an existing deploy must keep working until someone sets them.
WARNINGS = (hosts_unset,)


def warnings(config):
    return [message for rule in WARNINGS if (message := rule(config))]


def problems(config):
    """One message per dangerous setting in `config` (an app's config, or what it would be)."""
    return [message for rule, _ in RULES if (message := rule(config))]


def check(config):
    """At start: refuse, in one line, the first setting that cannot work."""
    for rule, at_start in RULES:
        if at_start and (message := rule(config)):
            raise ConfigError(message)


# Reporting --------------------------------------------------------------------------------------

def reason(error):
    """The message of a ConfigError, without its 'board: configuration error:' prefix."""
    return str(error.code).removeprefix(ConfigError.PREFIX)


def mask_url(url):
    url = URL_CREDENTIALS.sub(lambda match: f"{match.group(1)}:***@", url)
    return URL_SECRET_QUERY.sub(lambda match: f"{match.group(1)}=***", url)


def shown(name, value):
    """The value as check-config prints it: secrets replaced, credentials cut out of URLs."""
    if SECRET_NAME.search(name) and value:
        if value in PUBLIC_KEYS:
            return "<the development key from the source code>"
        return f"<hidden: {len(str(value))} characters>"
    if isinstance(value, str) and "://" in value:
        return repr(mask_url(value))
    return repr(value)


def setting_names():
    names = set(DERIVED)
    for config_class in settings.CONFIGS.values():
        names.update(name for name in dir(config_class) if name.isupper())
    return sorted(names)


def config_without_app(config_name=None):
    """What create_app would configure, without building the app, and any refusal on the way."""
    try:
        config_class = settings.config_class(config_name)
    except ConfigError as error:
        return {}, [reason(error)]
    config = {name: getattr(config_class, name) for name in dir(config_class) if name.isupper()}
    # FLASK_DEBUG turns debug on under `flask run` whatever the class says.
    config["DEBUG"] = bool(config.get("DEBUG") or get_debug_flag())
    try:
        config["SQLALCHEMY_DATABASE_URI"] = settings.database_uri(config["DATABASE_URL"])
    except ConfigError:
        pass  # not a URL: database_url() says so, with any password masked
    return config, []


def report(config, found=()):
    """Print the configuration and its problems; exit 1 when there is one."""
    click.echo(f"environment: {environment(config)}")
    click.echo("effective configuration (secrets masked):")
    for name in setting_names():
        if name in config:
            click.echo(f"  {name} = {shown(name, config[name])}")
    for warning in warnings(config):
        click.echo(f"warning: {warning}")
    found = list(dict.fromkeys([*found, *problems(config)]))
    if found:
        for problem in found:
            click.echo(f"problem: {problem}", err=True)
        click.echo(f"check-config: {len(found)} problem(s)", err=True)
        raise click.exceptions.Exit(1)
    click.echo("check-config: no problems found")
