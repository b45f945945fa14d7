"""Benchmark: scan + edit of a generated 10,000-file repo against a naive ruamel round trip.

    python bench/bench_manifests.py [--files 10000] [--runs 3] [--naive-runs 1]

Writes the repo into a temp dir (about 20% of files carry annotated or marked
images), then times, reading the files from disk each run:

* plan-equivalent: ``scan_files`` over every file, then ``edit_file`` of every Site;
* naive: ``ruamel.yaml.YAML()`` round-trip ``load_all`` + ``dump_all`` of every file.

Prints the median of each and their ratio. Targets: >= 20x faster, < 3 s.

Then the steady state of the daemon's scan cache (``--steady-files``, default 100,000,
0 to skip): the same kind of files committed to a Git repo, scanned as the engine scans
a source (``scan_source``) cold without a cache, then with a warm cache on the same
commit (target: at most 5% of cold) and after a one-file commit (at most 10%).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pygit2

from automator.engine import scan_source
from automator.git import Snapshot
from automator.manifests import edit_file, scan_files
from automator.manifests.cache import ScanCache
from automator.model import Change

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  labels: {{app: app-{i}, tier: "backend"}}
  annotations:
{annotations}spec:
  replicas: 2
  selector:
    matchLabels:
      app: app-{i}
  template:
    metadata:
      labels:
        app: app-{i}
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/app-{i}:1.{i}.0
          ports:
            - containerPort: 8080  # http
          env:
            - name: MODE
              value: "production"
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
        - name: proxy
          image: "docker.io/envoyproxy/envoy:v1.30.{i}"
---
apiVersion: v1
kind: Service
metadata:
  name: app-{i}
spec:
  ports:
  - port: 80
    targetPort: 8080
"""
VALUES = """\
# Helm values for app-{i}
image:
  registry: ghcr.io
  repository: acme/web-{i}
  tag: 2.{i}.1 {marker}
  pullPolicy: IfNotPresent
replicaCount: 3
service:
  type: ClusterIP
  port: 80
"""


def generate(root: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        annotated = i % 5 == 0  # 20%
        if i % 2:
            text = VALUES.format(i=i, marker="# automator: semver:~2" if annotated else "")
            path = root / f"apps/app-{i % 100}/values-{i}.yaml"
        else:
            annotations = '    automator.dev/policy: "semver:^1"\n' if annotated else "    a: b\n"
            text = DEPLOYMENT.format(i=i, annotations=annotations)
            path = root / f"apps/app-{i % 100}/deploy-{i}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(path)
    return paths


def plan(root: Path, paths: list[Path]) -> tuple[int, int]:
    files = [(p.relative_to(root).as_posix(), p.read_bytes()) for p in paths]
    result = scan_files(files)
    by_file: dict[str, list[Change]] = {}
    for site in result.sites:
        new = "9.9.9" if site.part.value == "tag" else f"{site.image.name}:9.9.9"
        by_file.setdefault(site.file, []).append(Change(site, site.value, new, site.image, "b"))
    data = dict(files)
    for path, changes in by_file.items():
        edit_file(path, data[path], changes)
    return len(result.sites), len(by_file)


def naive(paths: list[Path]) -> int:
    from ruamel.yaml import YAML

    yaml = YAML()
    for path in paths:
        out = io.StringIO()
        yaml.dump_all(list(yaml.load_all(path.read_text())), out)
    return len(paths)


def timed(function, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def commit_tree(repo: pygit2.Repository, files: dict[str, bytes], parent: list[str]) -> str:
    """Commit ``files`` (path -> bytes) as the whole tree; return the commit id."""
    tree: dict[str, object] = {}
    for path, data in files.items():
        *dirs, name = path.split("/")
        node = tree
        for part in dirs:
            node = node.setdefault(part, {})  # type: ignore[assignment]
        node[name] = data  # type: ignore[index]

    def write(node: dict[str, object]) -> pygit2.Oid:
        builder = repo.TreeBuilder()
        for name, value in sorted(node.items()):
            if isinstance(value, dict):
                builder.insert(name, write(value), pygit2.enums.FileMode.TREE)
            else:
                builder.insert(name, repo.create_blob(value), pygit2.enums.FileMode.BLOB)
        return builder.write()

    who = pygit2.Signature("bench", "bench@example.com")
    oid = repo.create_commit(None, who, who, "bench", write(tree), parent)
    return str(oid)


def steady_state(root: Path, count: int) -> None:
    """Cold scan against a warm cache on the same commit and after a one-file commit."""
    files = {}
    for path in generate(root / "files", count):
        files[path.relative_to(root / "files").as_posix()] = path.read_bytes()
    repo = pygit2.init_repository(str(root / "repo.git"), bare=True)
    first = commit_tree(repo, files, [])
    changed = sorted(p for p in files if "automator" in files[p].decode())[len(files) // 20]
    files[changed] = files[changed].replace(b"1.", b"7.", 1)
    second = commit_tree(repo, files, [first])

    def scan(commit: str, cache: ScanCache | None) -> tuple[float, int, int]:
        start = time.perf_counter()
        result = scan_source(Snapshot(repo, commit), ["."], cache=cache)
        return time.perf_counter() - start, result.files_parsed, len(result.sites)

    cold, parsed, sites = scan(first, None)
    print(f"steady state: {count} files in Git, {sites} sites")
    print(f"  cold scan, no cache:        {cold:.3f} s, {parsed} files parsed")
    cache = ScanCache()
    filling, parsed, _ = scan(first, cache)
    print(f"  cold scan, filling a cache: {filling:.3f} s, {parsed} files parsed")
    same, parsed, _ = scan(first, cache)
    print(f"  no new commit:              {same:.4f} s, {parsed} files parsed;"
          f" {same / cold:.1%} of cold (target <= 5%)")  # fmt: skip
    one, parsed, _ = scan(second, cache)
    print(f"  one-file commit:            {one:.4f} s, {parsed} files parsed;"
          f" {one / cold:.1%} of cold (target <= 10%)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-runs", type=int, default=1)
    parser.add_argument("--steady-files", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = generate(root, args.files)
        size = sum(p.stat().st_size for p in paths)
        print(f"repo: {len(paths)} files, {size / 1e6:.1f} MB in {root}")
        fast = []
        for _ in range(args.runs):
            seconds, (sites, edited) = timed(plan, root, paths)
            fast.append(seconds)
        print(f"scan + edit: median {statistics.median(fast):.3f} s over {args.runs} runs"
              f" ({sites} sites, {edited} files edited)")  # fmt: skip
        slow = [timed(naive, paths)[0] for _ in range(args.naive_runs)]
        print(f"naive ruamel round trip: median {statistics.median(slow):.3f} s")
        print(f"ratio: {statistics.median(slow) / statistics.median(fast):.1f}x faster")
        if args.steady_files:
            steady_state(root / "steady", args.steady_files)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
