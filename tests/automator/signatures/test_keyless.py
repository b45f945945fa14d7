"""Keyless: Sigstore bundles from a throwaway Sigstore, verified offline by sigstore-python
against its trusted root, found as OCI 1.1 referrers of the image in the real registry."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from automator.errors import ConfigError
from automator.reference import parse_reference
from automator.registry import RegistryClient, RegistrySettings
from automator.signatures import CosignVerifier, Identity, Keyless, Trust, read_public_key
from policies import Refusal
from testing.cosign import (
    SIGSTORE_BUNDLE,
    ReferrersProxy,
    Signer,
    bundle_manifest,
    push_fallback_index,
    push_referrer,
)
from testing.registry import Pusher, Registry
from testing.sigstore import Sigstore

CI = Identity("ci@acme.test", "https://oidc.acme.test")
WORKFLOW = Identity(
    "https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main",
    "https://token.actions.githubusercontent.com",
)
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def sigstore() -> Sigstore:
    return Sigstore()


@pytest.fixture
def keyless(sigstore: Sigstore, tmp_path: Path) -> Keyless:
    root = tmp_path / "trusted_root.json"
    root.write_text(json.dumps(sigstore.trusted_root()))
    return Keyless(str(root), (CI, WORKFLOW))


@pytest.mark.parametrize("signer", [CI, WORKFLOW])
def test_a_trusted_identity_and_issuer_pass(
    sigstore: Sigstore, keyless: Keyless, signer: Identity
) -> None:
    assert keyless.problem(sigstore.bundle(DIGEST, signer.identity, signer.issuer), DIGEST) is None


def test_each_way_of_being_wrong_is_refused_with_its_reason(
    sigstore: Sigstore, keyless: Keyless
) -> None:
    good = sigstore.bundle(DIGEST, CI.identity, CI.issuer)
    assert keyless.problem(good, "sha256:" + "cd" * 32) == "keyless signature is for another digest"
    stranger = sigstore.bundle(DIGEST, "evil@acme.test", CI.issuer)
    assert keyless.problem(stranger, DIGEST) == (
        "keyless signature from evil@acme.test (issuer https://oidc.acme.test),"
        " not one of the cosign.keyless signers"
    )
    other_issuer = sigstore.bundle(DIGEST, CI.identity, "https://accounts.evil.test")
    assert "(issuer https://accounts.evil.test)" in str(keyless.problem(other_issuer, DIGEST))
    provenance = sigstore.bundle(
        DIGEST, CI.identity, CI.issuer, predicate="https://slsa.dev/provenance/v1"
    )
    assert keyless.problem(provenance, DIGEST) == (
        "keyless bundle is an attestation (https://slsa.dev/provenance/v1), not a signature"
    )
    elsewhere = Sigstore().bundle(DIGEST, CI.identity, CI.issuer)  # another CA and logs
    assert str(keyless.problem(elsewhere, DIGEST)).startswith(
        f"keyless signature does not verify against {keyless.name}: failed to build"
    )
    doc = json.loads(good)
    doc["dsseEnvelope"]["payload"] = doc["dsseEnvelope"]["payload"][:-4] + "AAA="
    assert "does not verify" in str(keyless.problem(json.dumps(doc).encode(), DIGEST))
    assert str(keyless.problem(b"{}", DIGEST)).startswith(
        "keyless signature is not a valid Sigstore bundle"
    )


def test_a_trusted_root_that_is_not_one_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "root.json"
    bad.write_text("{}")
    with pytest.raises(ConfigError, match="not a usable Sigstore trusted root"):
        Keyless(str(bad), (CI,))


def test_bundles_are_found_among_the_referrers(
    registry: Registry, pusher: Pusher, sigstore: Sigstore, keyless: Keyless
) -> None:
    repo = f"acme/keyless-{uuid.uuid4().hex[:8]}"
    signed = pusher.tag(repo, ["1.0.0"], content=b"1")
    fallback = pusher.tag(repo, ["1.1.0"], content=b"2")
    trust = {"*": Trust(keyless=keyless)}
    with ReferrersProxy(registry.url) as proxy:
        bundle = sigstore.bundle(signed, CI.identity, CI.issuer)
        manifest = bundle_manifest(pusher, repo, bundle)
        proxy.referrers[signed] = [push_referrer(pusher, repo, signed, manifest, SIGSTORE_BUNDLE)]
        client = RegistryClient([RegistrySettings(proxy.host, insecure=True)])
        gate = CosignVerifier(client, trust).gate(parse_reference(f"{proxy.host}/{repo}"))
        assert gate("1.0.0") == signed
        assert isinstance(gate("1.1.0"), Refusal)
    # distribution 2.8 itself: no referrers API, so the sha256-<hex> index is read
    bundle = sigstore.bundle(fallback, WORKFLOW.identity, WORKFLOW.issuer)
    descriptor = push_referrer(
        pusher, repo, fallback, bundle_manifest(pusher, repo, bundle), SIGSTORE_BUNDLE
    )
    push_fallback_index(pusher, repo, fallback, [descriptor])
    client = RegistryClient([RegistrySettings(registry.host, insecure=True)])
    gate = CosignVerifier(client, trust).gate(parse_reference(f"{registry.host}/{repo}"))
    assert gate("1.1.0") == fallback
    refused = gate("1.0.0")  # its bundle is listed only by the proxy's API
    assert isinstance(refused, Refusal) and "no cosign signature found" in refused.reason


def test_a_bundle_without_keyless_trust_is_refused_not_ignored(
    registry: Registry, pusher: Pusher, sigstore: Sigstore
) -> None:
    repo = f"acme/keyless-{uuid.uuid4().hex[:8]}"
    digest = pusher.tag(repo, ["1.0.0"])
    bundle = sigstore.bundle(digest, CI.identity, CI.issuer)
    descriptor = push_referrer(
        pusher, repo, digest, bundle_manifest(pusher, repo, bundle), SIGSTORE_BUNDLE
    )
    push_fallback_index(pusher, repo, digest, [descriptor])
    client = RegistryClient([RegistrySettings(registry.host, insecure=True)])

    keys = (read_public_key(Signer().public_pem(), "cosign.pub"),)
    gate = CosignVerifier(client, {"*": Trust(keys)}).gate(
        parse_reference(f"{registry.host}/{repo}")
    )
    refused = gate("1.0.0")
    assert isinstance(refused, Refusal)
    assert refused.reason.endswith(
        "a keyless (Sigstore bundle) signature, and no cosign keyless identities"
    )
