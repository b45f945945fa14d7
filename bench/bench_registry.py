"""Registry client cycles against a local distribution 2.8, next to a bare-requests floor.

A cycle lists the tags of 500 repositories (``list_tags_many``) and resolves one tag's
digest in each. Cold: a new client and an empty cache. Warm: the same client again
(digests from the cache within their TTL, tags listed again). The floor is a bare
``requests.Session`` sending exactly the requests the client sent, with the same
concurrency. Prints medians of several runs. Run: ``python bench/bench_registry.py``.

The default-settings run (``--defaults-repos`` x ``--defaults-tags``, 50 x 30) times a
cold cycle with the shipped ``RegistrySettings`` against the same client with pacing
off (``requests_per_second: 0``), in the same run, and counts a warm cycle's requests
per repository. The goal: at most 1.2x the unpaced client, and 1 request per
repository warm. ``--defaults-only`` runs just that.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from automator import metrics
from automator.reference import ImageRef, parse_reference
from automator.registry import RegistryCache, RegistryClient, RegistrySettings
from automator.registry.manifests import MANIFEST_ACCEPT
from testing.registry import Pusher, Registry


def seed(
    registry: Registry, repos: int, workers: int, tags: int = 3, prefix: str = "bench"
) -> list[str]:
    """One image under many repositories: blobs cross-mounted, the same manifest re-PUT."""
    pusher = Pusher(registry.url)
    first = pusher.push_image(f"{prefix}/r0000", "1.0")
    body = pusher.session.get(
        f"{registry.url}/v2/{prefix}/r0000/manifests/1.0", headers={"Accept": first["mediaType"]}
    ).content
    manifest = json.loads(body)
    blobs = [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]
    names = [f"{prefix}/r{i:04d}" for i in range(repos)]
    versions = ["1.0", *(f"1.{i}" for i in range(1, tags - 1)), "2.0"][:tags]
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=workers))

    def one(name: str) -> None:
        if name != names[0]:
            for digest in blobs:
                session.post(
                    f"{registry.url}/v2/{name}/blobs/uploads/",
                    params={"mount": digest, "from": names[0]},
                ).raise_for_status()
        for tag in versions:
            pusher_put(session, registry.url, name, tag, body, first["mediaType"])

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, names))
    return names


def pusher_put(
    session: requests.Session, base: str, name: str, tag: str, body: bytes, kind: str
) -> None:
    session.put(
        f"{base}/v2/{name}/manifests/{tag}", data=body, headers={"Content-Type": kind}
    ).raise_for_status()


def client_cycle(client: RegistryClient, refs: list[ImageRef], workers: int, tags: int = 3) -> None:
    result = client.list_tags_many(refs)
    assert all(isinstance(v, list) and len(v) == tags for v in result.values()), result
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda r: client.digest(r, "1.0"), refs))


def floor_cycle(
    session: requests.Session, base: str, names: list[str], workers: int, heads: bool
) -> None:
    def tags(name: str) -> None:
        resp = session.get(f"{base}/v2/{name}/tags/list?n=1000", timeout=(5, 30))
        assert len(resp.json()["tags"]) == 3

    def head(name: str) -> None:
        resp = session.head(
            f"{base}/v2/{name}/manifests/1.0", headers={"Accept": MANIFEST_ACCEPT}, timeout=(5, 30)
        )
        assert resp.headers["Docker-Content-Digest"]

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(tags, names))
    if heads:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(head, names))


def timed(fn: Callable[..., None], *args: object) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def defaults_run(registry: Registry, workdir: Path, repos: int, tags: int, runs: int) -> bool:
    """Shipped defaults against the same client unpaced; True when within the goals."""
    names = seed(registry, repos, 8, tags, prefix="defaults")
    refs = [parse_reference(f"{registry.host}/{n}") for n in names]
    shipped = RegistrySettings(registry.host, insecure=True)
    unpaced = replace(shipped, requests_per_second=0)
    workers = shipped.max_concurrency
    cold: dict[str, list[float]] = {"shipped": [], "unpaced": []}
    warm_per_repo: list[float] = []
    waits_before = pacing_waits(registry.host)
    for run in range(runs):
        order = [("shipped", shipped), ("unpaced", unpaced)]
        for kind, settings in order if run % 2 == 0 else order[::-1]:
            cache = RegistryCache(workdir / f"defaults-{kind}-{run}.db")
            client = RegistryClient([settings], cache=cache)
            cold[kind].append(timed(client_cycle, client, refs, workers, tags))
            if kind == "shipped":
                before = client.requests_sent
                client_cycle(client, refs, workers, tags)
                warm_per_repo.append((client.requests_sent - before) / len(refs))
            client.close()
    waits = pacing_waits(registry.host) - waits_before  # our own pacing, every run
    shipped_ms = statistics.median(cold["shipped"]) * 1000
    unpaced_ms = statistics.median(cold["unpaced"]) * 1000
    ratio = shipped_ms / unpaced_ms
    warm = statistics.median(warm_per_repo)
    print(
        f"defaults: {repos} repositories x {tags} tags, requests_per_second"
        f" {shipped.requests_per_second:g}, burst {shipped.burst},"
        f" max_concurrency {shipped.max_concurrency}, runs {runs} (medians)"
    )
    print(
        f"cold : shipped {shipped_ms:7.0f} ms  unpaced {unpaced_ms:7.0f} ms  ratio {ratio:.2f}"
        f"  (goal <= 1.20: {'ok' if ratio <= 1.2 else 'MISSED'}); paced waits {waits:.0f}"
    )
    print(f"warm : requests/repository {warm:.2f}  (goal 1: {'ok' if warm <= 1.0 else 'MISSED'})")
    return ratio <= 1.2 and warm <= 1.0


def pacing_waits(host: str) -> float:
    """Requests to ``host`` that waited for its budget so far (the client's own metric)."""
    found = metrics.REGISTRY.get_sample_value("automator_rate_limit_waits_total", {"host": host})
    return found or 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repos", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--defaults-repos", type=int, default=50)
    parser.add_argument("--defaults-tags", type=int, default=30)
    parser.add_argument("--defaults-only", action="store_true")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    with Registry(workdir / "registry") as registry:
        met = defaults_run(registry, workdir, args.defaults_repos, args.defaults_tags, args.runs)
        if args.defaults_only:
            return 0 if met else 1
        started = time.perf_counter()
        names = seed(registry, args.repos, args.concurrency)
        print(f"seeded {len(names)} repositories x 3 tags in {time.perf_counter() - started:.1f}s")
        refs = [parse_reference(f"{registry.host}/{n}") for n in names]
        settings = RegistrySettings(
            registry.host, insecure=True, requests_per_second=0, max_concurrency=args.concurrency
        )
        figures: dict[str, list[float]] = {
            k: [] for k in ("cold", "warm", "floor_cold", "floor_warm")
        }
        per_repo: dict[str, list[float]] = {"cold": [], "warm": []}
        for run in range(args.runs):
            client = RegistryClient([settings], cache=RegistryCache(workdir / f"cache-{run}.db"))
            figures["cold"].append(timed(client_cycle, client, refs, args.concurrency))
            per_repo["cold"].append(client.requests_sent / len(refs))
            before = client.requests_sent
            figures["warm"].append(timed(client_cycle, client, refs, args.concurrency))
            per_repo["warm"].append((client.requests_sent - before) / len(refs))
            client.close()
            session = requests.Session()
            session.mount("http://", HTTPAdapter(pool_maxsize=args.concurrency))
            figures["floor_cold"].append(
                timed(floor_cycle, session, registry.url, names, args.concurrency, True)
            )
            figures["floor_warm"].append(
                timed(floor_cycle, session, registry.url, names, args.concurrency, False)
            )
        med = {k: statistics.median(v) for k, v in figures.items()}
        print(
            f"repositories {len(refs)}, concurrency {args.concurrency}, runs {args.runs} (medians)"
        )
        for kind in ("cold", "warm"):
            print(
                f"{kind:5}: client {med[kind] * 1000:7.0f} ms"
                f"  floor {med['floor_' + kind] * 1000:7.0f} ms"
                f"  ratio {med[kind] / med['floor_' + kind]:.2f}"
                f"  requests/repository {statistics.median(per_repo[kind]):.2f}"
            )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
