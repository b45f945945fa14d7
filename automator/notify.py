"""Notifications on commit, pull request and failure: Slack and a generic JSON webhook.

The URLs are secrets (a Slack webhook URL is a credential), so they come from the
environment or files and are registered with the log redaction. Sending is bounded
by a timeout; a failure is logged and never stops a reconcile.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from automator.config import Event, Notifications, NotifyTarget
from automator.logs import register_secret
from automator.secrets import Secret, secret_from

logger = logging.getLogger(__name__)


class Notifier:
    """Posts one message per event to every target that asked for that event."""

    def __init__(self, settings: Notifications, *, session: requests.Session | None = None) -> None:
        self._timeout = settings.timeout_seconds
        self._session = session or requests.Session()
        self._targets: list[tuple[str, Secret, frozenset[str]]] = []
        for kind, target in (("slack", settings.slack), ("webhook", settings.webhook)):
            if target is not None:
                self._targets.append((kind, _url(kind, target), frozenset(target.events)))

    def notify(self, event: Event, source: str, text: str, **details: Any) -> None:
        """Tell every interested target that ``event`` happened to ``source``."""
        for kind, url, events in self._targets:
            if event not in events:
                continue
            body = (
                {"text": text}
                if kind == "slack"
                else {"event": event, "source": source, "text": text, **details}
            )
            try:
                resp = self._session.post(url.reveal(), json=body, timeout=self._timeout)
            except requests.RequestException as exc:
                error = type(exc).__name__
                logger.warning("%s notification for %s failed: %s", kind, source, error)
                continue
            if resp.status_code >= 300:
                logger.warning(
                    "%s notification for %s refused with HTTP %d", kind, source, resp.status_code
                )


def _url(kind: str, target: NotifyTarget) -> Secret:
    what = f"notifications.{kind}.{'url_env' if target.url_env else 'url_file'}"
    return register_secret(secret_from(env=target.url_env, file=target.url_file, what=what))
