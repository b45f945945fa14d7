"""Registries in three auth modes, seeded once per session, and a fault proxy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from testing import MissingServer
from testing.proxy import FaultProxy
from testing.registry import Pusher, Registry, htpasswd_config
from testing.tokenserver import PushAuth, TokenServer
from tests.conftest import need

USER, PASSWORD = "alice", "s3cret-pw-9f8e"
IDENTITY_TOKEN = "refresh-tok-5d4c"
TAGS = ["1.0", "1.1", "1.2", "2.0", "2.1", "latest"]


@dataclass(frozen=True)
class Seeded:
    """What was pushed: digests by name."""

    single: str  # demo/app:1.0 (OCI)
    docker: str  # demo/app:1.1 (Docker v2)
    index: str  # multi/app:2.0 (OCI index, amd64 + arm64 + attestation)
    docker_list: str  # multi/app:2.1 (Docker manifest list, amd64 + arm/v7)


def seed(pusher: Pusher) -> Seeded:
    labels = {
        "org.opencontainers.image.source": "https://example.test/acme/app",
        "org.opencontainers.image.revision": "abc123",
    }
    single = pusher.tag("demo/app", ["1.0", "latest"], labels=labels)
    docker = pusher.tag("demo/app", ["1.1", "1.2", "2.0", "2.1"], fmt="docker", content=b"d")
    amd = pusher.push_image("multi/app", None, created="2024-03-01T00:00:00Z")
    arm = pusher.push_image("multi/app", None, arch="arm64", created="2024-03-01T00:00:01Z")
    attestation = pusher.push_image("multi/app", None, arch="unknown", os="unknown")
    attestation["annotations"] = {"vnd.docker.reference.type": "attestation-manifest"}
    index = pusher.push_index("multi/app", "2.0", [attestation, amd, arm])
    d_amd = pusher.push_image("multi/app", None, fmt="docker", created="2024-04-01T00:00:00Z")
    d_arm = pusher.push_image(
        "multi/app", None, fmt="docker", arch="arm", variant="v7", created="2024-04-01T00:00:02Z"
    )
    docker_list = pusher.push_index("multi/app", "2.1", [d_amd, d_arm], fmt="docker")
    return Seeded(single, docker, index, docker_list)


@pytest.fixture(scope="session")
def seeded(registry: Registry, pusher: Pusher) -> Seeded:
    return seed(pusher)


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Basic auth (htpasswd, bcrypt) with alice's images seeded."""
    workdir = tmp_path_factory.mktemp("basic")
    try:
        server = Registry(workdir, auth_config=htpasswd_config(workdir, {USER: PASSWORD}))
    except MissingServer as exc:
        need(exc)
    with server:
        session = requests.Session()
        session.auth = (USER, PASSWORD)
        seed(Pusher(server.url, session))
        yield server


@dataclass
class TokenSetup:
    registry: Registry
    tokens: TokenServer


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenSetup]:
    """Token auth: a JWT token server and a registry that trusts it; anonymous pull."""
    workdir = tmp_path_factory.mktemp("token")
    with TokenServer(
        workdir / "bundle.pem",
        users={USER: PASSWORD},
        refresh_tokens={IDENTITY_TOKEN: USER},
    ) as tokens:
        try:
            server = Registry(workdir, auth_config=tokens.auth_config())
        except MissingServer as exc:
            need(exc)
        with server:
            session = requests.Session()
            session.auth = PushAuth(tokens.realm, USER, PASSWORD)  # type: ignore[assignment]
            seed(Pusher(server.url, session))
            tokens.seen.clear()
            yield TokenSetup(server, tokens)


@pytest.fixture
def proxy(registry: Registry, seeded: Seeded) -> Iterator[FaultProxy]:
    """A fault-injecting proxy that pages tags two at a time."""
    with FaultProxy(registry.url, page_size=2) as server:
        yield server


@pytest.fixture
def docker_config(tmp_path: Path) -> Path:
    return tmp_path / "config.json"
