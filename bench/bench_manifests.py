"""Benchmark: scan + edit of a generated 10,000-file repo against a naive ruamel round trip.

    python bench/bench_manifests.py [--files 10000] [--runs 3] [--naive-runs 1]

Writes the repo into a temp dir (about 20% of files carry annotated or marked
images), then times, reading the files from disk each run:

* plan-equivalent: ``scan_files`` over every file, then ``edit_file`` of every Site;
* naive: ``ruamel.yaml.YAML()`` round-trip ``load_all`` + ``dump_all`` of every file.

Prints the median of each and their ratio. Targets: >= 20x faster, < 3 s.
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

from automator.manifests import edit_file, scan_files
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-runs", type=int, default=1)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
