"""The signature gate of ``verify=cosign`` policies, from ``cosign:`` in automator.yaml."""

from __future__ import annotations

from pathlib import Path

from automator.config import Config, Cosign
from automator.errors import ConfigError
from automator.signatures import (
    ANY_REGISTRY,
    CosignVerifier,
    Identity,
    Keyless,
    Store,
    Trust,
    read_public_key,
)


def signature_gate(config: Config, store: Store) -> CosignVerifier:
    """The gate, reading signatures through ``store``; keys and trusted roots read here.

    Built even without ``cosign:``: then a verify=cosign policy is an error Skip that
    says what to configure.
    """
    trust: dict[str, Trust] = {}
    if config.cosign is not None:
        trust[ANY_REGISTRY] = _trust(config.cosign, "cosign")
    for index, entry in enumerate(config.registries):
        if entry.cosign is not None:
            trust[entry.host] = _trust(entry.cosign, f"registries[{index}].cosign")
    return CosignVerifier(store, trust)


def _trust(cosign: Cosign, where: str) -> Trust:
    keys = []
    for path in cosign.keys:
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"{where}.keys: cannot read {path} ({exc.strerror})") from exc
        keys.append(read_public_key(pem, path))
    keyless = None
    if cosign.keyless and cosign.trusted_root is not None:
        signers = tuple(Identity(s.identity, s.issuer) for s in cosign.keyless)
        keyless = Keyless(cosign.trusted_root, signers)
    return Trust(tuple(keys), keyless, cosign.referrers)
