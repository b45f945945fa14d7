"""Real Git remotes: bare repositories served by ``git daemon`` on 127.0.0.1.

A plain file-path remote lets a second writer overwrite the first one silently, so
tests that push go through ``git daemon`` with receive-pack enabled: the server
does the compare-and-swap a real forge does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from testing import MissingServer, free_port, terminate

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Person",
    "GIT_AUTHOR_EMAIL": "person@example.test",
    "GIT_COMMITTER_NAME": "Test Person",
    "GIT_COMMITTER_EMAIL": "person@example.test",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(*args: str, cwd: Path | None = None, input: bytes | None = None) -> str:
    """Run the git CLI with a fixed identity and no user config; return stdout."""
    result = subprocess.run(
        ["git", "-c", "safe.directory=*", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        input=input,
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode()


def make_bare_repo(path: Path, files: dict[str, str | bytes], branch: str = "main") -> Path:
    """Create a bare repository at ``path`` whose ``branch`` holds ``files`` in one commit."""
    work = path.parent / (path.name + ".seed")
    git("init", "-q", "-b", branch, str(work))
    for name, content in files.items():
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "Initial config", cwd=work)
    git("clone", "-q", "--bare", str(work), str(path))
    shutil.rmtree(work)
    return path


class GitDaemon:
    """``git daemon`` exporting every repository under ``base``, push enabled."""

    def __init__(self, base: Path) -> None:
        if shutil.which("git") is None:
            raise MissingServer("git is not installed: apt-get install git")
        self.base = Path(base)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, repo: str) -> str:
        return f"git://127.0.0.1:{self.port}/{repo}"

    def start(self, timeout: float = 10.0) -> GitDaemon:
        log = (self.base.parent / f"git-daemon-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                f"--base-path={self.base}",
                "--export-all",
                "--enable=receive-pack",
                "--informative-errors",
                str(self.base),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **GIT_ENV},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"git daemon exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"git daemon on port {self.port} did not listen in {timeout}s")

    def stop(self) -> None:
        terminate(self.proc)
        self.proc = None

    def __enter__(self) -> GitDaemon:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
