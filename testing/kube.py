"""A real Kubernetes API server on 127.0.0.1: etcd plus kube-apiserver, for manifest checks.

No Debian package ships an API server, so ``scripts/kube-apiserver`` builds one from
Debian's ``kubernetes`` source package (1.20) once per machine and caches it outside the
checkout. It is old: it knows no field newer than 1.20 and has no PodSecurity admission.
It runs the validation and default admission a manifest meets before a controller sees it.
Nothing here schedules or runs a pod.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from testing import MissingServer, free_port
from testing.process import spawn, stop_group, wait_listening

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "automator-tests-admin"  # a throwaway server's bearer token


def kube_apiserver() -> str:
    """The cached kube-apiserver binary, built by scripts/kube-apiserver when missing."""
    for tool, package in (("etcd", "etcd-server"), ("go", "golang-go"), ("rsync", "rsync")):
        if shutil.which(tool) is None:
            raise MissingServer(f"{tool} not found; apt-get install {package}")
    try:
        built = subprocess.run(
            ["sh", str(ROOT / "scripts" / "kube-apiserver")],
            capture_output=True,
            text=True,
            timeout=3600,
            check=True,
        )
    except subprocess.CalledProcessError as exc:
        raise MissingServer(f"scripts/kube-apiserver failed: {exc.stderr[-2000:]}") from exc
    return built.stdout.strip().splitlines()[-1]


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        raise MissingServer("kubectl not found; install kubectl (1.2x with kustomize)")
    return path


class ApiServer:
    """etcd and kube-apiserver in ``base``; ``kubectl(...)`` talks to it as an admin."""

    def __init__(self, base: Path) -> None:
        self.binary = kube_apiserver()
        self.kubectl_path = kubectl()
        self.base = base
        self.port = free_port()
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> ApiServer:
        log = self.base / "kube.log"
        etcd_client, etcd_peer = free_port(), free_port()
        self.procs.append(
            spawn(
                [
                    "etcd",
                    "--data-dir",
                    str(self.base / "etcd"),
                    "--listen-client-urls",
                    f"http://127.0.0.1:{etcd_client}",
                    "--advertise-client-urls",
                    f"http://127.0.0.1:{etcd_client}",
                    "--listen-peer-urls",
                    f"http://127.0.0.1:{etcd_peer}",
                ],
                log,
            )
        )
        wait_listening(etcd_client, self.procs, log)
        key = self.base / "sa.key"
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        tokens = self.base / "tokens.csv"
        tokens.write_text(f"{TOKEN},admin,admin,system:masters\n")
        self.procs.append(
            spawn(
                [
                    self.binary,
                    f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                    "--bind-address=127.0.0.1",
                    f"--secure-port={self.port}",
                    "--insecure-port=0",
                    f"--cert-dir={self.base / 'certs'}",
                    f"--token-auth-file={tokens}",
                    "--authorization-mode=RBAC",
                    f"--service-account-key-file={key}",
                    f"--service-account-signing-key-file={key}",
                    "--service-account-issuer=https://kubernetes.default.svc",
                    "--service-cluster-ip-range=10.96.0.0/16",
                ],
                log,
                env={**os.environ},
            )
        )
        self._wait_ready(log)
        return self

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args!r} exited: {log.read_text()[-3000:]}")
            ready = self.kubectl("get", "--raw", "/readyz", check=False)
            # the default service account controller must have made "default" in namespaces
            if ready.returncode == 0:
                return
            time.sleep(0.5)
        raise TimeoutError(f"kube-apiserver not ready after 120 s: {log.read_text()[-3000:]}")

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                self.kubectl_path,
                f"--server=https://127.0.0.1:{self.port}",
                f"--token={TOKEN}",
                "--insecure-skip-tls-verify=true",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )

    def __exit__(self, *exc: object) -> None:
        # the API server first, then etcd, or the server spins reconnecting
        for proc in reversed(self.procs):
            stop_group(proc)
