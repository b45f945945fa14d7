"""A real distribution registry (Debian ``docker-registry``) and an image pusher.

Images are built in memory (one tiny layer, a config blob with ``created``, an OCI
or Docker v2 manifest) and pushed with plain HTTP calls: there is no Docker engine
on the machines this runs on.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from testing import MissingServer, free_port, terminate

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class TLSFiles:
    """PEM files for a TLS registry; ``client`` set means mTLS is required."""

    ca: Path
    cert: Path
    key: Path
    client: tuple[str, str] | None = None

    def config(self) -> str:
        text = f"  tls:\n    certificate: {self.cert}\n    key: {self.key}\n"
        if self.client:
            text += f"    clientcas:\n      - {self.ca}\n"
        return text


class Registry:
    """One ``docker-registry serve`` process on 127.0.0.1.

    ``auth_config`` is extra YAML (already indented for the top level) appended to the
    config, e.g. an ``auth:`` block for htpasswd or token auth.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        auth_config: str = "",
        inmemory: bool = True,
        tls: TLSFiles | None = None,
    ) -> None:
        binary = shutil.which("docker-registry") or shutil.which("registry")
        if binary is None:
            raise MissingServer("docker-registry is not installed: apt-get install docker-registry")
        self.binary = binary
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.auth_config = auth_config
        self.inmemory = inmemory
        self.tls = tls
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def _config(self) -> str:
        storage = (
            "  inmemory: {}\n"
            if self.inmemory
            else f"  filesystem:\n    rootdirectory: {self.workdir / 'storage'}\n"
        )
        return (
            "version: 0.1\n"
            "log:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n{storage}  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n  secret: test-only-secret\n"
            + (self.tls.config() if self.tls else "")
            + self.auth_config
        )

    def start(self, timeout: float = 30.0) -> Registry:
        config = self.workdir / "config.yml"
        config.write_text(self._config())
        log = (self.workdir / "registry.log").open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                text = (self.workdir / "registry.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"registry exited with {self.proc.returncode}: {text}")
            try:
                probe = requests.get(
                    self.url + "/v2/",
                    timeout=1,
                    verify=str(self.tls.ca) if self.tls else True,
                    cert=self.tls.client if self.tls else None,
                )
                if probe.status_code in (200, 401):
                    return self
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"registry on {self.host} did not answer in {timeout}s")
            time.sleep(0.02)

    def stop(self) -> None:
        terminate(self.proc)
        self.proc = None

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Pusher:
    """Pushes blobs and manifests with the registry's HTTP API."""

    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = sha256(data)
        url = f"{self.base_url}/v2/{repo}/blobs/{digest}"
        if self.session.head(url, timeout=10).status_code == 200:
            return digest
        started = self.session.post(f"{self.base_url}/v2/{repo}/blobs/uploads/", timeout=10)
        started.raise_for_status()
        location = urljoin(started.url, started.headers["Location"])
        joiner = "&" if "?" in location else "?"
        done = self.session.put(
            f"{location}{joiner}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=30,
        )
        done.raise_for_status()
        return digest

    def push_manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> str:
        resp = self.session.put(
            f"{self.base_url}/v2/{repo}/manifests/{reference}",
            data=body,
            headers={"Content-Type": media_type},
            timeout=30,
        )
        resp.raise_for_status()
        return resp.headers.get("Docker-Content-Digest", sha256(body))

    def push_image(
        self,
        repo: str,
        tag: str | None,
        *,
        created: str = "2024-01-02T03:04:05Z",
        arch: str = "amd64",
        os: str = "linux",
        variant: str | None = None,
        fmt: str = "oci",
        labels: dict[str, str] | None = None,
        content: bytes = b"",
    ) -> dict[str, Any]:
        """Push a one-layer image; returns its descriptor (usable in an index)."""
        layer, diff_id = _layer({"hello.txt": b"hello " + arch.encode() + content})
        config_doc: dict[str, Any] = {
            "architecture": arch,
            "os": os,
            "created": created,
            "config": {"Labels": labels or {}},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
        if variant:
            config_doc["variant"] = variant
        config = canonical_json(config_doc)
        oci = fmt == "oci"
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST if oci else DOCKER_V2,
            "config": {
                "mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                "digest": self.push_blob(repo, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                    "digest": self.push_blob(repo, layer),
                    "size": len(layer),
                }
            ],
        }
        body = canonical_json(manifest)
        media_type = str(manifest["mediaType"])
        digest = self.push_manifest(repo, tag or sha256(body), body, media_type)
        platform = {"architecture": arch, "os": os} | ({"variant": variant} if variant else {})
        return {"mediaType": media_type, "digest": digest, "size": len(body), "platform": platform}

    def push_index(
        self, repo: str, tag: str, descriptors: list[dict[str, Any]], fmt: str = "oci"
    ) -> str:
        """Push an OCI image index or a Docker manifest list over ``descriptors``."""
        media_type = OCI_INDEX if fmt == "oci" else DOCKER_LIST
        body = canonical_json(
            {"schemaVersion": 2, "mediaType": media_type, "manifests": descriptors}
        )
        return self.push_manifest(repo, tag, body, media_type)

    def tag(self, repo: str, tags: list[str], **image: Any) -> str:
        """Push one image under every tag in ``tags`` (same bytes); returns its digest."""
        first = self.push_image(repo, tags[0], **image)
        body = self.session.get(
            f"{self.base_url}/v2/{repo}/manifests/{first['digest']}",
            headers={"Accept": first["mediaType"]},
            timeout=10,
        ).content
        for tag in tags[1:]:
            self.push_manifest(repo, tag, body, first["mediaType"])
        return str(first["digest"])


def _layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzip'd tar of ``files`` (deterministic) and its diff_id."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), sha256(raw.getvalue())


def htpasswd_config(workdir: Path, users: dict[str, str]) -> str:
    """An ``auth:`` block for Basic auth; 2.8 reads only bcrypt entries (htpasswd -B)."""
    binary = shutil.which("htpasswd")
    if binary is None:
        raise MissingServer("htpasswd is not installed: apt-get install apache2-utils")
    path = Path(workdir) / "htpasswd"
    lines = [
        subprocess.run(
            [binary, "-Bbn", user, password], check=True, capture_output=True, text=True
        ).stdout.strip()
        for user, password in users.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return f"auth:\n  htpasswd:\n    realm: basic-realm\n    path: {path}\n"
