"""The Host header: BOARD_HOSTS names the hosts the board answers to (Flask's TRUSTED_HOSTS), so a
forged Host cannot reach the absolute URLs the board writes (the API's `url`, the feed's links,
Werkzeug's redirects); the feed's ids do not depend on the Host at all; the __Host- session cookie.
nginx's part (only its server_name, redirects to it) is in tests/deploy/test_nginx.py."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from board import create_app
from board.config import ROOT, ConfigError
from tests.helpers import add_comments, soup

ATOM = "{http://www.w3.org/2005/Atom}"
SECRET = "a-long-random-production-secret-of-48-characters"
HOSTS = ["board.example.org", "www.board.example.org"]
EVIL = {"Host": "evil.example"}


@pytest.fixture
def guarded(app_factory):
    return app_factory(BOARD_HOSTS=HOSTS)


def test_a_forged_host_never_reaches_the_apis_urls(guarded):
    add_comments(guarded, 1)
    client = guarded.test_client()
    forged = client.get("/api/comments", headers=EVIL)
    assert forged.status_code == 400
    assert forged.get_json() == {"error": {
        "status": 400, "message": "This board does not answer to that host name."}}
    assert "evil" not in forged.get_data(as_text=True)
    [comment] = client.get("/api/comments", headers={"Host": "board.example.org"}).get_json()["comments"]
    assert comment["url"] == f"http://board.example.org/comments/{comment['id']}"


@pytest.mark.one_database
@pytest.mark.parametrize("path", ["/", "/feed.atom", "/api//comments", "/comments/1"])
def test_a_forged_host_gets_400_with_nothing_built_from_it(guarded, path):
    # Werkzeug redirects "/api//comments" to an absolute URL built from the Host.
    response = guarded.test_client().get(path, headers=EVIL)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "This board does not answer to that host name." in response.get_data(as_text=True)
    assert "evil" not in response.get_data(as_text=True)
    assert response.headers["X-Request-ID"] != "-"


@pytest.mark.one_database
def test_every_listed_host_is_answered_and_with_a_port_too(guarded):
    client = guarded.test_client()
    for host in ("board.example.org", "www.board.example.org", "board.example.org:8443"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200, host
    redirect = client.get("/api//comments", headers={"Host": "board.example.org"})
    assert redirect.status_code == 308
    assert redirect.headers["Location"] == "http://board.example.org/api/comments"


@pytest.mark.one_database
def test_without_board_hosts_any_host_is_answered(client):
    """Development, tests and existing deploys that have not set it yet keep working."""
    assert client.get("/healthz", headers=EVIL).status_code == 200


def feed_ids(client, host):
    feed = ET.fromstring(client.get("/feed.atom", headers={"Host": host}).data)
    return feed.find(f"{ATOM}id").text, [entry.find(f"{ATOM}id").text
                                         for entry in feed.findall(f"{ATOM}entry")]


def test_feed_ids_are_tag_uris_of_the_first_board_host_whatever_the_request_host(guarded):
    [comment_id] = add_comments(guarded, 1)
    client = guarded.test_client()
    expected = ("tag:board.example.org,2026:feed", [f"tag:board.example.org,2026:comment-{comment_id}"])
    assert feed_ids(client, "board.example.org") == expected
    assert feed_ids(client, "www.board.example.org:8443") == expected


def test_feed_ids_without_board_hosts_come_from_the_request_host_without_its_port(app, client):
    [comment_id] = add_comments(app, 1)
    feed_id, [entry_id] = feed_ids(client, "board.example.org:8080")
    assert feed_id == "tag:board.example.org,2026:feed"
    assert entry_id == f"tag:board.example.org,2026:comment-{comment_id}"


# --- The setting, its rules and the doctor ----------------------------------------------------

def check_config(**settings):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_URL", "SECRET_KEY", "FLASK_", "BOARD_"))}
    env |= {"FLASK_CONFIG": "production", "SECRET_KEY": SECRET, "FLASK_DEBUG": ""} | settings
    return subprocess.run([sys.executable, "-m", "board.cli", "check-config"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.one_database
def test_board_hosts_is_read_as_a_list_of_lower_case_names(tmp_path):
    result = check_config(DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite'}",
                          BOARD_HOSTS=" Board.Example.org, www.board.example.org ,")
    assert result.returncode == 0, result.stderr
    assert "  BOARD_HOSTS = ['board.example.org', 'www.board.example.org']" in result.stdout
    assert "warning:" not in result.stdout


@pytest.mark.one_database
def test_check_config_warns_when_production_answers_any_host(tmp_path):
    """A warning, not a refusal: deploys from before BOARD_HOSTS existed keep starting."""
    result = check_config(DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite'}")
    assert result.returncode == 0, result.stderr
    assert "warning: BOARD_HOSTS is not set under production" in result.stdout
    assert "no problems found" in result.stdout


@pytest.mark.one_database
def test_a_url_in_board_hosts_is_refused_at_start(migrated_database):
    with pytest.raises(ConfigError, match="BOARD_HOSTS lists host names"):
        create_app("testing", {"DATABASE_URL": migrated_database,
                               "BOARD_HOSTS": ["https://board.example.org/"]})


# --- The __Host- session cookie ---------------------------------------------------------------

@pytest.mark.one_database
def test_the_host_cookie_is_secure_at_the_root_without_a_domain_and_posting_works(app_factory):
    app = app_factory("production", SECRET_KEY=SECRET, BOARD_HOST_COOKIE=True,
                      BOARD_HOSTS=["board.example.org"])
    client = app.test_client()
    base = "https://board.example.org"
    page = client.get("/", base_url=base)
    [cookie] = page.headers.get_all("Set-Cookie")
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert cookie.startswith("__Host-session=")
    assert "secure" in attributes and "path=/" in attributes
    assert not any(part.startswith("domain=") for part in attributes)
    posted = client.post("/comments", base_url=base, headers={"Referer": f"{base}/"},
                         data={"content": "Hello", "author": "",
                               "csrf_token": soup(page).find("input", {"name": "csrf_token"})["value"]})
    assert posted.status_code == 303, posted.get_data(as_text=True)


@pytest.mark.one_database
def test_the_host_cookie_stays_off_by_default_and_is_refused_without_https(app_factory,
                                                                           migrated_database):
    app = app_factory("production", SECRET_KEY=SECRET)
    assert app.config["SESSION_COOKIE_NAME"] == "session"  # deploys keep their sessions
    with pytest.raises(ConfigError, match="BOARD_HOST_COOKIE is on under development"):
        create_app("development", {"DATABASE_URL": migrated_database, "BOARD_HOST_COOKIE": True})
    with pytest.raises(ConfigError, match="at / of its own host"):
        create_app("production", {"DATABASE_URL": migrated_database, "SECRET_KEY": SECRET,
                                  "BOARD_HOST_COOKIE": True, "SESSION_COOKIE_DOMAIN": "example.org"})
