"""A TCP proxy that passes the client's bytes on at once and drips the server's back.

``DripProxy(("127.0.0.1", upstream_port), every=0.05)`` forwards what a client sends,
and sends the server's answer back one byte per ``every`` seconds: a remote that is
never silent long enough for a per-read timeout, and never done. It counts what the
server sent and what it dripped, and how many clients hung up on it.
"""

from __future__ import annotations

import socket
import threading


class DripProxy:
    def __init__(self, upstream: tuple[str, int], *, every: float = 0.05) -> None:
        self.upstream = upstream
        self.every = every
        self.received = 0  # bytes the server sent
        self.dripped = 0  # bytes passed on to clients
        self.hung_up = 0  # clients that closed or reset while we dripped
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]

    def url(self, path: str) -> str:
        return f"git://127.0.0.1:{self.port}/{path}"

    def __enter__(self) -> DripProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._forward, args=(client, server), daemon=True).start()
            threading.Thread(target=self._drip, args=(server, client), daemon=True).start()

    def _forward(self, client: socket.socket, server: socket.socket) -> None:
        try:
            while chunk := client.recv(65536):
                server.sendall(chunk)
        except OSError:
            pass

    def _drip(self, server: socket.socket, client: socket.socket) -> None:
        pending = b""
        server.setblocking(False)
        try:
            while not self._stop.is_set():
                try:
                    chunk = server.recv(65536)
                    with self._lock:
                        self.received += len(chunk)
                    pending += chunk
                except BlockingIOError:
                    pass
                if pending:
                    client.sendall(pending[:1])
                    pending = pending[1:]
                    with self._lock:
                        self.dripped += 1
                if self._stop.wait(self.every):
                    break
        except OSError:
            with self._lock:
                self.hung_up += 1
        finally:
            client.close()
            server.close()
