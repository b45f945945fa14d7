"""TLS verified by default, a custom CA bundle, and client certificates (mTLS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from automator.errors import RegistryError
from automator.reference import parse_reference
from automator.registry import RegistryClient, RegistrySettings
from testing import MissingServer
from testing.registry import Pusher, Registry
from testing.tls import make_tls
from tests.conftest import need


@pytest.fixture(scope="module")
def mtls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    workdir = tmp_path_factory.mktemp("mtls")
    tls = make_tls(workdir, mutual=True)
    try:
        server = Registry(workdir, tls=tls)
    except MissingServer as exc:
        need(exc)
    with server:
        pusher = Pusher(server.url)
        pusher.session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        pusher.session.verify, pusher.session.cert = str(tls.ca), tls.client
        pusher.tag("secure/app", ["1.0"])
        yield server


def test_ca_bundle_and_client_certificate(mtls_registry: Registry) -> None:
    tls = mtls_registry.tls
    assert tls is not None and tls.client is not None
    settings = RegistrySettings(
        mtls_registry.host,
        ca_bundle=str(tls.ca),
        client_cert=tls.client[0],
        client_key=tls.client[1],
    )
    client = RegistryClient([settings])
    assert client.list_tags(parse_reference(f"{mtls_registry.host}/secure/app")) == ["1.0"]


def test_unknown_ca_is_refused_with_a_hint(mtls_registry: Registry) -> None:
    client = RegistryClient([RegistrySettings(mtls_registry.host, deadline=5)])
    with pytest.raises(RegistryError, match="ca_bundle") as info:
        client.list_tags(parse_reference(f"{mtls_registry.host}/secure/app"))
    assert not info.value.transient


def test_missing_client_certificate_fails(mtls_registry: Registry) -> None:
    tls = mtls_registry.tls
    assert tls is not None
    client = RegistryClient(
        [RegistrySettings(mtls_registry.host, ca_bundle=str(tls.ca), deadline=5, max_attempts=2)]
    )
    with pytest.raises(RegistryError):
        client.list_tags(parse_reference(f"{mtls_registry.host}/secure/app"))
