"""Registry credentials: explicit settings, or a docker config and its credential helpers.

The one place besides ``automator.adapters`` that reads credentials: a docker
``config.json`` (or a ``kubernetes.io/dockerconfigjson`` Secret) is read when the
registry first asks, because its credential helpers mint short-lived tokens. Every
value read here is registered for log redaction, like the adapters' secrets.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.auth
import docker.errors

from automator.errors import RegistryError
from automator.logs import register_secret
from automator.reference import DOCKER_HUB
from automator.registry.settings import RegistrySettings
from automator.secrets import Secret


@dataclass(frozen=True, slots=True)
class Credentials:
    """What to authenticate with; secrets stay wrapped."""

    username: str | None = None
    password: Secret | None = None
    identity_token: Secret | None = None
    source: str = "settings"  # where they came from, for error messages

    def basic(self) -> str | None:
        if self.username is None or self.password is None:
            return None
        pair = f"{self.username}:{self.password.reveal()}".encode()
        return "Basic " + base64.b64encode(pair).decode()


ANONYMOUS = Credentials(source="no credentials")


def find_credentials(settings: RegistrySettings) -> Credentials:
    """The credentials for ``settings.host``: explicit settings, then its docker config."""
    if settings.identity_token is not None or settings.password is not None:
        return Credentials(settings.username, settings.password, settings.identity_token)
    if settings.docker_config is None:
        return ANONYMOUS
    return _from_docker_config(settings.docker_config, settings.key)


def _from_docker_config(path: str, host: str) -> Credentials:
    where = f"{path} (docker config)"
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise RegistryError(
            f"{host}: cannot read docker config {path} ({type(exc).__name__});"
            " check the file or the mounted secret",
        ) from exc
    if isinstance(raw, dict) and ".dockerconfigjson" in raw:  # a whole Secret's data
        raw = json.loads(base64.b64decode(raw[".dockerconfigjson"]))
    if not isinstance(raw, dict):
        raise RegistryError(f"{host}: {path} is not a docker config.json; check the file")
    try:
        config = docker.auth.load_config(config_dict=raw)
        entry: dict[str, Any] | None = docker.auth.resolve_authconfig(
            config, None if host == DOCKER_HUB else host
        )
    except docker.errors.DockerException as exc:
        raise RegistryError(
            f"{host}: the credential helper named in {path} failed ({type(exc).__name__});"
            " check that docker-credential-* is on PATH and logged in",
            transient=True,
        ) from exc
    if not entry:
        return Credentials(source=f"no entry for {host} in {where}")
    token = entry.get("IdentityToken") or entry.get("identitytoken")
    user = entry.get("username") or entry.get("Username")
    password = entry.get("password") or entry.get("Password")
    return Credentials(
        str(user) if user else None,
        register_secret(Secret(str(password))) if password else None,
        register_secret(Secret(str(token))) if token else None,
        source=where,
    )
