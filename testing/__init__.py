"""Real servers for the tests, the demo and the benchmarks.

A distribution registry (plain, token-authenticated, TLS, behind a fault proxy, or a
hostile one), Git servers (``git daemon``, git over HTTP behind nginx, sshd), fake
forges whose traffic is checked against the forges' API descriptions, and the sample
fleet and daemon configuration they are driven with. ``tests/``, ``demo/`` and
``bench/`` import this package; it imports none of them. It is not installed with
``automator`` (see ``pyproject.toml``), so run from the repository root.

Everything listens on 127.0.0.1 on a free port and is started and stopped by the
code that needs it. Nothing here is mocked: the registry is Debian's
``docker-registry`` (distribution 2.8) and the Git servers are git's own.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MissingServer(RuntimeError):
    """A server binary is not installed; the message says how to install it."""


def terminate(proc: subprocess.Popen[bytes] | None) -> None:
    """Stop a server process: SIGTERM, then SIGKILL if it has not exited in 10 s."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def quiet_handler(
    answer: Callable[[BaseHTTPRequestHandler], None], *methods: str
) -> type[BaseHTTPRequestHandler]:
    """An HTTP/1.1 handler class that logs nothing and hands each request of ``methods``
    (``"GET"``, ``"HEAD"``, ``"POST"``...) to ``answer``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

    def handle(request: BaseHTTPRequestHandler) -> None:
        answer(request)

    for method in methods:
        setattr(Handler, f"do_{method}", handle)
    return Handler
