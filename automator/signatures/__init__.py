"""Signature gate for ``verify=cosign`` policies: cosign signatures in registries.

layout.py     where cosign keeps signatures (the .sig tag, OCI 1.1 referrers)
keys.py       ECDSA P-256 and Ed25519 public keys (key-based)
keyless.py    Sigstore bundles against a user-supplied trusted root (sigstore-python)
verifier.py   ``CosignVerifier``: the gate the plan passes to ``policies.select_tag``,
              with a bounded cache of verdicts per repository and digest
"""

from automator.signatures.keyless import Identity, Keyless
from automator.signatures.keys import PublicKey, read_public_key
from automator.signatures.verifier import ANY_REGISTRY, CosignVerifier, Store, Trust

__all__ = [
    "ANY_REGISTRY",
    "CosignVerifier",
    "Identity",
    "Keyless",
    "PublicKey",
    "Store",
    "Trust",
    "read_public_key",
]
