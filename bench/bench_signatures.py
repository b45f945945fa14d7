"""The signature gate's cost per digest, cold against cached, in the same run.

Images are pushed to a local distribution 2.8 and signed in cosign's layout: key-based
(ECDSA P-256 under the ``sha256-<hex>.sig`` tag) and keyless (Sigstore bundles from a
throwaway Sigstore, listed by the ``sha256-<hex>`` referrers fallback index). For each:

- cold: a new ``CosignVerifier`` verifies every digest (signature lookup, payload or
  bundle read, cryptographic checks), with the requests it sent per digest;
- cached: the same verifier asked again (the verdict cache, no request);
- floor: the cryptographic check alone (one ECDSA verify, or sigstore-python's
  ``verify_dsse`` on a parsed bundle), to show what the registry round trips cost.

The registry client runs without its rate limit (the default 20 requests a second
would make the cold figure 50 ms a request). Prints medians over several runs.
Run: ``python bench/bench_signatures.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from automator.reference import ImageRef, parse_reference
from automator.registry import RegistryClient, RegistrySettings
from automator.signatures import CosignVerifier, Identity, Keyless, Trust, read_public_key
from testing.cosign import (
    SIGSTORE_BUNDLE,
    Signer,
    bundle_manifest,
    push_fallback_index,
    push_referrer,
    simple_signing,
)
from testing.registry import Pusher, Registry
from testing.sigstore import Sigstore

SIGNER = Identity("ci@acme.test", "https://oidc.acme.test")


def median_ms(runs: int, work: Callable[[], None], per: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000 / per)
    return statistics.median(times)


def seed(pusher: Pusher, repo: str, count: int) -> list[str]:
    return [pusher.tag(repo, [f"1.{i}.0"], content=f"{repo}{i}".encode()) for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digests", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Registry(Path(tmp) / "registry") as registry:
        pusher = Pusher(registry.url)
        signer, sigstore = Signer(), Sigstore()
        keyed = seed(pusher, "bench/keyed", args.digests)
        for digest in keyed:
            signer.push_signature(pusher, "bench/keyed", digest)
        keyless_digests = seed(pusher, "bench/keyless", args.digests)
        bundles = {}
        for digest in keyless_digests:
            bundles[digest] = sigstore.bundle(digest, SIGNER.identity, SIGNER.issuer)
            manifest = bundle_manifest(pusher, "bench/keyless", bundles[digest])
            descriptor = push_referrer(pusher, "bench/keyless", digest, manifest, SIGSTORE_BUNDLE)
            push_fallback_index(pusher, "bench/keyless", digest, [descriptor])
        root = Path(tmp) / "trusted_root.json"
        root.write_text(json.dumps(sigstore.trusted_root()))
        key = read_public_key(signer.public_pem(), "cosign.pub")
        keyless = Keyless(str(root), (SIGNER,))
        payload = simple_signing(keyed[0], "bench/keyed")
        signature = signer.sign(payload)

        def case(
            name: str, repo: str, digests: list[str], trust: Trust, floor: Callable[[], None]
        ) -> None:
            image: ImageRef = parse_reference(f"{registry.host}/{repo}")
            # no rate limit: the figure is the verification, not the 20/s default pacing
            settings = [RegistrySettings(registry.host, insecure=True, requests_per_second=0)]
            sent: list[int] = []
            warm: list[CosignVerifier] = []

            def cold() -> None:
                client = RegistryClient(settings)
                verifier = CosignVerifier(client, {"*": trust})
                for digest in digests:
                    assert verifier.problem(image, digest, trust) is None
                sent.append(client.requests_sent)
                warm[:] = [verifier]

            cold_ms = median_ms(args.runs, cold, len(digests))

            def cached() -> None:
                for digest in digests:
                    assert warm[0].problem(image, digest, trust) is None

            cached_ms = median_ms(args.runs, cached, len(digests))
            floor_ms = median_ms(args.runs, floor, 1)
            requests = statistics.median(sent) / len(digests)
            print(
                f"{name:<10} cold {cold_ms:8.3f} ms/digest ({requests:.1f} requests)"
                f"   cached {cached_ms * 1000:8.2f} µs/digest"
                f"   crypto floor {floor_ms:7.3f} ms   cold/cached {cold_ms / cached_ms:,.0f}x"
            )

        def ecdsa_floor() -> None:
            assert key.verifies(signature, payload)

        first = keyless_digests[0]

        def keyless_floor() -> None:
            assert keyless.problem(bundles[first], first) is None

        print(f"{args.digests} digests, median of {args.runs} runs, distribution 2.8 on loopback")
        case("key-based", "bench/keyed", keyed, Trust((key,)), ecdsa_floor)
        case("keyless", "bench/keyless", keyless_digests, Trust(keyless=keyless), keyless_floor)


if __name__ == "__main__":
    main()
