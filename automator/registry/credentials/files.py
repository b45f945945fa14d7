"""Credentials from files that rotate: a password file and a docker config.

A mounted Kubernetes Secret is replaced atomically (a symlink swap), so a cheap
``stat`` at each use (device, inode, mtime, size) tells when to read it again. A
docker config's credential helpers mint short-lived tokens whose lifetime they do
not say: their answer is kept for ``HELPER_TTL`` seconds, or until the registry
refuses it. Every value read here is registered for log redaction.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import docker.auth
import docker.errors

from automator.errors import RegistryError
from automator.logs import register_secret
from automator.reference import DOCKER_HUB
from automator.registry.credentials.base import Clock, Credentials, Fetched
from automator.secrets import Secret

HELPER_TTL = 300.0  # seconds a credential helper's answer is reused

Stamp = tuple[int, int, int, int] | None


def stamp(path: str) -> Stamp:
    """What changes when a file is rewritten or its symlink swapped; None if unreadable."""
    try:
        info = os.stat(path)  # follows the ..data symlink Kubernetes swaps
    except OSError:
        return None
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


class PasswordFile:
    """A username and a password read from a file (a mounted Secret), again when it changes."""

    def __init__(self, host: str, username: str | None, path: str) -> None:
        self.host, self.username, self.path = host, username, path
        self._stamp: Stamp = None

    def changed(self) -> bool:
        return stamp(self.path) != self._stamp

    def fetch(self) -> Fetched:
        self._stamp = stamp(self.path)  # before reading: a change during the read shows next time
        try:
            value = Path(self.path).read_text().strip()
        except OSError as exc:
            raise RegistryError(
                f"{self.host}: cannot read password_file {self.path} ({exc.strerror});"
                " check the file or the mounted secret",
            ) from exc
        password = register_secret(Secret(value))
        return Fetched(Credentials(self.username, password, source=f"password_file {self.path}"))

    def __repr__(self) -> str:
        return f"PasswordFile({self.host!r}, {self.path!r})"


class DockerConfig:
    """A docker ``config.json`` (or a dockerconfigjson Secret) and its credential helpers."""

    def __init__(self, host: str, path: str, clock: Clock) -> None:
        self.host, self.path = host, path
        self._clock = clock
        self._stamp: Stamp = None

    def changed(self) -> bool:
        return stamp(self.path) != self._stamp

    def fetch(self) -> Fetched:
        self._stamp = stamp(self.path)
        config = self._load()
        where = f"{self.path} (docker config)"
        registry = None if self.host == DOCKER_HUB else self.host
        helper = config.get_credential_store(registry)
        try:
            entry: dict[str, Any] | None = config.resolve_authconfig(registry)
        except docker.errors.DockerException as exc:
            raise RegistryError(
                f"{self.host}: the credential helper named in {self.path} failed"
                f" ({type(exc).__name__}); check that docker-credential-* is on PATH and"
                " logged in",
                transient=True,
            ) from exc
        expires_at = self._clock() + HELPER_TTL if helper else None
        if not entry:
            return Fetched(Credentials(source=f"no entry for {self.host} in {where}"), expires_at)
        token = entry.get("IdentityToken") or entry.get("identitytoken")
        user = entry.get("username") or entry.get("Username")
        password = entry.get("password") or entry.get("Password")
        credentials = Credentials(
            str(user) if user else None,
            register_secret(Secret(str(password))) if password else None,
            register_secret(Secret(str(token))) if token else None,
            source=where,
        )
        return Fetched(credentials, expires_at)

    def _load(self) -> docker.auth.AuthConfig:
        try:
            raw = json.loads(Path(self.path).read_text())
            if isinstance(raw, dict) and ".dockerconfigjson" in raw:  # a whole Secret's data
                raw = json.loads(base64.b64decode(raw[".dockerconfigjson"]))
        except (OSError, ValueError) as exc:
            raise RegistryError(
                f"{self.host}: cannot read docker config {self.path} ({type(exc).__name__});"
                " check the file or the mounted secret",
            ) from exc
        if not isinstance(raw, dict):
            raise RegistryError(
                f"{self.host}: {self.path} is not a docker config.json; check the file"
            )
        return docker.auth.load_config(config_dict=raw)

    def __repr__(self) -> str:
        return f"DockerConfig({self.host!r}, {self.path!r})"
