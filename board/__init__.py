"""The board: a comment board that feels like a single-page app and is plain Flask underneath."""

from pathlib import Path

from flask import Flask

from . import database, doctor, errors, languages, security, sessions, templating
from .config import ROOT, check_driver_installed, config_class, database_uri
from .extensions import csrf, db, migrate
from .forms import CommentIdConverter, StrictRequest


def create_app(config_name=None, overrides=None):
    """Build the app. `overrides` (a mapping) wins over the config class, for tests and tools."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.request_class = StrictRequest
    app.session_interface = sessions.LazySessionInterface()
    settings = config_class(config_name)
    app.config.from_object(settings)
    app.config.from_mapping(overrides or {})
    configure_database(app)
    configure_hosts(app)
    doctor.check(app.config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    with app.app_context():
        database.tune(db.engine, app.config["DB_POOL_PRE_PING"], app.config["DB_PING_IDLE_SECONDS"])

    security.init_app(app)
    templating.init_app(app)
    languages.init_app(app)
    errors.init_app(app)
    from . import api, embed, moderation, preferences, subscriptions, views

    # Before the blueprints: their rules are compiled when they are registered.
    app.url_map.converters["comment_id"] = CommentIdConverter
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(moderation.bp)
    app.register_blueprint(embed.bp)  # after views: it checks the CSRF of two of their posts
    app.register_blueprint(subscriptions.bp)  # confirm, unsubscribe, subscribe
    app.register_blueprint(preferences.bp)  # a reader's choices kept in cookies: the theme
    from . import models, notifications
    # What a write causes is stored in its transaction (models.WRITE_HOOKS); once per process.
    if notifications.on_write not in models.WRITE_HOOKS:
        models.WRITE_HOOKS.append(notifications.on_write)
    from . import screening  # reports to Akismet go out through the outbox, kind "akismet"
    if screening.on_write not in models.WRITE_HOOKS:
        models.WRITE_HOOKS.append(screening.on_write)
    if (senders := getattr(notifications, "SENDERS", None)) is not None:
        senders.setdefault("akismet", screening.send_report)
    from .cli import board_cli

    app.cli.add_command(board_cli)
    return app


def configure_database(app):
    if not app.config["DATABASE_URL"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    url = database_uri(app.config["DATABASE_URL"], app.instance_path)
    check_driver_installed(url)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    options = database.engine_options(
        url,
        pool_recycle=app.config["DB_POOL_RECYCLE"],
        connect_timeout=app.config["DB_CONNECT_TIMEOUT"],
        sqlite_busy_timeout=app.config["SQLITE_BUSY_TIMEOUT"],
    )
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options | app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})


def configure_hosts(app):
    """BOARD_HOSTS -> Flask's TRUSTED_HOSTS (400 for any other Host); BOARD_HOST_COOKIE -> the
    session cookie's __Host- name."""
    if app.config["BOARD_HOSTS"] and app.config.get("TRUSTED_HOSTS") is None:
        app.config["TRUSTED_HOSTS"] = list(app.config["BOARD_HOSTS"])
    if app.config["BOARD_HOST_COOKIE"]:
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"

