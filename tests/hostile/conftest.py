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

from tests.harness.hostile_registry import HostileRegistry, gzip_bomb

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
    peak_rss_mb: float  # of the CLI process alone, from wait4


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    """``python -m automator ARGS`` in a subprocess; its own peak RSS from ``wait4``."""
    out, err = cwd / "cli.out", cwd / "cli.err"
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "automator", *args],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
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
    return Run(proc.returncode, out.read_text(), err.read_text(), seconds, usage.ru_maxrss / 1024)
