"""Server processes for tests: each in its own process group, stopped as a group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``args`` in a new session, output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )


def wait_listening(port: int | Path, procs: list[subprocess.Popen[bytes]], log: Path) -> None:
    """Return once 127.0.0.1:``port`` (or the unix socket at that path) accepts; raise with
    the log if a process died."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                program = proc.args[0] if isinstance(proc.args, list) else proc.args
                raise RuntimeError(f"{program!s} exited: {log.read_text()[-2000:]}")
        try:
            if isinstance(port, Path):
                with socket.socket(socket.AF_UNIX) as unix:
                    unix.settimeout(0.5)
                    unix.connect(str(port))
            else:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    pass
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {port} after 10 s: {log.read_text()[-2000:]}")


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole group (fcgiwrap's workers outlive their parent), then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass


def start_nginx(run: Path, procs: list[subprocess.Popen[bytes]], ports: list[int]) -> None:
    """Start nginx on ``run/nginx.conf`` (prefix ``run``), add it to ``procs`` and wait for
    ``ports``; on failure stop every process in ``procs`` and raise."""
    log = run / "servers.log"
    nginx = ["nginx", "-p", str(run), "-e", str(run / "nginx-error.log")]
    procs.append(spawn([*nginx, "-c", str(run / "nginx.conf")], log))
    try:
        for port in ports:
            wait_listening(port, procs, log)
    except Exception:
        for proc in reversed(procs):
            stop_group(proc)
        procs.clear()
        raise
