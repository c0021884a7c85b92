"""A throwaway nginx on loopback serving one site's config, as an unprivileged user."""

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


def nginx(binary, folder, site, port):
    """A Server for `binary` with `site` (the text of a site's config) as its only site, all of
    its files in `folder`; ready once it listens on `port`. The config is checked (nginx -t) first."""
    (folder / "site.conf").write_text(site)
    temp = folder / "nginx-temp"
    temp.mkdir()
    (folder / "nginx.conf").write_text(f"""
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-main.log;
events {{ worker_connections 64; }}
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
