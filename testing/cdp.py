"""Headless Chromium (Debian's ``chromium``) driven over its DevTools protocol.

A small client of our own over ``websocket-client``: the browser is started with
``--remote-debugging-port=0`` and says where it listens in ``DevToolsActivePort`` in
its profile; one page target is attached with ``flatten`` so every command and event
of that page carries its ``sessionId`` on the browser's one socket. Drivers that
download a browser of their own cannot work offline; this uses the system one.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import websocket

from testing import MissingServer, terminate

INSTALL = "chromium is not installed: apt-get install chromium"


class DevToolsError(RuntimeError):
    """The browser answered a command with an error."""


class Chromium:
    """One headless browser with one page; use as a context manager."""

    def __init__(self, profile: Path, *, width: int = 1280, height: int = 1400) -> None:
        binary = shutil.which("chromium")
        if binary is None:
            raise MissingServer(INSTALL)
        self.profile = profile
        self.events: list[dict[str, Any]] = []  # every event of the page, in order
        self._ids = itertools.count(1)
        self._command = [
            binary,
            "--headless=new",
            "--no-sandbox",  # tests run as root, where the sandbox cannot start
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        self._proc: subprocess.Popen[bytes] | None = None
        self._socket: websocket.WebSocket | None = None
        self._session = ""

    def __enter__(self) -> Chromium:
        self.profile.mkdir(parents=True, exist_ok=True)
        with (self.profile.parent / "chromium.log").open("wb") as log:
            self._proc = subprocess.Popen(
                self._command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        try:
            self._socket = websocket.create_connection(self._endpoint(), timeout=30)
            target = self.send("Target.createTarget", url="about:blank")["targetId"]
            attached = self.send("Target.attachToTarget", targetId=target, flatten=True)
            self._session = attached["sessionId"]
            self.send("Page.enable")
            self.send("Runtime.enable")  # exceptions and console calls become events
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._socket is not None:
            self._socket.close()
        terminate(self._proc)

    def _endpoint(self, timeout: float = 30.0) -> str:
        """The browser's WebSocket URL, once it has written DevToolsActivePort."""
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._proc.returncode}")
            lines = active.read_text().split() if active.exists() else []
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.05)
        raise TimeoutError(f"chromium wrote no {active} in {timeout}s")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command (to the page once attached) and return its result."""
        assert self._socket is not None
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params}
        if self._session:
            message["sessionId"] = self._session
        self._socket.send(json.dumps(message))
        while True:
            answer = self._receive()
            if answer.get("id") == message["id"]:
                if "error" in answer:
                    raise DevToolsError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    def _receive(self) -> dict[str, Any]:
        assert self._socket is not None
        answer: dict[str, Any] = json.loads(self._socket.recv())
        if "method" in answer and answer.get("sessionId") == self._session:
            self.events.append(answer)
        return answer

    def open(self, url: str) -> None:
        """Navigate the page to ``url`` and wait for its load event."""
        seen = len(self.events)
        self.send("Page.navigate", url=url)
        while not any(e["method"] == "Page.loadEventFired" for e in self.events[seen:]):
            self._receive()

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page (DevTools runs it whatever the CSP)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        """A PNG of the whole page."""
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path
