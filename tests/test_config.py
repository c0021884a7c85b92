"""Configuration: config classes, DATABASE_URL forms, engine options, refusals at start."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from board import create_app
from board.config import ConfigError, normalise_database_url
from board.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def sqlite_app(tmp_path, config_name="testing", **overrides):
    return create_app(config_name, {"DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite'}", **overrides})


@pytest.mark.parametrize(
    "name, debug, testing",
    [("development", True, False), ("testing", False, True), ("staging", False, False),
     ("production", False, False)],
)
def test_config_name_selects_the_config_class(tmp_path, name, debug, testing):
    app = sqlite_app(tmp_path, name, SECRET_KEY="a-real-secret-for-this-test-at-least-32-characters")
    assert app.debug is debug
    assert app.testing is testing


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(SystemExit) as refused:
        sqlite_app(tmp_path, "production", SECRET_KEY="")
    message = str(refused.value)
    assert "SECRET_KEY" in message and "\n" not in message


def test_production_refusal_is_one_line_on_the_command_line(tmp_path):
    env = {**os.environ, "FLASK_CONFIG": "production", "SECRET_KEY": "",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite'}"}
    result = subprocess.run([sys.executable, "-c", "import flask_app"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_cookies_are_secure_and_httponly(tmp_path):
    app = sqlite_app(tmp_path, "production", SECRET_KEY="a-real-secret-for-this-test-at-least-32-characters")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_unknown_config_name_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="FLASK_CONFIG='nope' is unknown"):
        sqlite_app(tmp_path, "nope")


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    # create_app makes the instance folder: a temporary one, not instance/ in the checkout.
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    app = create_app("testing", {"DATABASE_URL": None})
    assert app.instance_path == str(tmp_path / "instance")
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    assert url.get_backend_name() == "sqlite"
    assert Path(url.database) == Path(app.instance_path) / "board.sqlite"


@pytest.mark.parametrize(
    "given, driver",
    [
        ("postgres://u:p@db.example/board", "postgresql+psycopg2"),
        ("postgresql://u:p@db.example/board", "postgresql+psycopg2"),
        ("postgresql+psycopg2://u:p@db.example/board", "postgresql+psycopg2"),
        ("mysql://u:p@db.example/board", "mysql+mysqlconnector"),
        ("mysql+mysqlconnector://u:p@db.example/board", "mysql+mysqlconnector"),
        ("mariadb://u:p@db.example/board", "mariadb+mysqlconnector"),
        ("sqlite:////tmp/board.sqlite", "sqlite"),
    ],
)
def test_bare_and_legacy_schemes_map_to_the_shipped_drivers(given, driver):
    url = make_url(normalise_database_url(given))
    assert url.drivername == driver
    assert url.password == (None if driver == "sqlite" else "p")


def test_mysql_urls_ask_for_utf8mb4():
    url = make_url(normalise_database_url("mysql://u:p@h/d"))
    assert url.query["charset"] == "utf8mb4"
    assert url.query["collation"] == "utf8mb4_unicode_ci"


def test_passwords_with_special_characters_survive_normalisation():
    url = make_url(normalise_database_url("mysql://u:p%40ss%2Fw@h/d"))
    assert url.password == "p@ss/w"


@pytest.mark.parametrize(
    "url, package",
    [("postgresql+psycopg://u@h/d", "psycopg[binary]"), ("mysql+mysqldb://u@h/d", "mysqlclient"),
     ("mysql+pymysql://u@h/d", "PyMySQL")],
)
def test_a_driver_that_is_not_installed_fails_at_start_naming_the_package(tmp_path, url, package):
    with pytest.raises(ConfigError) as refused:
        create_app("testing", {"DATABASE_URL": url})
    assert f"pip install {package}" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_url_that_is_not_a_url_is_refused_without_echoing_it():
    with pytest.raises(ConfigError, match="not a database URL") as refused:
        create_app("testing", {"DATABASE_URL": "not a url with s3cret-password"})
    assert "s3cret" not in str(refused.value)


def test_an_unknown_database_scheme_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="unknown database 'nonsense'") as refused:
        create_app("testing", {"DATABASE_URL": "nonsense://u:p@h/d"})
    assert "\n" not in str(refused.value)


def test_production_refuses_debug(tmp_path):
    with pytest.raises(ConfigError, match="DEBUG is on under production"):
        sqlite_app(tmp_path, "production", SECRET_KEY="a-real-secret-for-this-test-at-least-32-characters", DEBUG=True)


def test_server_databases_get_recycle_through_engine_options_and_the_check_before_use():
    app = create_app("testing", {"DATABASE_URL": "mysql://u:p@127.0.0.1/d", "DB_POOL_RECYCLE": 100})
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_recycle"] == 100
    assert options["connect_args"] == {"connection_timeout": 2}
    # board.database: its own check before use (after BOARD_DB_PING_IDLE_SECONDS), and a reset
    # that rolls back only an open transaction.
    assert "pool_pre_ping" not in options and options["pool_reset_on_return"] is None
    with app.app_context():
        assert db.engine.pool._pre_ping is False
        assert db.engine.pool._reset_on_return is sa.pool.base.reset_none
    postgres = create_app("testing", {"DATABASE_URL": "postgresql://u:p@127.0.0.1/d"})
    assert "pool_reset_on_return" not in postgres.config["SQLALCHEMY_ENGINE_OPTIONS"]


def test_pool_settings_come_from_the_environment(tmp_path):
    env = {**os.environ, "BOARD_DB_POOL_RECYCLE": "120", "BOARD_DB_POOL_PRE_PING": "false",
           "BOARD_DB_PING_IDLE_SECONDS": "7", "DATABASE_URL": "postgresql://u:p@127.0.0.1/d"}
    code = ("import flask_app; c = flask_app.app.config; o = c['SQLALCHEMY_ENGINE_OPTIONS'];"
            "print(o['pool_recycle'], c['DB_POOL_PRE_PING'], c['DB_PING_IDLE_SECONDS'], o['connect_args'])")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.split("\n")[0] == "120 False 7 {'connect_timeout': 2}", result.stderr


def test_unknown_time_zone_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="BOARD_TIMEZONE"):
        sqlite_app(tmp_path, BOARD_TIMEZONE="Mars/Olympus_Mons")


def copy_of_the_project(destination):
    """The importable part of the project (flask_app.py and board/), copied to `destination`: a
    .env written beside it is the copy's, never the checkout's (nor a developer's own)."""
    destination.mkdir()
    shutil.copy2(ROOT / "flask_app.py", destination / "flask_app.py")
    shutil.copytree(ROOT / "board", destination / "board",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return destination


def test_dotenv_file_is_read_when_present(tmp_path):
    """A .env beside the project (as on PythonAnywhere) is loaded; real environment wins."""
    project = copy_of_the_project(tmp_path / "project")
    (project / ".env").write_text("BOARD_POLL_SECONDS=7\nBOARD_TIMEZONE=Europe/Paris\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOARD_")}
    env.update(BOARD_TIMEZONE="Asia/Tokyo", DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite'}",
               PYTHONPATH=str(project), PYTHONDONTWRITEBYTECODE="1")
    code = ("import board.config, flask_app as f; print(board.config.__file__); "
            "print(f.app.config['BOARD_POLL_SECONDS'], f.app.config['BOARD_TIMEZONE'])")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    where, values = result.stdout.splitlines()[-2:]
    assert Path(where).is_relative_to(project), where  # the copy was imported, not the checkout
    assert values == "7 Asia/Tokyo"


def test_flaskenv_lets_flask_commands_find_the_app():
    assert "FLASK_APP=flask_app" in (ROOT / ".flaskenv").read_text()
    result = subprocess.run([sys.executable, "-m", "flask", "routes"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "DATABASE_URL": "sqlite://"})
    assert result.returncode == 0, result.stderr
    assert "/comments" in result.stdout


@pytest.mark.parametrize("overrides, message", [
    ({"BOARD_MODERATION": "sometimes"}, "BOARD_MODERATION must be one of off, first, all"),
    ({"BOARD_SMTP_URL": "smtp://127.0.0.1:25"}, "without BOARD_MAIL_FROM"),
    ({"BOARD_WEBHOOK_URLS": ["http://127.0.0.1:9/hook"]}, "without BOARD_WEBHOOK_SECRET"),
    ({"BOARD_DEFAULT_SLUG": "Main Board"}, "BOARD_DEFAULT_SLUG"),
    ({"BOARD_EMBED_ORIGINS": ["blog.example.org"]}, "BOARD_EMBED_ORIGINS lists origins"),
])
def test_settings_that_cannot_work_are_refused_at_start(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        create_app("testing", {"DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite'}", **overrides})
