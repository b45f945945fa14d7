"""A TCP port that counts the connections made to it: proof that nothing was contacted.

It stands for what a hostile reference or redirect would aim at (a metadata service
at 169.254.169.254, a database inside the cluster). Each connection is accepted,
counted and closed without a byte written, so a client that reaches it fails.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class CountingListener:
    """Listens on 127.0.0.1; ``accepted`` is how many connections reached it."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port: int = self._sock.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self.accepted = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, name="counting-listener", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed
            with self._lock:
                self.accepted += 1
            conn.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def __enter__(self) -> CountingListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
