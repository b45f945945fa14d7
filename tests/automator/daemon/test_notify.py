"""Notifications reach a real HTTP receiver; failures are logged, never raised."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from automator import adapters
from automator.config import Config, Notifications, NotifyTarget, Source
from automator.logs import setup_logging
from automator.notify import Notifier
from testing import free_port


class Receiver:
    """A local endpoint that records JSON bodies and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[tuple[str, dict[str, object]]] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.bodies.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def notifier(settings: Notifications) -> Notifier:
    """The notifier automator.yaml's ``notifications:`` builds (URLs read by the adapters)."""
    config = Config(sources=[Source(name="fleet", url=".")], notifications=settings)
    return adapters.notifier(config)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def test_slack_and_webhook_get_their_events(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_URL", receiver.url("/slack/T000/B000/secret-part"))
    (tmp_path / "hook").write_text(receiver.url("/hook") + "\n")
    settings = Notifications(
        slack=NotifyTarget(url_env="SLACK_URL", events=["failure"]),
        webhook=NotifyTarget(url_file=str(tmp_path / "hook")),
    )
    sender = notifier(settings)
    sender.notify("commit", "fleet", "fleet: pushed abc", commit="abc")
    sender.notify("failure", "fleet", "fleet: registry down", error="down")
    assert receiver.bodies == [
        ("/hook", {"event": "commit", "source": "fleet", "text": "fleet: pushed abc",
                   "commit": "abc"}),
        ("/slack/T000/B000/secret-part", {"text": "fleet: registry down"}),
        ("/hook", {"event": "failure", "source": "fleet", "text": "fleet: registry down",
                   "error": "down"}),
    ]  # fmt: skip


def test_refusals_and_dead_endpoints_are_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with Receiver(status=500) as refusing:
        monkeypatch.setenv("HOOK_URL", refusing.url("/hook?token=hunter2"))
        notifier(Notifications(webhook=NotifyTarget(url_env="HOOK_URL"))).notify(
            "commit", "fleet", "x"
        )
    monkeypatch.setenv("DEAD_URL", f"http://127.0.0.1:{free_port()}/hook?token=hunter2")
    dead = notifier(Notifications(webhook=NotifyTarget(url_env="DEAD_URL"), timeout_seconds=2))
    with caplog.at_level(logging.WARNING, logger="automator.notify"):
        dead.notify("failure", "fleet", "y")
    assert "refused with HTTP 500" in caplog.text
    assert "webhook notification for fleet failed: ConnectionError" in caplog.text
    assert "hunter2" not in caplog.text


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The daemon's own JSON log at DEBUG, in a buffer; the logger is put back afterwards."""
    root = logging.getLogger("automator")
    saved = root.handlers[:], root.level, root.propagate
    stream = io.StringIO()
    setup_logging("json", verbose=True, stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:], root.level, root.propagate = saved


def test_a_failure_logged_with_its_causes_shows_no_part_of_the_secret_url(
    monkeypatch: pytest.MonkeyPatch, debug_log: io.StringIO
) -> None:
    secret = "B0000/XyZ9sEcReTpArT42"
    monkeypatch.setenv("SLACK_URL", f"http://127.0.0.1:{free_port()}/services/T0000/{secret}")
    monkeypatch.setenv("HOOK_URL", f"http://127.0.0.1:{free_port()}/hook?token=hunter2&x=1")
    settings = Notifications(
        slack=NotifyTarget(url_env="SLACK_URL"), webhook=NotifyTarget(url_env="HOOK_URL")
    )
    notifier(settings).notify("failure", "fleet", "registry down")
    lines = [json.loads(line) for line in debug_log.getvalue().splitlines()]
    debug = [line for line in lines if line["level"] == "debug"]
    assert len(debug) == 2, lines
    # the whole cause chain was logged, requests' own error (which quotes the path) included
    assert all("requests.exceptions.ConnectionError" in line["error"] for line in debug)
    text = debug_log.getvalue()
    assert "XyZ9sEcReTpArT42" not in text and "hunter2" not in text
    assert "slack notification for fleet failed: ConnectionError" in text
