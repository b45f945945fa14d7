"""A classic Helm chart repository: nginx serving a directory, with basic auth, HTTP and HTTPS.

The directory holds what ``helm package`` and ``helm repo index`` would write: chart
archives (``<name>-<version>.tgz``, a gzip'd tar whose top directory is the chart's
name, holding ``Chart.yaml``, ``values.yaml`` and ``templates/``) and an ``index.yaml``
listing each with its sha256 digest. nginx answers ``If-None-Match`` and
``If-Modified-Since`` itself (304), as the static hosts of real repositories do, and
sends ``<file>.gz`` gzip-encoded in place of ``<file>`` when there is one.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from testing import MissingServer, free_port
from testing.githttp import write_test_ca
from testing.process import start_nginx, stop_group
from testing.registry import Pusher

USER = "charts"
PASSWORD = "s3cret-chart-password"

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
    proxy_temp_path @RUN@/tmp/proxy;
    fastcgi_temp_path @RUN@/tmp/fastcgi;
    uwsgi_temp_path @RUN@/tmp/uwsgi;
    scgi_temp_path @RUN@/tmp/scgi;
    types { application/x-yaml yaml; application/gzip tgz; }
    gzip_static on;  # index.yaml.gz beside index.yaml is sent gzip-encoded, as CDNs do
    server {
        listen 127.0.0.1:@PORT@;
        root @ROOT@;
        location /private/ { auth_basic "charts"; auth_basic_user_file @RUN@/htpasswd; }
    }
    server {
        listen 127.0.0.1:@TLS_PORT@ ssl;
        ssl_certificate @RUN@/server.crt;
        ssl_certificate_key @RUN@/server.key;
        root @ROOT@;
        location /private/ { auth_basic "charts"; auth_basic_user_file @RUN@/htpasswd; }
    }
}
"""


class HelmRepoServer:
    """nginx serving ``root``: ``/<dir>/index.yaml`` and archives; ``/private/`` asks Basic auth."""

    def __init__(self, run: Path, root: Path) -> None:
        if shutil.which("nginx") is None:
            raise MissingServer("nginx is not installed: apt-get install nginx")
        self.run = Path(run)
        self.root = Path(root)
        self.port = free_port()
        self.tls_port = free_port()
        self.ca_file = self.run / "ca.crt"
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def tls_host(self) -> str:
        return f"127.0.0.1:{self.tls_port}"

    def url(self, path: str) -> str:
        return f"http://{self.host}/{path}"

    def tls_url(self, path: str) -> str:
        return f"https://{self.tls_host}/{path}"

    def statuses(self, path: str, count: int = 0, timeout: float = 15.0) -> list[int]:
        """The HTTP statuses nginx logged for GETs of ``/<path>``, in order.

        nginx logs a request when it finalizes it, which can be just after the client has
        read the answer or hung up: with ``count``, wait (up to ``timeout``) for that many.
        """
        deadline = time.monotonic() + timeout
        while len(found := self._logged(path)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return found

    def _logged(self, path: str) -> list[int]:
        log = self.run / "nginx-access.log"
        found = []
        for line in log.read_text().splitlines() if log.exists() else []:
            request, _, rest = line.partition('"')[2].partition('" ')
            if request.split(" ")[1:2] == [f"/{path}"]:
                found.append(int(rest.split(" ", 1)[0]))
        return found

    def start(self) -> HelmRepoServer:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.run / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.run / "htpasswd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        write_test_ca(self.run)
        text = _CONFIG
        for key, value in {
            "@RUN@": str(self.run),
            "@ROOT@": str(self.root),
            "@PORT@": str(self.port),
            "@TLS_PORT@": str(self.tls_port),
            "@USER@": "user root;" if os.geteuid() == 0 else "",
        }.items():
            text = text.replace(key, value)
        (self.run / "nginx.conf").write_text(text)
        start_nginx(self.run, self._procs, [self.port, self.tls_port])
        return self

    def stop(self) -> None:
        for proc in reversed(self._procs):
            stop_group(proc)
        self._procs.clear()

    def __enter__(self) -> HelmRepoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Chart:
    """One chart version to package: name, version and what its Chart.yaml says."""

    name: str
    version: str
    app_version: str = "1.0.0"
    home: str = ""
    sources: tuple[str, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict)


def package(chart: Chart, into: Path) -> Path:
    """``helm package``: ``<into>/<name>-<version>.tgz`` with the chart under ``<name>/``."""
    lines = [
        "apiVersion: v2",
        f"name: {chart.name}",
        f"version: {chart.version}",
        f"appVersion: {chart.app_version!r}".replace("'", '"'),
        "description: A chart built by the tests",
        "type: application",
    ]
    if chart.home:
        lines.append(f"home: {chart.home}")
    files = {
        "Chart.yaml": "\n".join(lines) + "\n",
        "values.yaml": "replicaCount: 1\n",
        "templates/configmap.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        ),
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{chart.name}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    into.mkdir(parents=True, exist_ok=True)
    path = into / f"{chart.name}-{chart.version}.tgz"
    path.write_bytes(gzip.compress(raw.getvalue(), mtime=0))
    return path


def write_index(directory: Path, charts: list[Chart], *, base_url: str = "") -> Path:
    """Package every chart into ``directory`` and write ``index.yaml`` as ``helm repo index``.

    ``base_url`` (``helm repo index --url``) makes the archive URLs absolute.
    """
    created = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    by_name: dict[str, list[str]] = {}
    for chart in charts:
        archive = package(chart, directory)
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        url = f"{base_url.rstrip('/')}/{archive.name}" if base_url else archive.name
        entry = [
            "  - apiVersion: v2",
            f'    appVersion: "{chart.app_version}"',
            f'    created: "{created.isoformat().replace("+00:00", ".000000Z")}"',
            "    description: A chart built by the tests",
            f"    digest: {digest}",
        ]
        if chart.annotations:
            entry.append("    annotations:")
            entry.extend(f'      {k}: "{v}"' for k, v in chart.annotations.items())
        if chart.home:
            entry.append(f"    home: {chart.home}")
        entry.append(f"    name: {chart.name}")
        if chart.sources:
            entry.append("    sources:")
            entry.extend(f"    - {s}" for s in chart.sources)
        entry += ["    type: application", "    urls:", f"    - {url}"]
        entry.append(f"    version: {chart.version}")
        by_name.setdefault(chart.name, []).extend(entry)
    lines = ["apiVersion: v1", "entries:"]
    for name in sorted(by_name):
        lines.append(f"  {name}:")
        lines.extend(by_name[name])
    lines.append(f'generated: "{created.isoformat().replace("+00:00", ".000000Z")}"')
    path = directory / "index.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def push_chart(pusher: Pusher, repo: str, chart: Chart, workdir: Path) -> str:
    """``helm push``: the chart as an OCI artifact with Helm's media types, tagged by version.

    As Helm does (``pkg/registry``), the config is the chart's metadata as JSON and the
    manifest's annotations carry its title, version, description, ``home`` (``.url``),
    first source (``.source``) and the chart's own annotations.
    """
    archive = package(chart, workdir).read_bytes()
    meta: dict[str, object] = {"name": chart.name, "home": chart.home,
                               "sources": list(chart.sources), "version": chart.version,
                               "description": "A chart built by the tests",
                               "annotations": chart.annotations, "apiVersion": "v2",
                               "appVersion": chart.app_version, "type": "application"}  # fmt: skip
    config = json.dumps({k: v for k, v in meta.items() if v}, separators=(",", ":")).encode()
    layers = [{"mediaType": HELM_CHART, "digest": pusher.push_blob(repo, archive),
               "size": len(archive)}]  # fmt: skip
    annotations = dict(chart.annotations)
    annotations |= {"org.opencontainers.image.description": "A chart built by the tests",
                    "org.opencontainers.image.title": chart.name,
                    "org.opencontainers.image.version": chart.version}  # fmt: skip
    if chart.home:
        annotations["org.opencontainers.image.url"] = chart.home
    if chart.sources:
        annotations["org.opencontainers.image.source"] = chart.sources[0]
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": HELM_CONFIG, "digest": pusher.push_blob(repo, config),
                   "size": len(config)},
        "layers": layers,
        "annotations": annotations,
    }  # fmt: skip
    body = json.dumps(manifest, separators=(",", ":")).encode()
    return pusher.push_manifest(repo, chart.version, body, OCI_MANIFEST)
