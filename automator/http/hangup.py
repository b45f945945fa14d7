"""Hang up on a server that is slow in total, not only between two bytes.

A read timeout bounds each ``recv``; a server that drips its status line, headers
or body one byte at a time never trips it, so one request could outlive its call's
deadline by hours. The HTTP client arms :func:`hang_up_at` around each request: when
the deadline comes, the socket under the blocked read is shut down and the read
fails at once.

The same connections dial only checked addresses while a request is guarded
(``automator.http.address``).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from automator.http.address import check_reused, checked_connect

_current = threading.local()  # the _Watch of the request this thread is sending


class _Watch:
    """The connection one request uses, so a timer in another thread can cut it."""

    def __init__(self) -> None:
        self.connection: HTTPConnection | None = None
        self.fired = False
        self.done = False  # the request finished; the watchdog must leave it alone
        self._lock = threading.Lock()

    def fire(self) -> None:
        with self._lock:
            if self.done:
                return
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
    def _new_conn(self) -> socket.socket:
        with checked_connect(self):
            return super()._new_conn()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watched(self)
        check_reused(self)
        super().request(*args, **kwargs)


class _TLSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        with checked_connect(self):
            return super()._new_conn()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watched(self)
        check_reused(self)
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


class _Watchdog:
    """One thread for every armed request: it sleeps until the earliest deadline.

    A thread per request (``threading.Timer``) cost more than a warm registry
    request itself; a heap with lazy removal costs a push and a flag.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, watch: _Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._order), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="http-hangup", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)  # finished requests, removed lazily
                if not self._heap:
                    self._cond.wait()
                    continue
                when, _, watch = self._heap[0]
                left = when - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                heapq.heappop(self._heap)
            watch.fire()


_WATCHDOG = _Watchdog()


@contextmanager
def hang_up_at(seconds: float) -> Iterator[_Watch]:
    """Cut this thread's request if it is still reading after ``seconds``."""
    watch = _Watch()
    _current.watch = watch
    _WATCHDOG.arm(max(0.0, seconds), watch)
    try:
        yield watch
    finally:
        with watch._lock:
            watch.done = True
        _current.watch = None
