"""Smart HTTP Git: nginx -> fcgiwrap -> git http-backend, basic auth, plain and TLS.

The TLS certificate is signed by a throwaway CA made with ``cryptography``, so a
client trusts it only when given ``ca_file``.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

from testing import MissingServer, free_port
from testing.process import spawn, start_nginx, stop_group, wait_listening

USER = "bot"
PASSWORD = "s3cret-http-password"

_LOCATION = """
location / {
    auth_basic "git";
    auth_basic_user_file @RUN@/htpasswd;
    fastcgi_pass unix:@RUN@/fcgiwrap.sock;
    include /etc/nginx/fastcgi_params;
    fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
    fastcgi_param GIT_PROJECT_ROOT @REPOS@;
    fastcgi_param GIT_HTTP_EXPORT_ALL "";
    fastcgi_param PATH_INFO $uri;
    fastcgi_param REMOTE_USER $remote_user;
    fastcgi_request_buffering off;
    fastcgi_buffering off;
}
"""

_CONFIG = """
@USER@
worker_processes 1;
daemon off;
pid @RUN@/nginx.pid;
error_log @RUN@/nginx-error.log info;
events { worker_connections 64; }
http {
    access_log @RUN@/nginx-access.log;
    client_body_temp_path @RUN@/tmp/body;
    fastcgi_temp_path @RUN@/tmp/fastcgi;
    proxy_temp_path @RUN@/tmp/proxy;
    uwsgi_temp_path @RUN@/tmp/uwsgi;
    scgi_temp_path @RUN@/tmp/scgi;
    client_max_body_size 0;
    server { listen 127.0.0.1:@PORT@; include @RUN@/git-location.conf; }
    server {
        listen 127.0.0.1:@TLS_PORT@ ssl;
        ssl_certificate @RUN@/server.crt;
        ssl_certificate_key @RUN@/server.key;
        include @RUN@/git-location.conf;
    }
}
"""


class GitHttp:
    """nginx + fcgiwrap serving the repositories under ``repos`` over HTTP and HTTPS."""

    def __init__(self, run: Path, repos: Path) -> None:
        for tool in ("nginx", "fcgiwrap"):
            if shutil.which(tool) is None:
                raise MissingServer(f"{tool} is not installed: apt-get install nginx fcgiwrap")
        self.run = Path(run)
        self.repos = Path(repos)
        self.port = free_port()
        self.tls_port = free_port()
        self.ca_file = self.run / "ca.crt"
        self._procs: list[subprocess.Popen[bytes]] = []

    def url(self, repo: str) -> str:
        return f"http://127.0.0.1:{self.port}/{repo}"

    def tls_url(self, repo: str) -> str:
        return f"https://127.0.0.1:{self.tls_port}/{repo}"

    def start(self) -> GitHttp:
        for sub in ("body", "fastcgi", "proxy", "uwsgi", "scgi"):
            (self.run / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        (self.run / "htpasswd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        write_test_ca(self.run)
        fill = {
            "@RUN@": str(self.run),
            "@REPOS@": str(self.repos),
            "@PORT@": str(self.port),
            "@TLS_PORT@": str(self.tls_port),
            "@USER@": "user root;" if os.geteuid() == 0 else "",
        }
        for name, text in (("git-location.conf", _LOCATION), ("nginx.conf", _CONFIG)):
            for key, value in fill.items():
                text = text.replace(key, value)
            (self.run / name).write_text(text)
        log = self.run / "servers.log"
        sock = self.run / "fcgiwrap.sock"
        self._procs.append(spawn(["fcgiwrap", "-f", "-c", "4", "-s", f"unix:{sock}"], log))
        try:  # before nginx: a request that finds no socket yet is a 502
            wait_listening(sock, self._procs, log)
        except Exception:
            self.stop()
            raise
        start_nginx(self.run, self._procs, [self.port, self.tls_port])
        return self

    def stop(self) -> None:
        for proc in reversed(self._procs):
            stop_group(proc)
        self._procs.clear()

    def __enter__(self) -> GitHttp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_test_ca(run: Path) -> None:
    """A CA (``ca.crt``) and a server key and certificate for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "automator test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (run / "ca.crt").write_bytes(ca.public_bytes(pem))
    (run / "server.crt").write_bytes(cert.public_bytes(pem))
    (run / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
