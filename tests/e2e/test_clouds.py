"""Cloud identity end to end: ``automator run --once`` against a registry that accepts
only the credentials each cloud's flow yields, minted through the SDK's own overrides
from a local emulator (moto, a GCE metadata server, an Azure AD authority and ACR's
``/oauth2/exchange``). Nothing inside automator is stubbed."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from testing import MissingServer
from testing.clouds import AcrFront, AzureAuthority, MetadataServer, MotoServer
from testing.fleet import DEPLOYMENT
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry, htpasswd_config
from testing.tls import make_tls
from testing.tokenserver import PushAuth, TokenServer
from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]
CLOUD_ENV = ("AWS_", "GOOGLE_", "GCE_", "CLOUDSDK_", "AZURE_", "MSI_", "IDENTITY_")
ACR_USER = "00000000-0000-0000-0000-000000000000"


def run_once(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, with only ``env``'s cloud identity."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(CLOUD_ENV)}
    return subprocess.run(
        [sys.executable, "-m", "automator", "run", "--once", "--config", str(config)],
        cwd=config.parent,
        env={**base, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def fleet_on(
    tmp_path: Path, git_daemon: GitDaemon, pusher: Pusher, host: str, provider: str
) -> tuple[Path, Path, str]:
    """api 1.4.2, 1.4.3, 1.5.0 on ``host``; a remote at 1.4.2; a config naming ``provider``."""
    repo = f"acme/api-{uuid.uuid4().hex[:8]}"
    pusher.tag(repo, ["1.4.2", "1.4.3", "1.5.0"])
    image = f"{host}/{repo}"
    remote = make_bare_repo(
        git_daemon.base / "fleet.git", {"apps/api.yaml": DEPLOYMENT.format(image=image)}
    )
    config = tmp_path / "automator.yaml"
    config.write_text(
        f"""\
sources:
  - name: fleet
    url: {git_daemon.url("fleet.git")}
    paths: [apps]
registries:
  - host: {host}
    insecure: true
    provider: {provider}
state_dir: {tmp_path / "state"}
"""
    )
    return remote, config, image


def assert_one_commit(remote: Path, image: str, result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert len(git("rev-list", "main", cwd=remote).split()) == 2
    text = git("show", "main:apps/api.yaml", cwd=remote)
    assert f"image: {image}:1.4.3 # pinned by automator" in text


def basic_registry(workdir: Path, user: str, password: str) -> Registry:
    workdir.mkdir(exist_ok=True)
    try:
        return Registry(workdir, auth_config=htpasswd_config(workdir, {user: password}))
    except MissingServer as exc:
        need(exc)
        raise


def test_aws_ecr_token_from_the_default_chain(tmp_path: Path, git_daemon: GitDaemon) -> None:
    try:
        moto = MotoServer(tmp_path)
    except MissingServer as exc:
        need(exc)
    aws = {
        "AWS_ENDPOINT_URL": "",
        "AWS_ACCESS_KEY_ID": "AKIDTESTING",
        "AWS_SECRET_ACCESS_KEY": "secret-testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "absent"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "absent"),
    }
    with moto:
        aws["AWS_ENDPOINT_URL"] = moto.url
        import boto3  # the test's own look at the token moto mints

        ecr = boto3.client(
            "ecr",
            endpoint_url=moto.url,
            region_name="us-east-1",
            aws_access_key_id="AKIDTESTING",
            aws_secret_access_key="secret-testing",
        )
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        user, _, password = base64.b64decode(token).decode().partition(":")
        with basic_registry(tmp_path / "registry", user, password) as registry:
            session = requests.Session()
            session.auth = (user, password)
            remote, config, image = fleet_on(
                tmp_path, git_daemon, Pusher(registry.url, session), registry.host, "aws"
            )
            anonymous = {**aws, "AWS_ACCESS_KEY_ID": "", "AWS_EC2_METADATA_DISABLED": "true"}
            refused = run_once(config, anonymous)  # no AWS identity: no token, no commit
            result = run_once(config, aws)
    assert "ecr:GetAuthorizationToken" in refused.stderr, refused.stderr
    assert_one_commit(remote, image, result)
    assert password not in result.stderr


def test_gcp_access_token_from_the_metadata_server(tmp_path: Path, git_daemon: GitDaemon) -> None:
    token = "ya29.c.test-" + uuid.uuid4().hex
    with (
        MetadataServer(token) as metadata,
        basic_registry(tmp_path / "registry", "oauth2accesstoken", token) as registry,
    ):
        session = requests.Session()
        session.auth = ("oauth2accesstoken", token)
        remote, config, image = fleet_on(
            tmp_path, git_daemon, Pusher(registry.url, session), registry.host, "gcp"
        )
        gcp = {
            "GCE_METADATA_HOST": metadata.host,
            "GCE_METADATA_IP": metadata.host,
            "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),  # no gcloud credentials to find
        }
        result = run_once(config, gcp)
    assert_one_commit(remote, image, result)
    assert metadata.token_requests == 1
    assert token not in result.stderr


@dataclass
class Acr:
    front: AcrFront
    authority: AzureAuthority
    tokens: TokenServer
    registry: Registry


@pytest.fixture
def acr(tmp_path: Path) -> Iterator[Acr]:
    """A token-mode registry behind ACR's exchange, and an AAD authority over TLS."""
    refresh = "acr-refresh-" + uuid.uuid4().hex
    aad = "aad-access-" + uuid.uuid4().hex
    (tmp_path / "federated-token").write_text("federated-sa-jwt-" + uuid.uuid4().hex)
    tls = make_tls(tmp_path, mutual=False)
    with TokenServer(tmp_path / "bundle.pem", users={ACR_USER: refresh}) as tokens:
        try:
            registry = Registry(tmp_path / "registry", auth_config=tokens.auth_config())
        except MissingServer as exc:
            need(exc)
        with (
            registry,
            AcrFront(registry.url, access_token=aad, refresh_token=refresh) as front,
            AzureAuthority(
                tls,
                assertion=(tmp_path / "federated-token").read_text(),
                client_id="automator-client",
                access_token=aad,
            ) as authority,
        ):
            yield Acr(front, authority, tokens, registry)


def test_azure_acr_exchange_from_workload_identity(
    tmp_path: Path, git_daemon: GitDaemon, acr: Acr
) -> None:
    front, authority, tokens = acr.front, acr.authority, acr.tokens
    session = requests.Session()
    session.auth = PushAuth(tokens.realm, ACR_USER, front.refresh_token)  # type: ignore[assignment]
    pusher = Pusher(acr.registry.url, session)
    remote, config, image = fleet_on(tmp_path, git_daemon, pusher, front.host, "azure")
    azure = {
        "AZURE_AUTHORITY_HOST": authority.url,
        "AZURE_CLIENT_ID": "automator-client",
        "AZURE_TENANT_ID": "tenant-0001",
        "AZURE_FEDERATED_TOKEN_FILE": str(tmp_path / "federated-token"),
        "REQUESTS_CA_BUNDLE": str(tmp_path / "ca.pem"),  # the authority's TLS
    }
    tokens.seen.clear()
    result = run_once(config, azure)
    assert_one_commit(remote, image, result)
    assert authority.token_requests == 1
    assert front.exchanges == [
        {"grant_type": "access_token", "service": front.host, "tenant": "tenant-0001"}
    ]
    assert all(auth.startswith("Basic ") for _, _, auth in tokens.seen)  # the refresh token
    assert front.refresh_token not in result.stderr


def test_a_missing_extra_is_one_line_at_startup(tmp_path: Path) -> None:
    config = tmp_path / "automator.yaml"
    config.write_text(
        "sources: [{name: s, url: file:///absent}]\n"
        "registries: [{host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com, provider: aws}]\n"
        f"state_dir: {tmp_path / 'state'}\n"
    )
    hide_boto3 = (  # as if automator[aws] were not installed
        "import sys; sys.modules['boto3'] = None; from automator.cli import main;"
        f" sys.exit(main(['run', '--once', '--config', {str(config)!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", hide_boto3],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "automator: error: registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com:"
        " provider aws needs `pip install automator[aws]`"
    ]
