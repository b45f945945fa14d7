"""Daemon figures: push-to-commit latency through a registry webhook, and idle cost.

    PYTHONPATH=. python bench/bench_daemon.py [--pushes 10] [--sources 100] [--idle 30]

Everything runs on 127.0.0.1: a distribution registry whose notifications go to the
daemon, ``git daemon`` remotes, ``automator run`` as a subprocess. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testing import free_port
from testing.daemon import SECRET, notifications, write_config
from testing.fleet import DEPLOYMENT
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_daemon(config: Path, work: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOOK_SECRET": SECRET}
    log = (work / "daemon.log").open("wb")
    command = [sys.executable, "-m", "automator", "--log-format", "json", "run"]
    return subprocess.Popen(
        [*command, "--config", str(config)], env=env, stdout=log, stderr=log, cwd=work
    )


def wait_ready(port: int, bound: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < bound:
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok:
                return time.monotonic() - started
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"daemon not ready within {bound}s")


def tip(remote: Path) -> str:
    return git("rev-parse", "main", cwd=remote).strip()


def latency(work: Path, pushes: int) -> list[float]:
    port = free_port()
    with (
        Registry(work / "registry", auth_config=notifications(port)) as registry,
        GitDaemon(work / "remotes") as gitd,
    ):
        pusher = Pusher(registry.url)
        pusher.tag("acme/api", ["1.4.2"])
        image = f"{registry.host}/acme/api"
        remote = make_bare_repo(
            gitd.base / "fleet.git", {"apps/api.yaml": DEPLOYMENT.format(image=image)}
        )
        config = write_config(
            work / "latency.yaml", [("fleet", gitd.url("fleet.git"), registry.host)], port
        )
        proc = start_daemon(config, work)
        try:
            wait_ready(port, 60)
            times = []
            for patch in range(3, 3 + pushes):
                before = tip(remote)
                pusher.tag("acme/api", [f"1.4.{patch}"])
                pushed = time.monotonic()
                while tip(remote) == before:
                    if time.monotonic() - pushed > 30:
                        raise SystemExit(f"no commit for 1.4.{patch} within 30s")
                    time.sleep(0.005)
                times.append(time.monotonic() - pushed)
                time.sleep(0.2)
            return times
        finally:
            proc.terminate()
            proc.wait(30)
            log = (work / "daemon.log").read_text()
            Path("/tmp/bench-daemon.log").write_text(log)


def idle(work: Path, sources: int, seconds: float) -> tuple[float, float, float]:
    port = free_port()
    (work / "idle-remotes").mkdir()
    with Registry(work / "idle-registry") as registry, GitDaemon(work / "idle-remotes") as gitd:
        pusher = Pusher(registry.url)
        entries = []
        for i in range(sources):
            repo = f"acme/svc{i % 20}"  # 20 image repositories shared by 100 config repos
            if i < 20:
                pusher.tag(repo, ["1.4.2"])
            image = f"{registry.host}/{repo}"
            make_bare_repo(
                gitd.base / f"r{i}.git", {"apps/api.yaml": DEPLOYMENT.format(image=image)}
            )
            entries.append((f"s{i}", gitd.url(f"r{i}.git"), registry.host))
        config = write_config(work / "idle.yaml", entries, port)
        proc = start_daemon(config, work)
        try:
            ready = wait_ready(port, 300)
            time.sleep(1)
            cpu0 = cpu_seconds(proc.pid)
            time.sleep(seconds)
            return ready, cpu_seconds(proc.pid) - cpu0, rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)


def baseline(seconds: float) -> tuple[float, float]:
    proc = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds + 2})"])
    time.sleep(1)
    cpu0 = cpu_seconds(proc.pid)
    time.sleep(seconds)
    result = cpu_seconds(proc.pid) - cpu0, rss_mib(proc.pid)
    proc.wait()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=10)
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--idle", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "remotes").mkdir()
        times = latency(work, args.pushes)
        median = statistics.median(times)
        print(
            f"push-to-commit via webhook ({len(times)} pushes): median {median:.3f}s,"
            f" min {min(times):.3f}s, max {max(times):.3f}s"
        )
        ready, cpu, rss = idle(work, args.sources, args.idle)
        base_cpu, base_rss = baseline(args.idle)
        print(f"{args.sources} sources: ready (all first scans) after {ready:.1f}s")
        print(
            f"idle {args.idle:.0f}s: daemon CPU {cpu:.2f}s, RSS {rss:.1f} MiB;"
            f" baseline python sleep CPU {base_cpu:.2f}s, RSS {base_rss:.1f} MiB"
        )


if __name__ == "__main__":
    main()
