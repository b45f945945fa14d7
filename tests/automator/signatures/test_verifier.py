"""The signature gate against the real registry, signatures pushed in cosign's layout."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from automator.errors import ConfigError
from automator.reference import ImageRef, parse_reference
from automator.registry import RegistryClient, RegistrySettings
from automator.signatures import CosignVerifier, PublicKey, Trust, read_public_key
from policies import Refusal
from testing.cosign import (
    COSIGN_ARTIFACT,
    ReferrersProxy,
    Signer,
    push_fallback_index,
    push_referrer,
    simple_signing,
)
from testing.registry import OCI_MANIFEST, Pusher, Registry, canonical_json


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def key(signer: Signer, name: str = "cosign.pub") -> PublicKey:
    return read_public_key(signer.public_pem(), name)


def client_for(host: str) -> RegistryClient:
    return RegistryClient([RegistrySettings(host, insecure=True)])


def image_in(host: str, pusher: Pusher, *tags: str) -> tuple[ImageRef, str, dict[str, str]]:
    """A fresh repository with one image per tag; (image, repo, tag -> digest)."""
    repo = f"acme/signed-{uuid.uuid4().hex[:8]}"
    digests = {tag: pusher.tag(repo, [tag], content=tag.encode()) for tag in tags}
    return parse_reference(f"{host}/{repo}"), repo, digests


def check(verifier: CosignVerifier, image: ImageRef, tag: str) -> str | Refusal:
    return verifier.gate(image)(tag)


@pytest.mark.parametrize("kind", ["ecdsa", "ed25519"])
def test_a_signature_under_the_tag_convention_admits_the_digest(
    registry: Registry, pusher: Pusher, kind: str
) -> None:
    image, repo, digests = image_in(registry.host, pusher, "1.0.0")
    signer = Signer(kind)
    signer.push_signature(pusher, repo, digests["1.0.0"])
    verifier = CosignVerifier(client_for(registry.host), {"*": Trust((key(signer),))})
    assert check(verifier, image, "1.0.0") == digests["1.0.0"]


def test_unsigned_wrong_key_and_wrong_digest_are_refused_with_their_reason(
    registry: Registry, pusher: Pusher
) -> None:
    image, repo, digests = image_in(registry.host, pusher, "1", "2", "3", "4")
    ours, theirs = Signer(), Signer("ed25519")
    theirs.push_signature(pusher, repo, digests["2"])
    # a valid signature of digest 1, filed under digest 3: a replayed signature
    ours.push_signature(pusher, repo, digests["3"], payload=simple_signing(digests["1"], repo))
    # a payload altered after signing
    signed = ours.signature_manifest(pusher, repo, simple_signing(digests["4"], repo))
    tampered = simple_signing(digests["4"], repo + "-evil")
    ours_sig = signed["layers"][0]["annotations"]
    theirs_manifest = theirs.signature_manifest(pusher, repo, tampered)
    theirs_manifest["layers"][0]["annotations"] = ours_sig
    tag4 = digests["4"].replace(":", "-") + ".sig"
    pusher.push_manifest(repo, tag4, canonical_json(theirs_manifest), OCI_MANIFEST)

    verifier = CosignVerifier(client_for(registry.host), {"*": Trust((key(ours, "ours.pub"),))})
    reasons = {}
    for tag in ("1", "2", "3", "4"):
        verdict = check(verifier, image, tag)
        assert isinstance(verdict, Refusal) and verdict.code == "unsigned", verdict
        reasons[tag] = verdict.reason
    assert reasons["1"].endswith(
        "no cosign signature found (tag sha256-" + digests["1"][7:20] + "…, referrers)"
    )
    assert reasons["2"].endswith("the signature does not verify with ours.pub")
    assert reasons["3"].endswith(f"a signature for another digest ({digests['1'][:19]})")
    assert reasons["4"].endswith("the signature does not verify with ours.pub")
    assert all(reasons[t].startswith(digests[t][:19]) for t in reasons)


def test_no_trust_for_the_registry_is_a_config_error_and_asks_it_nothing(
    registry: Registry, pusher: Pusher
) -> None:
    image, _, _ = image_in(registry.host, pusher, "1.0.0")
    client = client_for(registry.host)
    verifier = CosignVerifier(client, {"elsewhere.example": Trust((key(Signer()),))})
    with pytest.raises(ConfigError, match=f"no cosign trust for {registry.host}; add cosign:"):
        check(verifier, image, "1.0.0")
    assert client.requests_sent == 0


def test_verdicts_are_cached_per_digest_and_a_refusal_is_retried_later(
    registry: Registry, pusher: Pusher
) -> None:
    image, repo, digests = image_in(registry.host, pusher, "1.0.0")
    signer, clock = Signer(), Clock()
    client = client_for(registry.host)
    verifier = CosignVerifier(
        client, {"*": Trust((key(signer),))}, retry_unsigned=60.0, clock=clock
    )
    assert isinstance(check(verifier, image, "1.0.0"), Refusal)
    signer.push_signature(pusher, repo, digests["1.0.0"])  # signed a little after the push
    assert isinstance(check(verifier, image, "1.0.0"), Refusal)  # the refusal is reused
    sent = client.requests_sent
    clock.now += 61
    assert check(verifier, image, "1.0.0") == digests["1.0.0"]
    assert (verifier.verified, verifier.reused) == (2, 1)
    after = client.requests_sent
    for _ in range(5):
        clock.now += 10_000  # a valid signature never expires
        assert check(verifier, image, "1.0.0") == digests["1.0.0"]
    assert (verifier.verified, verifier.reused) == (2, 6)
    # cold: the digest, the .sig tag's manifest and the payload; cached: the digest only
    assert after - sent == 3
    assert client.requests_sent - after == 5


def test_the_cache_is_bounded(registry: Registry, pusher: Pusher) -> None:
    image, repo, digests = image_in(registry.host, pusher, "a", "b", "c")
    signer = Signer()
    for digest in digests.values():
        signer.push_signature(pusher, repo, digest)
    verifier = CosignVerifier(
        client_for(registry.host), {"*": Trust((key(signer),))}, max_entries=2
    )
    for tag in ("a", "b", "c", "c", "a"):
        check(verifier, image, tag)
    assert (verifier.verified, verifier.reused) == (4, 1)  # "a" was evicted by "c"


def test_referrers_api_is_asked_when_the_registry_has_it(
    registry: Registry, pusher: Pusher
) -> None:
    with ReferrersProxy(registry.url) as proxy:
        image, repo, digests = image_in(proxy.host, pusher, "1.0.0", "2.0.0")
        signer = Signer()
        manifest = signer.signature_manifest(
            pusher, repo, simple_signing(digests["1.0.0"], repo), artifact=True
        )
        descriptor = push_referrer(pusher, repo, digests["1.0.0"], manifest, COSIGN_ARTIFACT)
        proxy.referrers[digests["1.0.0"]] = [descriptor]
        verifier = CosignVerifier(client_for(proxy.host), {"*": Trust((key(signer),))})
        assert check(verifier, image, "1.0.0") == digests["1.0.0"]
        assert proxy.asked == 1
        refused = check(verifier, image, "2.0.0")
        assert isinstance(refused, Refusal) and "no cosign signature found" in refused.reason
        assert proxy.asked == 2
        # the API answered (an empty index), so its fallback tag was never asked for
        fallback = "/manifests/" + digests["2.0.0"].replace(":", "-")
        assert not [p for _, p, _ in proxy.seen if p.endswith(fallback)]

        off = CosignVerifier(client_for(proxy.host), {"*": Trust((key(signer),), referrers=False)})
        assert isinstance(check(off, image, "1.0.0"), Refusal)
        assert proxy.asked == 2


def test_without_the_api_the_fallback_tag_lists_the_referrers(
    registry: Registry, pusher: Pusher
) -> None:
    image, repo, digests = image_in(registry.host, pusher, "1.0.0")
    signer = Signer("ed25519")
    manifest = signer.signature_manifest(
        pusher, repo, simple_signing(digests["1.0.0"], repo), artifact=True
    )
    descriptor = push_referrer(pusher, repo, digests["1.0.0"], manifest, COSIGN_ARTIFACT)
    push_fallback_index(pusher, repo, digests["1.0.0"], [descriptor])
    verifier = CosignVerifier(client_for(registry.host), {"*": Trust((key(signer),))})
    assert check(verifier, image, "1.0.0") == digests["1.0.0"]


@pytest.fixture
def rsa_pem() -> Iterator[bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    yield private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_only_p256_and_ed25519_keys_are_read(rsa_pem: bytes) -> None:
    with pytest.raises(ConfigError, match=r"rsa\.pub: only ECDSA P-256 and Ed25519 keys"):
        read_public_key(rsa_pem, "rsa.pub")
    with pytest.raises(ConfigError, match=r"junk\.pub: not a PEM public key"):
        read_public_key(b"junk", "junk.pub")


def test_cosign_s_legacy_keyless_layout_is_refused_by_name(
    registry: Registry, pusher: Pusher
) -> None:
    image, repo, digests = image_in(registry.host, pusher, "1.0.0")
    legacy = Signer()  # its key stands in for a Fulcio certificate's
    manifest = legacy.signature_manifest(pusher, repo, simple_signing(digests["1.0.0"], repo))
    annotations = manifest["layers"][0]["annotations"]
    annotations["dev.sigstore.cosign/certificate"] = "-----BEGIN CERTIFICATE-----..."
    annotations["dev.sigstore.cosign/bundle"] = '{"SignedEntryTimestamp": "..."}'
    tag = digests["1.0.0"].replace(":", "-") + ".sig"
    pusher.push_manifest(repo, tag, canonical_json(manifest), OCI_MANIFEST)
    verifier = CosignVerifier(client_for(registry.host), {"*": Trust((key(Signer()),))})
    verdict = check(verifier, image, "1.0.0")
    assert isinstance(verdict, Refusal)
    assert verdict.reason.endswith(
        "a keyless signature in cosign's legacy layout (no inclusion proof), not verified"
    )
