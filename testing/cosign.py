"""cosign's registry layout, written by hand (there is no cosign binary here).

``Signer`` holds a throwaway key (ECDSA P-256 or Ed25519) and pushes signatures the
way cosign does: a ``sha256-<hex>.sig`` tag whose manifest has one simple-signing
layer per signature, the base64 signature in a layer annotation; or an OCI 1.1
referrer (a manifest with ``subject`` and ``artifactType``) that ``ReferrersProxy``
lists from the referrers API, which distribution 2.8 does not have.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from testing.proxy import FaultProxy, _send
from testing.registry import OCI_INDEX, OCI_MANIFEST, Pusher, canonical_json, sha256

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
COSIGN_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY = "application/vnd.oci.empty.v1+json"
_REFERRERS = re.compile(r"^/v2/(?P<repo>.+)/referrers/(?P<digest>sha256:[0-9a-f]{64})$")


def simple_signing(digest: str, reference: str) -> bytes:
    """The payload cosign signs for an image digest."""
    doc = {
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


class Signer:
    """A throwaway cosign key pair: ``kind`` is ``ecdsa`` (P-256) or ``ed25519``."""

    def __init__(self, kind: str = "ecdsa") -> None:
        self.kind = kind
        self.private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
        if kind == "ed25519":
            self.private = ed25519.Ed25519PrivateKey.generate()
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, payload: bytes) -> bytes:
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return self.private.sign(payload)
        return self.private.sign(payload, ec.ECDSA(hashes.SHA256()))

    def signature_manifest(
        self, pusher: Pusher, repo: str, payload: bytes, *, artifact: bool = False
    ) -> dict[str, Any]:
        """A signature manifest over ``payload`` (its blobs pushed); ``artifact``: OCI 1.1."""
        signature = base64.b64encode(self.sign(payload)).decode()
        layer = {
            "mediaType": SIMPLE_SIGNING,
            "digest": pusher.push_blob(repo, payload),
            "size": len(payload),
            "annotations": {SIGNATURE_ANNOTATION: signature},
        }
        config = b"{}"
        kind = COSIGN_ARTIFACT if artifact else "application/vnd.oci.image.config.v1+json"
        return {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": kind, "digest": pusher.push_blob(repo, config), "size": 2},
            "layers": [layer],
        }

    def push_signature(
        self, pusher: Pusher, repo: str, digest: str, *, payload: bytes | None = None
    ) -> str:
        """Sign ``digest`` under cosign's tag convention; returns the signature's tag."""
        payload = payload if payload is not None else simple_signing(digest, repo)
        manifest = self.signature_manifest(pusher, repo, payload)
        tag = digest.replace(":", "-") + ".sig"
        pusher.push_manifest(repo, tag, canonical_json(manifest), OCI_MANIFEST)
        return tag


def bundle_manifest(pusher: Pusher, repo: str, bundle: bytes) -> dict[str, Any]:
    """cosign 3's manifest around a Sigstore bundle (its blobs pushed), for ``push_referrer``."""
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": EMPTY, "digest": pusher.push_blob(repo, b"{}"), "size": 2},
        "layers": [
            {
                "mediaType": SIGSTORE_BUNDLE,
                "digest": pusher.push_blob(repo, bundle),
                "size": len(bundle),
            }
        ],
    }


def push_referrer(
    pusher: Pusher, repo: str, subject: str, manifest: dict[str, Any], artifact_type: str
) -> dict[str, Any]:
    """Push ``manifest`` as a referrer of ``subject`` (by digest, untagged); its descriptor."""
    doc = dict(manifest, artifactType=artifact_type)
    doc["subject"] = {"mediaType": OCI_MANIFEST, "digest": subject, "size": 0}
    body = canonical_json(doc)
    digest = pusher.push_manifest(repo, sha256(body), body, OCI_MANIFEST)
    return {
        "mediaType": OCI_MANIFEST,
        "digest": digest,
        "size": len(body),
        "artifactType": artifact_type,
    }


def push_fallback_index(
    pusher: Pusher, repo: str, subject: str, descriptors: list[dict[str, Any]]
) -> None:
    """The distribution spec's referrers fallback: an index tagged ``sha256-<hex>``."""
    body = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors})
    pusher.push_manifest(repo, subject.replace(":", "-"), body, OCI_INDEX)


class ReferrersProxy(FaultProxy):
    """The real registry behind a proxy that answers the OCI 1.1 referrers API.

    ``referrers[digest]`` lists the descriptors it serves; every other request goes to
    the registry. ``asked`` counts the referrers requests.
    """

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.referrers: dict[str, list[dict[str, Any]]] = {}
        self.asked = 0
        self._count = threading.Lock()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        match = _REFERRERS.match(h.path.split("?", 1)[0])
        if match is None:
            super()._handle(h)
            return
        with self._count:
            self.asked += 1
        found = self.referrers.get(match["digest"], [])
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found}
        _send(h, 200, json.dumps(index).encode(), {"Content-Type": OCI_INDEX})
