"""A large Helm repository index: read time and peak memory, streamed and as a baseline.

    PYTHONPATH=. python bench/bench_charts.py [--megabytes 20] [--limit-mib 64] [--safe-load]

Generates an ``index.yaml`` of about the given size (charts with many versions, long
descriptions and maintainers, as real indexes have; ``--megabytes 100`` for the large
option), serves it with nginx on 127.0.0.1 (as written, and gzip-encoded from an
``index.yaml.gz`` beside it) and reads it in fresh interpreters, one per case:

- ``streamed 200``: ``HelmRepositories.read`` as shipped, the body parsed as it arrives;
- ``streamed 304``: the second read, a new process with the first one's disk cache;
- ``streamed 304 warm``: the second read in the process that made the first (its
  memory cache; the first read is done before the clock and the RSS start);
- ``streamed 200 gzip``: the same first read of the gzip-encoded copy;
- ``whole-then-parse 200`` (baseline): the body read whole by ``Http.send`` (the path
  before streaming), then parsed from memory by the same parser;
- ``yaml.safe_load`` (baseline): PyYAML's C loader over the file, the whole document
  built (run by default up to 30 MB; ``--safe-load`` to run it at any size).

Each case prints its wall time and CPU time (this process's: on a shared machine the
CPU time is the steadier figure), the process's RSS before it and its high-water mark
during it (``VmHWM`` of a fresh interpreter, reset as the case starts), and
Python's own peak (``tracemalloc``) during a repeat of it (tracemalloc slows a run; that
repeat is not timed). Prints figures; asserts nothing.

The one setting is the body cap, ``HelmRepositories(limit=...)``: 64 MiB as shipped
(``--limit-mib``), so the 100 MB index is refused in one line unless it is raised;
streaming makes memory independent of it. The read sizes are fixed (the parser asks
for 16 KiB at a time, the socket is read 64 KiB at a time).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from automator.charts.index import ChartIndex, read_index
from automator.charts.repository import DEFAULT_LIMIT, Access, HelmRepositories
from automator.errors import AutomatorError
from automator.http import Deadline, HttpClient, MiB, Request
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
CASES = ("streamed 200", "streamed 304", "streamed 304 warm", "streamed 200 gzip")
BASELINE = "whole-then-parse 200"
LOAD = "yaml.safe_load"


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


def _case(
    name: str, url: str, cache: Path, file: Path, limit: int, seconds: float = 120.0
) -> Callable[[], tuple[str, int]]:
    """What one case runs: it returns the HTTP status (or "-") and the versions kept."""
    access = lambda host: Access(insecure=True)  # noqa: E731
    repos = HelmRepositories(HttpClient(), access, cache_dir=cache, limit=limit, seconds=seconds)
    if name.endswith("warm"):
        repos.read(url)  # the first read, before the clock starts

    def streamed() -> tuple[str, int]:
        read = repos.read(url)
        return str(read.status), _kept(read.index)

    def whole_then_parse() -> tuple[str, int]:
        request = Request("GET", f"{url}/index.yaml", limit=limit, timeout=(10.0, 60.0))
        reply = HttpClient().send(request, Deadline(seconds, url))
        return str(reply.status), _kept(read_index(reply.body, where=url))

    def safe_load() -> tuple[str, int]:
        import yaml

        with file.open("rb") as stream:
            doc = yaml.load(stream, Loader=yaml.CSafeLoader)
        return "-", sum(len(v) for v in doc["entries"].values())

    return {BASELINE: whole_then_parse, LOAD: safe_load}.get(name, streamed)


def _kept(index: ChartIndex) -> int:
    return sum(len(v) for v in index.charts.values())


def measure(name: str, url: str, cache: Path, file: Path, limit: int) -> dict[str, object]:
    """Run one case in this (fresh) interpreter: time and VmHWM, then a tracemalloc repeat."""
    try:
        run = _case(name, url, cache, file, limit)
        _reset_peak()
        before = _status_kib("VmRSS")
        start, cpu = time.perf_counter(), time.process_time()
        status, kept = run()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        peak_rss = _status_kib("VmHWM")
    except AutomatorError as exc:
        return {"case": name, "error": str(exc)}
    slow = 1800.0  # tracemalloc slows the repeat several times over: not the deadline's test
    if name == "streamed 304":  # a new client on the same disk cache: a 304 again
        run = _case(name, url, cache, file, limit, slow)
    elif not name.endswith("warm"):  # a new client on a new cache: a first read again
        run = _case(name, url, cache.with_name(cache.name + "-again"), file, limit, slow)
    tracemalloc.start()
    run()
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"case": name, "status": status, "kept": kept, "seconds": seconds, "cpu": cpu,
            "rss_before": before / 1024, "rss_peak": peak_rss / 1024,
            "python_peak": python_peak / MiB}  # fmt: skip


def _reset_peak() -> None:
    """Start VmHWM again from the current RSS (Linux 4.0+), so it covers the case alone."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _in_fresh_process(
    name: str, url: str, cache: Path, file: Path, limit: int
) -> dict[str, object]:
    argv = [sys.executable, __file__, "--measure", name, "--url", url]
    argv += ["--cache", str(cache), "--file", str(file), "--limit-mib", str(limit / MiB)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(argv, check=False, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"case": name, "error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return dict(json.loads(done.stdout.splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=20.0)
    parser.add_argument("--limit-mib", type=float, default=DEFAULT_LIMIT / MiB)
    parser.add_argument("--safe-load", action="store_true", help="the yaml.safe_load baseline")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one case, in a fresh process
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    limit = int(args.limit_mib * MiB)
    if args.measure:
        print(json.dumps(measure(args.measure, args.url, args.cache, args.file, limit)))
        return 0
    python = platform.python_version()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {python}")
    print(f"body cap: {limit / MiB:.0f} MiB" + (" (shipped)" if limit == DEFAULT_LIMIT else ""))
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        index = base / "root" / "big" / "index.yaml"
        index.parent.mkdir(parents=True)
        versions = generate(index, args.megabytes)
        (base / "root" / "gz").mkdir()
        (base / "root" / "gz" / "index.yaml").symlink_to(index)
        with (
            index.open("rb") as raw,
            gzip.open(base / "root" / "gz" / "index.yaml.gz", "wb") as out,
        ):
            while chunk := raw.read(MiB):
                out.write(chunk)
        size = index.stat().st_size
        packed = (base / "root" / "gz" / "index.yaml.gz").stat().st_size
        print(f"index.yaml: {size / 1e6:.1f} MB ({packed / 1e6:.2f} MB gzip), {versions} versions")
        cases = [*CASES, BASELINE]
        if args.safe_load or args.megabytes <= 30:
            cases.append(LOAD)
        with HelmRepoServer(base / "run", base / "root") as server:
            for name in cases:
                url = server.url("gz" if name.endswith("gzip") else "big")
                cache = base / ("cache-gz" if name.endswith("gzip") else "cache")
                cache = cache.with_name("cache-warm") if name.endswith("warm") else cache
                got = _in_fresh_process(name, url, cache, index, limit)
                if "error" in got:
                    print(f"{name:>22}: refused: {got['error']}")
                    continue
                print(
                    f"{name:>22}: HTTP {got['status']:>3}, {got['kept']} versions,"
                    f" {got['seconds']:6.2f} s ({got['cpu']:5.2f} s CPU),"
                    f" RSS {got['rss_before']:4.0f} -> peak {got['rss_peak']:5.0f} MiB,"
                    f" Python peak {got['python_peak']:6.1f} MiB"
                )
            cached = sum(p.stat().st_size for p in (base / "cache").glob("*"))
            print(f"disk cache (parsed form, JSON lines): {cached / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
