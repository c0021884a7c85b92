"""Containers: there is no Docker engine here, so Dockerfile, compose.yaml and the docs that show
them are checked against each other."""

import json
import re
import shlex

import pytest
import yaml
from sqlalchemy.engine import make_url

from board.config import check_driver_installed, normalise_database_url
from tests.deploy.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
NGINX_COMPOSE = ROOT / "deploy" / "nginx.compose.conf"
SERVICES = COMPOSE["services"]


def dockerfile_instructions():
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def exec_form(arguments):
    return json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)


def test_dockerfile_builds_a_slim_non_root_image_running_gunicorn():
    steps = dockerfile_instructions()
    names = [name for name, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    copies = [index for index, (name, args) in enumerate(steps) if name == "COPY"]
    requirements = next(index for index in copies if "requirements.txt" in steps[index][1])
    install = next(index for index, (name, args) in enumerate(steps)
                   if name == "RUN" and "pip install" in args and "requirements.txt" in args)
    code = next(index for index in copies if steps[index][1].split()[0] == ".")
    assert requirements < install < code, "dependencies get their own layer, before the code"
    user = [args for name, args in steps if name == "USER"]
    assert user and user[-1] not in ("root", "0"), "runs as a non-root user"
    assert names.index("USER") < names.index("CMD")
    (healthcheck,) = [args for name, args in steps if name == "HEALTHCHECK"]
    assert "/healthz" in healthcheck and "urllib" in healthcheck and "curl" not in healthcheck
    (cmd,) = [exec_form(args) for name, args in steps if name == "CMD"]
    assert cmd == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    env = " ".join(args for name, args in steps if name == "ENV")
    assert "GUNICORN_BIND=0.0.0.0:8000" in env and "FLASK_CONFIG=production" in env
    assert [args for name, args in steps if name == "EXPOSE"] == ["8000"]


def test_compose_runs_postgresql_then_migrations_then_the_web_app():
    assert set(SERVICES) == {"db", "redis", "migrate", "web", "nginx"}
    db_service = SERVICES["db"]
    assert db_service["image"].startswith("postgres:")
    volume = db_service["volumes"][0].split(":")[0]
    assert volume in COMPOSE["volumes"], "the database lives in a named volume"
    assert "pg_isready" in " ".join(db_service["healthcheck"]["test"])

    migrate_service, web = SERVICES["migrate"], SERVICES["web"]
    assert exec_form(" ".join(migrate_service["command"])) == ["flask", "db", "upgrade"]
    assert migrate_service["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert web["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
    assert web.get("command") is None, "web runs the image's CMD: gunicorn with its config"
    for service in (migrate_service, web):
        assert service["build"] == "."
        assert service["env_file"] == [".env"]
        assert service["environment"]["FLASK_CONFIG"] == "production"
    # gunicorn's port is on the compose network only: nginx reaches it, the internet does not.
    assert "ports" not in web and [str(port) for port in web["expose"]] == ["8000"]


def test_compose_publishes_only_nginx_in_front_of_the_web_app():
    """Sync workers are each held by one slow client (tests/deploy/test_nginx.py shows it):
    only nginx, which buffers requests and answers, may be reachable from outside."""
    for name, service in SERVICES.items():
        assert name == "nginx" or "ports" not in service, f"{name} must not publish ports"
    nginx = SERVICES["nginx"]
    image, _, tag = nginx["image"].partition(":")
    assert image == "nginx" and tag and "alpine" not in tag, "the official (Debian) nginx image"
    assert sorted(port.rsplit(":", 1)[1] for port in nginx["ports"]) == ["443", "80"]
    assert nginx["depends_on"]["web"]["condition"] == "service_healthy"
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in nginx["volumes"]}
    # The repo's site file, as the image's template for its default site.
    assert mounts["/etc/nginx/templates/default.conf.template"] == "./deploy/nginx.compose.conf"
    assert all(volume.endswith(":ro") for volume in nginx["volumes"])
    site = NGINX_COMPOSE.read_text()
    assert re.search(r"^\s*server web:8000\b", site, re.MULTILINE)
    (alias,) = re.findall(r"^\s*alias\s+(\S+);", site, re.MULTILINE)
    assert mounts[alias.rstrip("/")] == "./static"
    certificates = re.findall(r"^\s*ssl_certificate(?:_key)?\s+(\S+);", site, re.MULTILINE)
    assert certificates and all(path.startswith("/etc/letsencrypt/") for path in certificates)
    assert mounts["/etc/letsencrypt"] == "/etc/letsencrypt"
    # The image substitutes only variables set in the container: NGINX_HOST, and nothing that
    # could clash with nginx's own lower-case $variables.
    assert set(re.findall(r"\$\{?([A-Z]\w*)", site)) == {"NGINX_HOST"}
    assert nginx["environment"] == ["NGINX_HOST"]


def site_lines(text):
    return [line.strip() for line in re.sub(r"#.*", "", text).splitlines() if line.strip()]


def test_compose_nginx_site_is_deploy_nginx_conf_with_only_its_host_lines_changed():
    """Everything tested of deploy/nginx.conf (tests/deploy/test_nginx.py: buffering that keeps
    slow clients off the sync workers, HSTS, no version) holds for compose's copy too."""
    compose_site = NGINX_COMPOSE.read_text()
    for old, new in {
        "web:8000": "127.0.0.1:8000",
        "${NGINX_HOST}": "board.example.org",
        "/var/log/nginx/access.log": "/var/log/nginx/board.access.log",
        "/var/log/nginx/error.log": "/var/log/nginx/board.error.log",
    }.items():
        assert old in compose_site, old
        compose_site = compose_site.replace(old, new)
    assert site_lines(compose_site) == site_lines((ROOT / "deploy" / "nginx.conf").read_text())


def test_compose_database_url_reaches_postgresql_with_our_driver():
    url = SERVICES["web"]["environment"]["DATABASE_URL"]
    assert url == SERVICES["migrate"]["environment"]["DATABASE_URL"]
    filled = re.sub(r"\$\{(\w+)(:[-?][^}]*)?\}", lambda m: "x", url)
    normalised = make_url(normalise_database_url(filled))
    assert normalised.drivername == "postgresql+psycopg2" and normalised.host == "db"
    check_driver_installed(str(normalised))


def test_no_sleep_waits_for_the_database():
    for name in ("compose.yaml", "Dockerfile"):
        assert "sleep" not in (ROOT / name).read_text()


DOCS = {"README.md": ROOT / "README.md", "docs/deploy.md": ROOT / "docs" / "deploy.md"}


def shell_lines(path):
    """The lines of a Markdown file's shell code blocks (```sh, ```bash, ```console)."""
    lines, language = [], None
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            language = None if language is not None else (line[3:].strip() or "text")
        elif language in ("sh", "bash", "console", "shell"):
            lines.append(line.strip().removeprefix("$ "))
    return lines


def compose_services_named(line):
    """The services a `docker compose ...` line acts on."""
    words = shlex.split(line.split("#")[0])[2:]
    words = [word for word in words if not word.startswith("-")]
    if not words:
        return []
    subcommand, rest = words[0], words[1:]
    if subcommand in ("run", "exec"):
        return rest[:1]
    if subcommand in ("up", "logs", "restart", "stop", "start", "build", "ps", "pull", "rm"):
        return rest
    return []


def docker_section(text):
    """The part of a Markdown text under its "Docker Compose" heading, up to the next heading."""
    match = re.search(r"^(#+) .*Docker Compose.*$", text, re.MULTILINE)
    assert match, "a Docker Compose section"
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{len(match.group(1))}}} ", rest, re.MULTILINE)
    return rest[:end.start()] if end else rest


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_docker_commands_in_the_docs_match_the_files(doc):
    text = DOCS[doc].read_text()
    lines = shell_lines(DOCS[doc])
    compose_lines = [line for line in lines if line.startswith("docker compose")]
    compose_lines += re.findall(r"`(docker compose [^`]+)`", text)
    for line in compose_lines:
        assert set(compose_services_named(line)) <= set(SERVICES), line
    for line in lines:
        words = shlex.split(line.split("#")[0]) if "gunicorn" in line else []
        if words and words[0].endswith("gunicorn"):
            assert words[1:3] == ["-c", "deploy/gunicorn.conf.py"], line
        if "cp deploy/env.example" in line:
            assert line.split()[-1] == ".env", line
    assert "docker compose up" in " ".join(compose_lines)
    docker = docker_section(text)
    # Services named in prose: "the `web` service", or a list item "- `db`: ...".
    named = set(re.findall(r"`([\w-]+)` service", docker))
    named |= set(re.findall(r"^\s*- `([\w-]+)`:", docker, re.MULTILINE))
    assert named and named <= set(SERVICES), named
    # No way to reach gunicorn directly is offered: no local URL of its port, no publishing it.
    assert not re.search(r"(?:localhost|127\.0\.0\.1|0\.0\.0\.0):8000", docker)
    assert not re.search(r"\b8000:8000\b|-p\s*8000", text)
    assert "https://" in docker and "NGINX_HOST" in docker
    assert "deploy/env.example" in docker
    if doc == "docs/deploy.md":
        for service in SERVICES:
            assert f"`{service}`" in docker, f"{doc} names the {service} service"
