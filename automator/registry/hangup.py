"""Hang up on a registry that is slow in total, not only between two bytes.

A read timeout bounds each ``recv``; a server that drips its status line, headers
or body one byte at a time never trips it, so one request could outlive its call's
deadline by hours. The transport arms :func:`hang_up_at` around each request: when
the deadline comes, the socket under the blocked read is shut down and the read
fails at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()  # the _Watch of the request this thread is sending


class _Watch:
    """The connection one request uses, so a timer in another thread can cut it."""

    def __init__(self) -> None:
        self.connection: HTTPConnection | None = None
        self.fired = False
        self._lock = threading.Lock()

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            sock = getattr(self.connection, "sock", None)
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)


def _watched(connection: HTTPConnection) -> None:
    watch = getattr(_current, "watch", None)
    if isinstance(watch, _Watch):
        watch.connection = connection


class _Connection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _watched(self)
        super().request(*args, **kwargs)


class _TLSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _watched(self)
        super().request(*args, **kwargs)


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


def install(session: requests.Session) -> None:
    """Make ``session``'s plain adapters use connections that :func:`hang_up_at` can cut."""
    for adapter in getattr(session, "adapters", {}).values():
        if isinstance(adapter, HTTPAdapter):
            adapter.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}


@contextmanager
def hang_up_at(seconds: float) -> Iterator[_Watch]:
    """Cut this thread's request if it is still reading after ``seconds``."""
    watch = _Watch()
    _current.watch = watch
    timer = threading.Timer(max(0.0, seconds), watch.fire)
    timer.daemon = True
    timer.start()
    try:
        yield watch
    finally:
        timer.cancel()
        _current.watch = None
