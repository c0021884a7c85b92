"""`flask board check-config`: the effective settings with secrets masked, one line per danger.

The command reads the loaded app's config. Settings that stop the app from being built at all
(production without SECRET_KEY) stop every `flask` command first; `python -m board.cli check-config`
then runs the same checks without building the app and lists every problem at once.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from board import create_app
from board.doctor import mask_url, problems, shown
from board.config import DEV_SECRET_KEY, ConfigError

ROOT = Path(__file__).resolve().parent.parent
SECRET = "4f1c9a-a-long-random-secret-for-the-tests-d02e7b"
LEAKY = ("DATABASE_URL", "SECRET_KEY", "FLASK_", "BOARD_", "PYTHONPATH")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'board.sqlite'}"


def check_config(config_name, **overrides):
    app = create_app(config_name, overrides)
    return app.test_cli_runner().invoke(args=["board", "check-config"])


def reported_problems(result):
    return [line.removeprefix("problem: ") for line in result.stderr.splitlines()
            if line.startswith("problem: ")]


def run(command, **settings):
    """A command in a fresh process, from the project folder, with only the given settings.

    Empty values shield the test from a developer's .env (which never overrides a set variable).
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(LEAKY)}
    env |= {"SECRET_KEY": "", "FLASK_DEBUG": "", "BOARD_WORKER_HOSTS": "",
            "BOARD_RATELIMIT_STORAGE_URI": ""} | settings
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_safe_production_config_passes_with_its_secrets_masked():
    result = check_config(
        "production", SECRET_KEY=SECRET,
        DATABASE_URL="postgresql://board:hunter2-db-pass@db.example.org:5432/board",
    )
    assert result.exit_code == 0, result.output
    assert "environment: production" in result.stdout
    assert f"SECRET_KEY = <hidden: {len(SECRET)} characters>" in result.stdout
    assert "DATABASE_URL = 'postgresql://board:***@db.example.org:5432/board'" in result.stdout
    assert "SQLALCHEMY_DATABASE_URI = 'postgresql+psycopg2://board:***@db.example.org" in result.stdout
    assert SECRET not in result.output and "hunter2-db-pass" not in result.output
    for setting in ("BOARD_POST_LIMIT", "BOARD_TRUSTED_PROXIES", "BOARD_WORKER_HOSTS",
                    "RATELIMIT_STORAGE_URI", "SESSION_COOKIE_SECURE", "DEBUG"):
        assert f"  {setting} = " in result.stdout
    assert "no problems found" in result.stdout
    assert result.stderr == ""


def test_a_short_secret_key_is_refused_under_production_at_start_and_by_the_check(sqlite_url):
    # One rule for both: the app used to start with a key that check-config refused.
    with pytest.raises(ConfigError, match="SECRET_KEY is only 3 characters long under production"):
        create_app("production", {"DATABASE_URL": sqlite_url, "SECRET_KEY": "..."})
    result = run(["board.cli", "check-config"], FLASK_CONFIG="production", SECRET_KEY="...",
                 DATABASE_URL=sqlite_url)
    assert result.returncode == 1
    (problem,) = reported_problems(result)
    assert problem.startswith("SECRET_KEY is only 3 characters long under production")


def test_development_may_use_the_development_key_and_debug(sqlite_url):
    result = check_config("development", DATABASE_URL=sqlite_url)
    assert result.exit_code == 0, result.output
    assert "  DEBUG = True" in result.stdout
    assert "SECRET_KEY = <the development key from the source code>" in result.stdout


@pytest.mark.parametrize("config_name", ["staging", "production"])
def test_debug_is_refused_under_staging_and_production(config_name, sqlite_url, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")  # how debug gets switched on: flask --debug sets it too
    result = check_config(config_name, DATABASE_URL=sqlite_url, SECRET_KEY=SECRET)
    assert result.exit_code == 1
    (problem,) = reported_problems(result)
    assert problem.startswith(f"DEBUG is on under {config_name}")


def test_several_hosts_cannot_share_sqlite_or_memory_counts(sqlite_url):
    result = check_config("production", DATABASE_URL=sqlite_url, SECRET_KEY=SECRET,
                          BOARD_WORKER_HOSTS=2)
    assert result.exit_code == 1
    found = reported_problems(result)
    assert len(found) == 2, found
    assert found[0].startswith("DATABASE_URL is an SQLite file but BOARD_WORKER_HOSTS=2")
    assert found[1].startswith("BOARD_RATELIMIT_STORAGE_URI is memory:// but BOARD_WORKER_HOSTS=2")
    assert "check-config: 2 problem(s)" in result.stderr


def test_several_hosts_with_a_server_database_and_shared_counts_pass():
    config = {"BOARD_ENVIRONMENT": "production", "SECRET_KEY": SECRET, "BOARD_WORKER_HOSTS": 3,
              "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg2://board:pw@db/board",
              "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": False}
    assert problems(config) == []


def test_the_flask_command_is_registered_and_exits_zero_on_a_safe_config(sqlite_url):
    result = run(["flask", "board", "check-config"], FLASK_CONFIG="production",
                 SECRET_KEY=SECRET, DATABASE_URL=sqlite_url)
    assert result.returncode == 0, result.stderr
    assert "environment: production" in result.stdout
    assert SECRET not in result.stdout


def test_an_app_that_refuses_to_start_stops_the_flask_command_with_its_reason(sqlite_url):
    result = run(["flask", "board", "check-config"], FLASK_CONFIG="production",
                 DATABASE_URL=sqlite_url)
    assert result.returncode == 1
    assert "SECRET_KEY is not set" in result.stderr


def test_without_the_app_every_problem_is_listed_at_once(sqlite_url):
    result = run(["board.cli", "check-config"], FLASK_CONFIG="production", FLASK_DEBUG="1",
                 DATABASE_URL=sqlite_url, BOARD_WORKER_HOSTS="3")
    assert result.returncode == 1
    found = reported_problems(result)
    assert [problem.split(" ", 1)[0] for problem in found] == [
        "SECRET_KEY", "DEBUG", "DATABASE_URL", "BOARD_RATELIMIT_STORAGE_URI"], found
    assert found[0].startswith("SECRET_KEY is not set under production")
    assert "SECRET_KEY = <the development key from the source code>" in result.stdout


def test_a_database_driver_that_is_not_installed_is_named_with_its_package():
    result = run(["board.cli", "check-config"], FLASK_CONFIG="production", SECRET_KEY=SECRET,
                 DATABASE_URL="mysql+mysqldb://board:s3cr3t-db@db.example.org/board")
    assert result.returncode == 1
    (problem,) = reported_problems(result)
    assert problem == ("DATABASE_URL needs the 'mysqldb' driver, which is not installed: "
                       "pip install mysqlclient")
    assert "s3cr3t-db" not in result.stdout + result.stderr


def test_rate_limit_storage_credentials_are_masked_and_its_client_library_checked():
    result = run(["board.cli", "check-config"], FLASK_CONFIG="production", SECRET_KEY=SECRET,
                 DATABASE_URL="postgresql://board@db/board", BOARD_WORKER_HOSTS="2",
                 BOARD_RATELIMIT_STORAGE_URI="redis://:r3dis-pass@cache.example.org:6379/0")
    assert "RATELIMIT_STORAGE_URI = 'redis://:***@cache.example.org:6379/0'" in result.stdout
    assert "r3dis-pass" not in result.stdout + result.stderr
    try:
        import redis  # noqa: F401
    except ImportError:
        assert result.returncode == 1
        assert reported_problems(result) == [
            "BOARD_RATELIMIT_STORAGE_URI redis:// needs a client library that is not installed: "
            "pip install redis"]
    else:
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("url, problem", [
    ("nonsense://board:pw@db/board",
     "DATABASE_URL names an unknown database 'nonsense'; use sqlite, mysql+mysqlconnector or "
     "postgresql+psycopg2"),
    ("not a url, with pw", "DATABASE_URL is not a database URL: 'not a url, with pw'"),
])
def test_a_database_url_that_cannot_work_is_a_problem(url, problem):
    result = run(["board.cli", "check-config"], FLASK_CONFIG="production", SECRET_KEY=SECRET,
                 DATABASE_URL=url)
    assert result.returncode == 1
    assert reported_problems(result) == [problem]


def test_an_unknown_environment_is_a_problem_too():
    result = run(["board.cli", "check-config"], FLASK_CONFIG="prod")
    assert result.returncode == 1
    assert "FLASK_CONFIG='prod' is unknown" in result.stderr


@pytest.mark.parametrize("url, masked", [
    ("mysql+mysqlconnector://u:pa:ss@h/db", "mysql+mysqlconnector://u:***@h/db"),
    ("postgresql://board@db/board", "postgresql://board@db/board"),
    ("redis://:pw@localhost:6379", "redis://:***@localhost:6379"),
    ("memcached://host1:11211,host2:11211", "memcached://host1:11211,host2:11211"),
    ("mongodb://h/db?password=pw&x=1", "mongodb://h/db?password=***&x=1"),
])
def test_credentials_are_cut_out_of_urls(url, masked):
    assert mask_url(url) == masked


def test_secret_values_are_never_shown():
    assert shown("SECRET_KEY", "abc") == "<hidden: 3 characters>"
    assert shown("SECRET_KEY", DEV_SECRET_KEY) == "<the development key from the source code>"
    assert shown("BOARD_SMTP_PASSWORD", "x") == "<hidden: 1 characters>"
    assert shown("BOARD_POLL_SECONDS", 5) == "5"
