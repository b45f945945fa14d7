"""A large Helm repository index: read time, peak memory, and the 304 of the second read.

    PYTHONPATH=. python bench/bench_charts.py [--megabytes 20]

Generates an ``index.yaml`` of about the given size (charts with many versions, long
descriptions and maintainers, as real indexes have), serves it with nginx on 127.0.0.1
and reads it twice through ``HelmRepositories``. Prints figures; asserts nothing.
Memory: the process's max RSS around the reads, and Python's own peak (``tracemalloc``)
during a third, cold read (tracemalloc slows it; its time is not printed).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from automator.charts.repository import Access, HelmRepositories
from automator.http import HttpClient
from testing.helmrepo import HelmRepoServer

_ENTRY = """\
  - annotations:
      artifacthub.io/changes: |
        - kind: changed
          description: {pad}
    apiVersion: v2
    appVersion: {v}
    created: "2024-01-02T03:04:05.000000Z"
    description: {pad}
    digest: {digest}
    home: https://example.test/{c}
    maintainers:
    - email: someone@example.test
      name: someone
    name: {c}
    sources:
    - https://github.com/example/{c}
    urls:
    - https://charts.example.test/{c}-{v}.tgz
    version: {v}
"""


def generate(path: Path, megabytes: float) -> int:
    """Write an index of about ``megabytes`` MB; the number of versions in it."""
    target = int(megabytes * 1_000_000)
    written = versions = 0
    with path.open("w") as out:
        out.write("apiVersion: v1\nentries:\n")
        chart = 0
        while written < target:
            name = f"chart{chart}"
            out.write(f"  {name}:\n")
            for n in range(200):
                text = _ENTRY.format(
                    c=name,
                    v=f"{n // 100}.{n // 10 % 10}.{n % 10}",
                    pad="word " * 40,
                    digest=f"{n:064x}",
                )
                out.write(text)
                written += len(text)
                versions += 1
            chart += 1
        out.write('generated: "2024-01-02T03:04:05.000000Z"\n')
    return versions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=20.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "root" / "big").mkdir(parents=True)
        versions = generate(base / "root" / "big" / "index.yaml", args.megabytes)
        size = (base / "root" / "big" / "index.yaml").stat().st_size
        with HelmRepoServer(base / "run", base / "root") as server:
            repos = HelmRepositories(
                HttpClient(), lambda host: Access(insecure=True), cache_dir=base / "cache"
            )
            before = _max_rss_mib()
            for label in ("first read", "second read"):
                start = time.perf_counter()
                read = repos.read(server.url("big"))
                took = time.perf_counter() - start
                kept = sum(len(v) for v in read.index.charts.values())
                print(
                    f"{label}: HTTP {read.status}, {size / 1e6:.1f} MB index, {kept}/{versions}"
                    f" versions, {took:.2f} s, max RSS {before:.0f} -> {_max_rss_mib():.0f} MiB"
                )
            fresh = HelmRepositories(HttpClient(), lambda host: Access(insecure=True))
            tracemalloc.start()
            fresh.read(server.url("big"))
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"a cold read again, under tracemalloc: peak Python memory {peak / 2**20:.1f} MiB"
            )
    return 0


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    raise SystemExit(main())
