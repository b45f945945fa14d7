"""Public keys that may sign images: ECDSA P-256 (cosign's default) and Ed25519.

cosign signs the simple-signing payload itself: ECDSA with SHA-256 (an ASN.1 DER
signature), or pure Ed25519 over the payload bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from automator.errors import ConfigError

Verifying = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One trusted key; ``name`` (its file) is what refusals and logs show."""

    name: str
    key: Verifying

    def verifies(self, signature: bytes, payload: bytes) -> bool:
        """True when ``signature`` over ``payload`` was made with this key."""
        try:
            if isinstance(self.key, ed25519.Ed25519PublicKey):
                self.key.verify(signature, payload)
            else:
                self.key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


def read_public_key(pem: bytes, name: str) -> PublicKey:
    """A ``PublicKey`` from PEM; raise ConfigError naming ``name`` for any other key."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        what = f"{name}: not a PEM public key; export one with cosign public-key"
        raise ConfigError(what) from exc
    if isinstance(key, ed25519.Ed25519PublicKey):
        return PublicKey(name, key)
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return PublicKey(name, key)
    raise ConfigError(f"{name}: only ECDSA P-256 and Ed25519 keys verify cosign signatures")
