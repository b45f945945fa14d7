"""A whole-call deadline for libgit2's network calls (fetch, push, listing branches).

libgit2 bounds each read (``server_timeout``) but not a whole call: a server that drips
one byte at a time keeps a fetch alive for ever. The only handle on a call in progress is
its socket, so at the deadline a watchdog thread shuts down (``SHUT_RDWR``) every TCP
socket this process opened to the remote's address and port since the call began; the
next read in libgit2 fails and the call returns. It keeps doing so until the call
returns, in case libgit2 connects again. Sockets are found through ``/proc`` (Linux, as
the image is); where that is missing only the per-read timeout applies.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from automator.errors import GitError
from automator.git.transport import Endpoint

logger = logging.getLogger(__name__)

DEADLINE_SECONDS = 300.0  # a whole fetch, push or listing of a remote, however it trickles
DEFAULT_PORTS = {"git": 9418, "http": 80, "https": 443, "ssh": 22}
_PROC = Path("/proc/self")
_RECHECK_SECONDS = 0.05  # after the deadline, how often new sockets are looked for


@contextmanager
def deadline(seconds: float, host: str, port: int, what: str) -> Iterator[None]:
    """Run the body (one libgit2 network call) within ``seconds``.

    An exception leaving the body after the deadline passed becomes a transient
    GitError that says so (``what`` names the call: "git://host/repo: fetch").
    """
    watchdog = _Watchdog(seconds, host, port)
    watchdog.start()
    try:
        yield
    except Exception as exc:
        if watchdog.expired.is_set():
            raise GitError(
                f"{what} did not finish within its {seconds:g}s deadline; the server or the"
                " network is too slow, the next cycle retries",
                transient=True,
            ) from exc
        raise
    finally:
        watchdog.stop()


def deadline_for(endpoint: Endpoint, seconds: float, what: str) -> AbstractContextManager[None]:
    """:func:`deadline` for one call to ``endpoint``; none for a local path (no socket)."""
    if endpoint.scheme == "file":
        return nullcontext()
    port = endpoint.port or DEFAULT_PORTS.get(endpoint.scheme, 0)
    return deadline(seconds, endpoint.host, port, what)


class _Watchdog:
    def __init__(self, seconds: float, host: str, port: int) -> None:
        self.seconds = seconds
        self.port = port
        self.addresses = _addresses(host, port)
        self.before = set(_sockets())  # sockets older than the call are someone else's
        self.expired = threading.Event()
        self.cut = 0  # sockets shut down, for the log
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="git-deadline", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        if self._done.wait(self.seconds):
            return
        self.expired.set()
        while not self._done.is_set():
            self._cut()
            self._done.wait(_RECHECK_SECONDS)

    def _cut(self) -> None:
        peers = _peers()
        for inode, fd in _sockets().items():
            if inode in self.before or peers.get(inode) not in self.addresses:
                continue
            try:
                dup = os.dup(fd)
            except OSError:
                continue  # closed meanwhile
            try:
                if os.fstat(dup).st_ino == inode:  # not a reused descriptor
                    with socket.socket(fileno=dup) as sock:
                        dup = -1
                        sock.shutdown(socket.SHUT_RDWR)
                        self.cut += 1
                        logger.debug("deadline passed: shut down socket %d", inode)
            except OSError:
                pass  # already gone
            finally:
                if dup != -1:
                    os.close(dup)


def _addresses(host: str, port: int) -> set[tuple[str, int]]:
    """Every (address, port) ``host`` resolves to, as /proc/net shows them."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return set()
    return {(str(info[4][0]), port) for info in infos}


def _sockets() -> dict[int, int]:
    """This process's sockets: inode -> file descriptor."""
    found: dict[int, int] = {}
    try:
        entries = list((_PROC / "fd").iterdir())
    except OSError:
        return found
    for entry in entries:
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith("socket:["):
            found[int(target[8:-1])] = int(entry.name)
    return found


def _peers() -> dict[int, tuple[str, int]]:
    """The remote (address, port) of every TCP socket in /proc/self/net, by inode."""
    peers: dict[int, tuple[str, int]] = {}
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            lines = (_PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, _, port = fields[2].partition(":")
            peers[int(fields[9])] = (_address(address, family), int(port, 16))
    return peers


def _address(hexed: str, family: int) -> str:
    """/proc/net's address (host-order 32-bit words, in hex) as text."""
    raw = bytes.fromhex(hexed)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    text = socket.inet_ntop(family, raw)
    return text.removeprefix("::ffff:") if family == socket.AF_INET6 else text
