"""Scale: many small sources over many image repositories, one process against shards.

    PYTHONPATH=. python bench/bench_scale.py [--sources 2000] [--repos 5000] [--shards 4]

Everything runs on 127.0.0.1: one ``git daemon`` serving ``--sources`` small repos (5
files each, every file one workload whose image is one of ``--repos`` repositories on
a real distribution registry, each used by about ``5 * sources / repos`` files), and
``automator run`` daemons in ``dry-run`` mode. First one process owns every source,
then ``--shards`` processes (``--shard i/N``) share them. For each process it prints
the peak RSS, the CPU seconds of the first cycle (clones, listings, scans) and of a
second, warm cycle (fetches that bring nothing, listings, cached scans), and the
registry requests it made (``automator_registry_requests_total``) against the
repositories its sources use: each is listed once per cycle per replica that needs
it. Last, the fraction of sources that move when one more shard is added. Prints
figures; asserts nothing.

The end of a cycle is read from each daemon's log (one line per source), not by polling
``/metrics``: a scrape renders every source's series (about half a second of CPU at
2,000 sources), and polling it four times a second during the second cycle made that
cycle look dearer than the first. ``/metrics`` is read once after each cycle, its cost
printed apart and kept out of both cycles.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pygit2
import requests
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from automator.daemon.shards import Shard, owner, source_key
from automator.daemon.webhooks import sign
from automator.secrets import Secret
from bench.bench_daemon import cpu_seconds
from testing import free_port
from testing.daemon import SECRET
from testing.gitserver import GitDaemon
from testing.registry import Pusher, Registry

ROOT = Path(__file__).resolve().parents[1]
FILES = 5
WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{n}
  annotations: {{automator.dev/policy: "semver:^1"}}
spec:
  template:
    spec:
      containers:
        - {{name: app, image: "{image}:1.0.1"}}
"""


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_sources(base: Path, count: int, repos: int, host: str) -> dict[str, set[str]]:
    """``count`` bare repos under ``base``; returns each source's image repositories."""
    who = pygit2.Signature("bench", "bench@example.com")
    used: dict[str, set[str]] = {}
    for s in range(count):
        repo = pygit2.init_repository(str(base / f"src-{s}.git"), bare=True)
        apps = repo.TreeBuilder()
        used[f"src-{s}"] = set()
        for f in range(FILES):
            name = f"acme/app-{(s * FILES + f) % repos}"
            used[f"src-{s}"].add(name)
            text = WORKLOAD.format(n=f, image=f"{host}/{name}")
            apps.insert(f"app-{f}.yaml", repo.create_blob(text.encode()), pygit2.GIT_FILEMODE_BLOB)
        root = repo.TreeBuilder()
        root.insert("apps", apps.write(), pygit2.GIT_FILEMODE_TREE)
        repo.create_commit("refs/heads/main", who, who, "init", root.write(), [])
        repo.set_head("refs/heads/main")
    return used


def write_config(path: Path, count: int, git_port: int, host: str) -> None:
    lines = ["sources:"]
    for s in range(count):
        url = f"git://127.0.0.1:{git_port}/src-{s}.git"
        lines += [f"  - {{name: src-{s}, url: '{url}', paths: [apps]}}"]
    lines += [
        "write: {mode: dry-run}",
        f"registries: [{{host: '{host}', insecure: true}}]",
        "interval: 1h",  # the second cycle is asked for by one webhook naming every repository
        "webhooks: {secret_env: HOOK_SECRET, max_body_bytes: 16777216}",
    ]
    path.write_text("\n".join(lines) + "\n")


def every_repository(host: str, repos: int) -> bytes:
    """One distribution notification naming a push to every repository."""
    events = [
        {"action": "push", "target": {"repository": f"acme/app-{r}", "tag": "1.0.1"},
         "request": {"host": host}}
        for r in range(repos)
    ]  # fmt: skip
    return json.dumps({"events": events}).encode()


def metrics(port: int) -> dict[str, float]:
    """Each sample name summed over its labels."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


def reconciled(log: Path) -> int:
    """Reconciles a daemon has logged (each source logs one line per cycle, here)."""
    return log.read_bytes().count(b"up to date (")


def wait(check: Callable[[], bool], what: str, bound: float) -> None:
    started = time.monotonic()
    while time.monotonic() - started < bound:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{what}: not within {bound:.0f}s")


def run(work: Path, config: Path, shards: int, hook: bytes, bound: float) -> list[dict[str, float]]:
    """Start ``shards`` daemons; measure each over its first cycle and a second one."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOOK_SECRET": SECRET}
    procs = []
    for index in range(shards):
        port = free_port()
        command = [sys.executable, "-m", "automator", "--log-format", "json", "run"]
        command += ["--config", str(config), "--listen", f"127.0.0.1:{port}"]
        command += ["--state-dir", str(work / f"state-{shards}-{index}")]
        command += ["--shard", f"{index}/{shards}"]
        log = (work / f"daemon-{shards}-{index}.log").open("wb")
        procs.append((port, subprocess.Popen(command, env=env, stdout=log, stderr=log)))
    figures = []
    started = time.monotonic()
    try:
        for port, _ in procs:
            ready = f"http://127.0.0.1:{port}/readyz"
            wait(lambda u=ready: requests.get(u, timeout=10).ok, "the first cycle", bound)
        first_wall = time.monotonic() - started
        for index, (port, proc) in enumerate(procs):
            cold_cpu = cpu_seconds(proc.pid)
            first = metrics(port)
            figures.append(
                {
                    "owned": first["automator_shard_sources"],
                    "cold_cpu": cold_cpu,
                    "scrape_cpu": cpu_seconds(proc.pid) - cold_cpu,
                    "cold_requests": first.get("automator_registry_requests_total", 0.0),
                    "first_wall": first_wall,
                    "log": index,
                }
            )
        started = time.monotonic()
        for port, _ in procs:
            answer = requests.post(
                f"http://127.0.0.1:{port}/webhook/distribution",
                data=hook,
                headers={"X-Automator-Signature": sign(Secret(SECRET), hook)},
                timeout=60,
            )
            answer.raise_for_status()
        for (port, proc), figure in zip(procs, figures, strict=True):
            log = work / f"daemon-{shards}-{int(figure['log'])}.log"
            wait(lambda g=log, f=figure: reconciled(g) >= 2 * f["owned"], "the second cycle", bound)
            figure["warm_cpu"] = cpu_seconds(proc.pid) - figure["cold_cpu"] - figure["scrape_cpu"]
            second = metrics(port)
            figure["warm_requests"] = (
                second.get("automator_registry_requests_total", 0.0) - figure["cold_requests"]
            )
            figure["rss"] = peak_rss_mib(proc.pid)
            figure["second_wall"] = time.monotonic() - started
    finally:
        for _, proc in procs:
            proc.terminate()
        for _, proc in procs:
            proc.wait(60)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--repos", type=int, default=5000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--bound", type=float, default=3600.0, help="seconds a cycle may take")
    args = parser.parse_args(argv)
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python"
        f" {platform.python_version()}; {args.sources} sources x {FILES} files over"
        f" {args.repos} repositories; 1 process, then {args.shards} shards"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "git").mkdir()
        with Registry(work / "registry") as registry, GitDaemon(work / "git") as git_daemon:
            started = time.monotonic()
            pusher = Pusher(registry.url)
            for r in range(args.repos):
                pusher.tag(f"acme/app-{r}", ["1.0.0", "1.0.1"])
            used = make_sources(work / "git", args.sources, args.repos, registry.host)
            print(f"setup: {time.monotonic() - started:.0f} s")
            config = work / "automator.yaml"
            write_config(config, args.sources, git_daemon.port, registry.host)
            urls = {f"src-{s}": git_daemon.url(f"src-{s}.git") for s in range(args.sources)}
            hook = every_repository(registry.host, args.repos)
            for shards in (1, args.shards):
                report(shards, run(work, config, shards, hook, args.bound), used, urls)
            moved(list(urls.items()), args.shards)
    return 0


def report(
    shards: int, figures: list[dict[str, float]], used: dict[str, set[str]], urls: dict[str, str]
) -> None:
    print(f"\n{shards} process(es): first cycle {figures[0]['first_wall']:.1f} s wall,"
          f" second {max(f['second_wall'] for f in figures):.1f} s wall")  # fmt: skip
    print("  shard  sources  repos  peak RSS MiB  CPU s 1st  CPU s 2nd  requests 1st  2nd"
          "  CPU s /metrics")  # fmt: skip
    for index, f in enumerate(figures):
        mine = Shard(index, shards)
        repos = set().union(*(used[n] for n in used if mine.owns(n, urls[n])))
        print(f"  {index}/{shards}  {f['owned']:7.0f}  {len(repos):5d}  {f['rss']:12.0f}"
              f"  {f['cold_cpu']:9.1f}  {f['warm_cpu']:9.1f}  {f['cold_requests']:12.0f}"
              f"  {f['warm_requests']:4.0f}  {f['scrape_cpu']:14.2f}")  # fmt: skip
    owned = sum(f["owned"] for f in figures)
    print(f"  total: {sum(f['cold_requests'] for f in figures):.0f} and"
          f" {sum(f['warm_requests'] for f in figures):.0f} registry requests;"
          f" CPU per source per warm cycle"
          f" {1000 * sum(f['warm_cpu'] for f in figures) / owned:.1f} ms,"
          f" first cycle {1000 * sum(f['cold_cpu'] for f in figures) / owned:.1f} ms")  # fmt: skip


def moved(sources: list[tuple[str, str]], shards: int) -> None:
    keys = [source_key(name, url) for name, url in sources]
    count = sum(owner(k, shards) != owner(k, shards + 1) for k in keys)
    print(f"\nadding shard {shards + 1}: {count} of {len(keys)} sources move"
          f" ({count / len(keys):.1%}; 1/{shards + 1} = {1 / (shards + 1):.1%})")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
