"""Where cosign keeps signatures in a registry, and what a signature manifest holds.

Two layouts, both read here without I/O:

- the tag convention: ``<repo>:sha256-<hex>.sig``, an OCI manifest whose layers are
  ``application/vnd.dev.cosign.simplesigning.v1+json`` payloads, each with its base64
  signature in the ``dev.cosignproject.cosign/signature`` annotation (key-based);
- OCI 1.1 referrers of the image (the referrers API, or the ``sha256-<hex>`` index the
  distribution spec's tag schema falls back to): the same simple-signing manifests
  (artifact type ``application/vnd.dev.cosign.artifact.sig.v1+json``), or a Sigstore
  bundle (``application/vnd.dev.sigstore.bundle.v0.3+json``, cosign 3), for keyless.

The payload (simple signing) names the digest it signs in
``critical.image.docker-manifest-digest``; a signature for another digest is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Final

SIMPLE_SIGNING: Final = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION: Final = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION: Final = "dev.sigstore.cosign/certificate"  # cosign's legacy keyless
COSIGN_ARTIFACT: Final = "application/vnd.dev.cosign.artifact.sig.v1+json"
SIGSTORE_BUNDLE: Final = "application/vnd.dev.sigstore.bundle.v0.3+json"
REFERRER_TYPES: Final = frozenset({COSIGN_ARTIFACT, SIGSTORE_BUNDLE})
MAX_LAYERS: Final = 16  # signature layers read per manifest
MAX_PAYLOAD: Final = 64 * 1024  # bytes of one payload or bundle


def signature_tag(digest: str) -> str:
    """cosign's tag for ``digest``'s signatures: ``sha256-<hex>.sig``."""
    return referrers_tag(digest) + ".sig"


def referrers_tag(digest: str) -> str:
    """The distribution spec's fallback tag for ``digest``'s referrers: ``sha256-<hex>``."""
    return digest.replace(":", "-", 1)


@dataclass(frozen=True, slots=True)
class Layer:
    """One signature layer: the blob to read, and for simple signing its signature."""

    kind: str  # SIMPLE_SIGNING or SIGSTORE_BUNDLE
    digest: str
    size: int
    signature: bytes = b""
    certificate: bool = False  # a legacy keyless signature (certificate in an annotation)


def signature_layers(doc: dict[str, Any]) -> list[Layer]:
    """The layers of a signature manifest that carry a signature or a bundle."""
    layers = doc.get("layers")
    found: list[Layer] = []
    for layer in layers if isinstance(layers, list) else []:
        if not isinstance(layer, dict) or len(found) >= MAX_LAYERS:
            continue
        kind, digest, size = layer.get("mediaType"), layer.get("digest"), layer.get("size")
        if not isinstance(digest, str) or not isinstance(size, int) or size > MAX_PAYLOAD:
            continue
        if kind == SIGSTORE_BUNDLE:
            found.append(Layer(kind, digest, size))
        elif kind == SIMPLE_SIGNING:
            annotations = layer.get("annotations")
            notes = annotations if isinstance(annotations, dict) else {}
            try:
                signature = base64.b64decode(str(notes.get(SIGNATURE_ANNOTATION)), validate=True)
            except (binascii.Error, ValueError):
                continue
            if signature:
                legacy = CERTIFICATE_ANNOTATION in notes
                found.append(Layer(kind, digest, size, signature, legacy))
    return found


def referrer_digests(descriptors: list[dict[str, Any]]) -> list[str]:
    """Digests of the referrers that may be cosign signatures or Sigstore bundles."""
    return [
        str(d["digest"])
        for d in descriptors
        if d.get("artifactType") in REFERRER_TYPES and isinstance(d.get("digest"), str)
    ]


def signed_digest(payload: bytes) -> str | None:
    """The digest a simple-signing payload signs, or None when it is not one."""
    try:
        doc = json.loads(payload)
        digest = doc["critical"]["image"]["docker-manifest-digest"]
    except (ValueError, KeyError, TypeError):
        return None
    return digest if isinstance(digest, str) else None
