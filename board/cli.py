"""`flask board ...` commands: one group, so that later commands (seed, hide, export, import) join it.

`flask board check-config` prints the effective configuration with secrets masked and exits 1 with one
line per dangerous setting. It reads the loaded app's config, so it sees exactly what the app runs with.

When the app refuses to start at all (production without SECRET_KEY, a database driver that is not
installed), every `flask` command stops with that one refusal before any command runs; then
`python -m board.cli check-config` runs the same checks on the config class and the environment
without building the app, and lists every problem at once.
"""

import importlib.util
import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import AppGroup
from flask.helpers import get_debug_flag
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from . import config as settings
from .config import ConfigError, check_driver_installed, normalise_database_url

board_cli = AppGroup("board", help="Look after the board.")

# Shown besides the Config classes' own settings: what Flask and create_app derive from them.
DERIVED = ("DEBUG", "TESTING", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS")
# Keys that ship in this repository, so they are no secret from anyone.
PUBLIC_KEYS = {settings.DEV_SECRET_KEY, settings.TestingConfig.SECRET_KEY}
STRICT_ENVIRONMENTS = ("staging", "production")
MIN_SECRET_LENGTH = 32  # a placeholder copied from the docs is shorter than this
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN")
# user:password@ in a URL; the password runs to the first "@", as SQLAlchemy parses it.
URL_CREDENTIALS = re.compile(r"(?<=://)([^:/@]*):([^@]*)@")
URL_SECRET_QUERY = re.compile(r"(?i)\b(password|passwd|pwd|secret|token)=([^&#]*)")
ERROR_PREFIX = "board: configuration error: "


def setting_names():
    names = set(DERIVED)
    for config_class in settings.CONFIGS.values():
        names.update(name for name in dir(config_class) if name.isupper())
    return sorted(names)


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


def reason(error):
    """The message of a ConfigError, without its 'board: configuration error:' prefix."""
    return str(error.code).removeprefix(ERROR_PREFIX)


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


def problems(config):
    """One message per dangerous setting in `config` (an app's config, or what it would be)."""
    environment = config.get("BOARD_ENVIRONMENT", "development")
    strict = environment in STRICT_ENVIRONMENTS
    hosts = config.get("BOARD_WORKER_HOSTS", 1)
    found = []
    key = config.get("SECRET_KEY") or ""
    if strict and (key in PUBLIC_KEYS or len(key) < MIN_SECRET_LENGTH):
        what = ("the development key" if key in PUBLIC_KEYS
                else f"only {len(key)} characters long" if key else "empty")
        found.append(
            f"SECRET_KEY is {what} under {environment}: sessions and CSRF tokens can be forged. "
            f"Put at least {MIN_SECRET_LENGTH} random characters in .env: "
            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    if strict and config.get("DEBUG"):
        found.append(
            f"DEBUG is on under {environment}: errors bypass the board's error pages, and under "
            "`flask run` the interactive debugger runs any code it is sent. Remove FLASK_DEBUG "
            "(and --debug) from the environment, .env and .flaskenv"
        )
    if hosts < 1:
        found.append("BOARD_WORKER_HOSTS must be at least 1")

    url = config.get("SQLALCHEMY_DATABASE_URI") or config.get("DATABASE_URL")
    if url:
        try:
            check_driver_installed(url)
            backend = make_url(url).get_backend_name()
        except ConfigError as error:
            found.append(reason(error))
            backend = None
        except ArgumentError:
            found.append(f"DATABASE_URL is not a database URL: {mask_url(url)!r}")
            backend = None
        if backend == "sqlite" and hosts > 1:
            found.append(
                f"DATABASE_URL is an SQLite file but BOARD_WORKER_HOSTS={hosts}: hosts cannot "
                "share a file database. Use PostgreSQL or MySQL/MariaDB, or declare 1 host"
            )

    if config.get("RATELIMIT_ENABLED", True):
        storage = config.get("RATELIMIT_STORAGE_URI") or "memory://"
        if storage.startswith("memory://") and hosts > 1:
            found.append(
                f"BOARD_RATELIMIT_STORAGE_URI is memory:// but BOARD_WORKER_HOSTS={hosts}: each "
                "host would count posts on its own. Use a shared store, e.g. redis://host:6379"
            )
        missing = missing_storage_package(storage)
        if missing:
            found.append(missing)
    return found


def config_without_app(config_name=None):
    """What create_app would configure, and what it would refuse, without building the app."""
    from . import ROOT

    try:
        config_class = settings.config_class(config_name)
    except ConfigError as error:
        return {}, [reason(error)]
    config = {name: getattr(config_class, name) for name in dir(config_class) if name.isupper()}
    # FLASK_DEBUG turns debug on under `flask run` whatever the class says.
    config["DEBUG"] = config.get("DEBUG") or get_debug_flag()
    found = []
    url = config.get("DATABASE_URL") or f"sqlite:///{ROOT / 'instance' / 'board.sqlite'}"
    try:
        config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    except ConfigError:
        pass  # not a URL: problems() says so, with any password masked
    # The class's own rules (time zone, poll interval, ...). The secret key and debug are checked
    # by problems() with clearer messages, so they are taken out of this run to avoid saying so twice.
    try:
        config_class.check(SimpleNamespace(config={**config, "SECRET_KEY": "checked-below",
                                                   "DEBUG": False}))
    except ConfigError as error:
        found.append(reason(error))
    return config, found


def report(config, found=()):
    click.echo(f"environment: {config.get('BOARD_ENVIRONMENT', 'development')}")
    click.echo("effective configuration (secrets masked):")
    for name in setting_names():
        if name in config:
            click.echo(f"  {name} = {shown(name, config[name])}")
    found = list(dict.fromkeys([*found, *problems(config)]))
    if found:
        for problem in found:
            click.echo(f"problem: {problem}", err=True)
        click.echo(f"check-config: {len(found)} problem(s)", err=True)
        raise click.exceptions.Exit(1)
    click.echo("check-config: no problems found")


@board_cli.command("check-config")
def check_config():
    """Print the effective configuration, secrets masked; exit 1 on a dangerous setting."""
    config = dict(current_app.config)
    # The flask command sets DEBUG from FLASK_DEBUG alone; a server also takes the class's DEBUG.
    config_class = settings.CONFIGS.get(config.get("BOARD_ENVIRONMENT"))
    config["DEBUG"] = bool(config.get("DEBUG") or getattr(config_class, "DEBUG", False))
    report(config)


@click.group("board")
def standalone():
    """The board's checks without building the app: python -m board.cli check-config."""


@standalone.command("check-config")
def check_config_without_app():
    """Print the configuration the environment gives, secrets masked; exit 1 on problems."""
    config, found = config_without_app()
    report(config, found)


if __name__ == "__main__":
    standalone(prog_name="python -m board.cli")
