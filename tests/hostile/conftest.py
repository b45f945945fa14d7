"""Fixtures for the hostile-input campaign: a lying registry, and the CLI as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing.hostile_registry import HostileRegistry, gzip_bomb

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileRegistry]:
    gzip_bomb()  # built before any client waits on it
    with HostileRegistry(drip=0.2) as server:
        yield server


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float  # the CLI process's own peak (VmHWM), read as it exits


# Runs the CLI and, as the interpreter exits, writes its own VmHWM. Linux carries the
# parent's peak RSS into a child's rusage across fork and exec, so wait4's ru_maxrss
# would count the test runner; VmHWM belongs to the new address space alone.
PEAK_WRAPPER = """
import atexit, os, runpy, sys
def report():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(os.environ["AUTOMATOR_TEST_PEAK_FILE"], "w").write(line.split()[1])
atexit.register(report)
sys.argv = ["automator", *sys.argv[1:]]
runpy.run_module("automator", run_name="__main__", alter_sys=True)
"""


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    """``python -m automator ARGS`` in a subprocess, with its own peak RSS."""
    out, err, peak = cwd / "cli.out", cwd / "cli.err", cwd / "cli.peak"
    peak.unlink(missing_ok=True)
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", PEAK_WRAPPER, *args],
            cwd=cwd,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "AUTOMATOR_TEST_PEAK_FILE": str(peak),
                **(env or {}),
            },
            stdout=stdout,
            stderr=stderr,
        )
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                proc.kill()
                pytest.fail(f"automator {' '.join(args)} ran past {timeout}s")
            time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    peak_kb = int(peak.read_text()) if peak.exists() else usage.ru_maxrss
    return Run(proc.returncode, out.read_text(), err.read_text(), seconds, peak_kb / 1024)
