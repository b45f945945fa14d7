"""The signature gate of ``verify=cosign`` policies: is this tag's digest signed by
someone we trust? One verdict per repository and digest, kept in a bounded cache.

A tag is resolved to its digest; the digest's signatures are looked up in the
registry (cosign's ``sha256-<hex>.sig`` tag first, then the OCI 1.1 referrers API,
or its ``sha256-<hex>`` fallback tag when the registry has no such API) and checked
with the configured keys (``keys.py``) or, for Sigstore bundles, keyless against the
trusted root (``keyless.py``). The first valid signature admits the digest.

Verdicts are cached per (repository, digest): a valid signature for the life of the
process (a digest's content never changes), a refusal for ``retry_unsigned`` seconds
(a signature is often pushed a little after its image). A registry that fails while
we look is an error for the caller, never a verdict: nothing is cached then.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import policies
from automator.errors import ConfigError, RegistryError
from automator.reference import ImageRef, normalise_domain
from automator.signatures.keyless import Keyless
from automator.signatures.keys import PublicKey
from automator.signatures.layout import (
    SIGSTORE_BUNDLE,
    Layer,
    referrer_digests,
    referrers_tag,
    signature_layers,
    signature_tag,
    signed_digest,
)

ANY_REGISTRY: Final = "*"
MAX_ENTRIES: Final = 4096
RETRY_UNSIGNED: Final = 60.0
MAX_REFERRERS: Final = 16


class Store(Protocol):
    """What the gate reads from registries (``automator.registry.RegistryClient``)."""

    def digest(self, image: ImageRef, tag: str | None = None) -> str: ...

    def find_manifest(
        self, image: ImageRef, reference: str
    ) -> tuple[str, dict[str, Any]] | None: ...

    def blob(self, image: ImageRef, digest: str) -> bytes: ...

    def referrers(self, image: ImageRef, digest: str) -> list[dict[str, Any]] | None: ...


@dataclass(frozen=True, slots=True)
class Trust:
    """Who may sign the images of a registry: keys, keyless identities, or both."""

    keys: tuple[PublicKey, ...] = ()
    keyless: Keyless | None = None
    referrers: bool = True  # also look for signatures among the image's OCI 1.1 referrers


class CosignVerifier:
    """Implements ``automator.plan.Signatures``; thread-safe.

    ``trust`` maps a registry host (as image references name it) or ``"*"`` (every
    other registry) to a ``Trust``; asking about a registry with none raises ConfigError.
    """

    def __init__(
        self,
        store: Store,
        trust: Mapping[str, Trust],
        *,
        max_entries: int = MAX_ENTRIES,
        retry_unsigned: float = RETRY_UNSIGNED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._trust = {_host(k): v for k, v in trust.items()}
        self._max_entries = max_entries
        self._retry_unsigned = retry_unsigned
        self._clock = clock
        self._verdicts: OrderedDict[tuple[str, str], tuple[str | None, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.verified = 0  # verdicts reached by reading signatures (cold)
        self.reused = 0  # verdicts answered from the cache

    def gate(self, image: ImageRef) -> policies.Verify:
        """The check ``policies.select_tag`` runs on each candidate of ``image``."""
        trust = self._trust.get(normalise_domain(image.registry)) or self._trust.get(ANY_REGISTRY)

        def verify(tag: str) -> str | policies.Refusal:
            if trust is None:  # a configuration to fix, not a verdict on the tag
                raise ConfigError(
                    f"{image.canonical_name}: verify=cosign, and no cosign trust for"
                    f" {image.registry}; add cosign: (keys or keyless) to automator.yaml"
                )
            digest = self._store.digest(image, tag)
            problem = self.problem(image, digest, trust)
            if problem is None:
                return digest
            return policies.Refusal(tag, f"{digest[:19]}: {problem}", "unsigned")

        return verify

    def problem(self, image: ImageRef, digest: str, trust: Trust) -> str | None:
        """None when ``digest`` carries a signature ``trust`` accepts; else why not."""
        key = (image.canonical_name, digest)
        now = self._clock()
        with self._lock:
            cached = self._verdicts.get(key)
            if cached is not None and cached[1] > now:
                self._verdicts.move_to_end(key)
                self.reused += 1
                return cached[0]
        problem = self._look(image, digest, trust)
        expires = float("inf") if problem is None else now + self._retry_unsigned
        with self._lock:
            self.verified += 1
            self._verdicts[key] = (problem, expires)
            self._verdicts.move_to_end(key)
            while len(self._verdicts) > self._max_entries:
                self._verdicts.popitem(last=False)
        return problem

    def _look(self, image: ImageRef, digest: str, trust: Trust) -> str | None:
        first: str | None = None
        for layer in self._layers(image, digest, trust):
            try:
                blob = self._store.blob(image, layer.digest)
            except RegistryError as exc:
                if exc.transient:
                    raise
                first = first or f"a signature layer cannot be read ({exc})"
                continue
            problem = _layer_problem(layer, blob, digest, trust)
            if problem is None:
                return None
            first = first or problem
        where = f"tag {signature_tag(digest)[:20]}…" + (", referrers" if trust.referrers else "")
        return first or f"no cosign signature found ({where})"

    def _layers(self, image: ImageRef, digest: str, trust: Trust) -> Iterator[Layer]:
        """Signature layers, cheapest place first; read lazily, so the first valid one ends it."""
        found = self._store.find_manifest(image, signature_tag(digest))
        if found is not None:
            yield from signature_layers(found[1])
        if not trust.referrers:
            return
        descriptors = self._store.referrers(image, digest)
        if descriptors is None:  # no referrers API: the distribution spec's fallback tag
            index = self._store.find_manifest(image, referrers_tag(digest))
            listed = index[1].get("manifests") if index is not None else None
            listed = listed if isinstance(listed, list) else []
            descriptors = [d for d in listed if isinstance(d, dict)]
        for referrer in referrer_digests(descriptors)[:MAX_REFERRERS]:
            manifest = self._store.find_manifest(image, referrer)
            if manifest is not None:
                yield from signature_layers(manifest[1])


def _host(name: str) -> str:
    return name if name == ANY_REGISTRY else normalise_domain(name)


def _layer_problem(layer: Layer, blob: bytes, digest: str, trust: Trust) -> str | None:
    if layer.kind == SIGSTORE_BUNDLE:
        if trust.keyless is None:
            return "a keyless (Sigstore bundle) signature, and no cosign keyless identities"
        return trust.keyless.problem(blob, digest)
    signed = signed_digest(blob)
    if signed is None:
        return "a signature whose payload is not cosign simple signing"
    if signed != digest:
        return f"a signature for another digest ({signed[:19]})"
    if any(key.verifies(layer.signature, blob) for key in trust.keys):
        return None
    if layer.certificate:
        return "a keyless signature in cosign's legacy layout (no inclusion proof), not verified"
    if not trust.keys:
        return "a key-based signature, and no cosign keys are configured"
    names = ", ".join(key.name for key in trust.keys)
    return f"the signature does not verify with {names}"
