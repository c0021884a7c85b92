"""A throwaway nginx on loopback serving one site's config, as an unprivileged user; and
deploy/nginx.conf turned into such a site (`loopback_site`)."""

import os
import shutil
import subprocess

from .process import Server, clean_env


def find_nginx():
    """nginx's binary: $BOARD_TEST_NGINX, else on PATH or in /usr/sbin; None if there is none."""
    return (os.environ.get("BOARD_TEST_NGINX") or shutil.which("nginx")
            or shutil.which("nginx", path="/usr/sbin"))


def certificate(folder, hostname):
    """A self-signed certificate for `hostname`, valid for a day: (cert path, key path)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={hostname}", "-addext", f"subjectAltName=DNS:{hostname}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def nginx(binary, folder, site, port, worker_connections=64, worker_processes=None):
    """A Server for `binary` with `site` (the text of a site's config) as its only site, all of
    its files in `folder`; ready once it listens on `port`. The config is checked (nginx -t) first.

    One process by default (enough for tests); `worker_processes` runs a master with that many
    workers, as a packaged nginx does (`auto`: one per core), with its cache manager. A load
    generator needs more `worker_connections` (clients and upstream connections together)."""
    (folder / "site.conf").write_text(site)
    temp = folder / "nginx-temp"
    temp.mkdir()
    processes = (f"worker_processes {worker_processes};" if worker_processes
                 else "master_process off;")
    (folder / "nginx.conf").write_text(f"""
daemon off;
{processes}
pid {folder}/nginx.pid;
error_log {folder}/nginx-main.log;
events {{ worker_connections {worker_connections}; }}
http {{
    types {{ text/html html; text/css css; application/javascript js; image/svg+xml svg; }}
    access_log {folder}/nginx-access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {folder}/site.conf;
}}
""")
    command = [binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e",
               str(folder / "nginx-main.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t rejected the config:\n{checked.stderr}")
    return Server(command, folder / "nginx.out", port, clean_env(), cwd=folder)


# deploy/nginx.conf's host-specific lines, and what they become on loopback (`loopback_site`).
IPV6_LISTENS = ("listen [::]:80;", "listen [::]:443 ssl;", "listen [::]:80 default_server;",
                "listen [::]:443 ssl default_server;")


def loopback_site(site, folder, http_port, https_port, app_port, cert, key, static):
    """deploy/nginx.conf's text (`site`) with only its host-specific lines changed: listening on
    127.0.0.1 (no IPv6), the app at 127.0.0.1:`app_port`, `static` for the static folder, a
    self-signed `cert` and `key`, logs and the poll cache in `folder`. Every line replaced must
    be there, so a renamed path in the deploy file fails here rather than going unnoticed."""
    replacements = {
        **dict.fromkeys(IPV6_LISTENS, ""),
        "listen 80 default_server;": f"listen 127.0.0.1:{http_port} default_server;",
        "listen 443 ssl default_server;": f"listen 127.0.0.1:{https_port} ssl default_server;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "127.0.0.1:8000": f"127.0.0.1:{app_port}",
        "/srv/board/app/static/": f"{static}/",
        "/etc/letsencrypt/live/board.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/board.example.org/privkey.pem": str(key),
        "/var/log/nginx/board.access.log": str(folder / "access.log"),
        "/var/log/nginx/board.error.log": str(folder / "error.log"),
        "/var/cache/nginx-board": str(folder / "nginx-cache"),
    }
    for old, new in replacements.items():
        if old not in site:
            raise ValueError(f"the site has no {old!r}: update harness/nginx.py with it")
        site = site.replace(old, new)
    return site
