"""cosign: in automator.yaml, globally and per registry, read into the gate by adapters."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from automator import adapters
from automator.config import parse_config
from automator.errors import ConfigError
from automator.reference import ImageRef, parse_reference
from policies import Refusal
from testing.cosign import SIGNATURE_ANNOTATION, SIMPLE_SIGNING, Signer, simple_signing
from testing.sigstore import Sigstore

DIGEST = "sha256:" + "ab" * 32
PAYLOAD_DIGEST = "sha256:" + "ef" * 32


class SignedStore:
    """A Store from memory: every tag is DIGEST, signed under the tag convention."""

    def __init__(self, signer: Signer) -> None:
        self.payload = simple_signing(DIGEST, "acme/api")
        self.signature = base64.b64encode(signer.sign(self.payload)).decode()
        self.hosts: list[str] = []

    def digest(self, image: ImageRef, tag: str | None = None) -> str:
        self.hosts.append(image.registry)
        return DIGEST

    def find_manifest(self, image: ImageRef, reference: str) -> tuple[str, dict[str, Any]] | None:
        if not reference.endswith(".sig"):
            return None
        layer = {
            "mediaType": SIMPLE_SIGNING,
            "digest": PAYLOAD_DIGEST,
            "size": len(self.payload),
            "annotations": {SIGNATURE_ANNOTATION: self.signature},
        }
        return "sha256:" + "00" * 32, {"layers": [layer]}

    def blob(self, image: ImageRef, digest: str) -> bytes:
        return self.payload

    def referrers(self, image: ImageRef, digest: str) -> list[dict[str, Any]] | None:
        return None


def base(**extra: Any) -> dict[str, Any]:
    return {"sources": [{"name": "fleet", "url": "https://git.example.test/fleet.git"}], **extra}


def test_a_registry_s_own_cosign_replaces_the_global_one(tmp_path: Path) -> None:
    ours, global_ = Signer(), Signer("ed25519")
    (tmp_path / "ours.pub").write_bytes(ours.public_pem())
    (tmp_path / "global.pub").write_bytes(global_.public_pem())
    config = parse_config(
        base(
            cosign={"keys": [str(tmp_path / "global.pub")]},
            registries=[
                {"host": "reg.acme.test", "cosign": {"keys": [str(tmp_path / "ours.pub")]}}
            ],
        )
    )
    store = SignedStore(ours)
    gate = adapters.signature_gate(config, store)
    assert gate.gate(parse_reference("reg.acme.test/acme/api"))("1.0.0") == DIGEST
    refused = gate.gate(parse_reference("ghcr.io/acme/api"))("1.0.0")
    assert isinstance(refused, Refusal)
    assert refused.reason.endswith(f"the signature does not verify with {tmp_path / 'global.pub'}")


def test_keyless_config_needs_a_trusted_root_and_reads_it(tmp_path: Path) -> None:
    signer = {"identity": "ci@acme.test", "issuer": "https://oidc.acme.test"}
    with pytest.raises(ConfigError, match="cosign: keyless needs trusted_root"):
        parse_config(base(cosign={"keyless": [signer]}))
    with pytest.raises(ConfigError, match="cosign: name at least one of keys or keyless"):
        parse_config(base(cosign={}))
    root = tmp_path / "trusted_root.json"
    root.write_text(json.dumps(Sigstore().trusted_root()))
    config = parse_config(base(cosign={"keyless": [signer], "trusted_root": str(root)}))
    gate = adapters.signature_gate(config, SignedStore(Signer()))
    refused = gate.gate(parse_reference("reg.acme.test/acme/api"))("1.0.0")
    assert isinstance(refused, Refusal)  # a key-based signature, and only keyless trust
    assert refused.reason.endswith("a key-based signature, and no cosign keys are configured")


def test_an_unreadable_or_foreign_key_is_a_config_error(tmp_path: Path) -> None:
    missing = parse_config(base(cosign={"keys": [str(tmp_path / "nope.pub")]}))
    with pytest.raises(ConfigError, match=r"cosign\.keys: cannot read .*nope\.pub"):
        adapters.signature_gate(missing, SignedStore(Signer()))
    (tmp_path / "text.pub").write_text("not a key")
    foreign = parse_config(base(cosign={"keys": [str(tmp_path / "text.pub")]}))
    with pytest.raises(ConfigError, match="not a PEM public key"):
        adapters.signature_gate(foreign, SignedStore(Signer()))


def test_without_cosign_the_gate_says_what_to_configure_and_asks_nothing() -> None:
    store = SignedStore(Signer())
    gate = adapters.signature_gate(parse_config(base()), store)
    with pytest.raises(ConfigError, match=r"add cosign: \(keys or keyless\) to automator\.yaml"):
        gate.gate(parse_reference("reg.acme.test/acme/api"))("1.0.0")
    assert store.hosts == []
