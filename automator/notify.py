"""Notifications on commit, pull request and failure: Slack and a generic JSON webhook.

The URLs are secrets (a Slack webhook URL is a credential), so they come from the
environment or files and are registered with the log redaction. Sending goes through
the HTTP edge, bounded by a timeout; a failure is logged and never stops a reconcile.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from automator.config import Event, Notifications, NotifyTarget
from automator.errors import HttpError
from automator.http import Again, Deadline, Http, HttpClient, MiB, Request, count_as
from automator.logs import register_secret
from automator.secrets import Secret, secret_from

logger = logging.getLogger(__name__)

REPLY_LIMIT = MiB  # we read only the status; a receiver has no reason to say more


class Notifier:
    """Posts one message per event to every target that asked for that event."""

    def __init__(
        self,
        settings: Notifications,
        *,
        session: requests.Session | None = None,
        http: Http | None = None,
    ) -> None:
        """``http`` (default: an ``HttpClient`` over ``session``) sends each message once."""
        self._timeout = settings.timeout_seconds
        self._http = http if http is not None else HttpClient(session, count=count_as("notify"))
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
            self._post(kind, url, source, body)

    def _post(self, kind: str, url: Secret, source: str, body: dict[str, Any]) -> None:
        what = f"{kind} notification for {source}"
        timeout = self._timeout
        request = Request(
            "POST", url.reveal(), json=body, timeout=(timeout, timeout), limit=REPLY_LIMIT
        )
        try:
            reply = self._http.send(request, Deadline(timeout, what, self._http.now))
        except (Again, HttpError) as exc:
            line = f"{what} failed: {exc.kind}" if isinstance(exc, Again) else str(exc)
            logger.warning("%s", line)
            # the causes can hold the URL: the log redaction masks it (see automator.logs)
            logger.debug("%s failed", what, exc_info=True)
            return
        if reply.status >= 300:
            logger.warning("%s refused with HTTP %d", what, reply.status)


def _url(kind: str, target: NotifyTarget) -> Secret:
    what = f"notifications.{kind}.{'url_env' if target.url_env else 'url_file'}"
    return register_secret(secret_from(env=target.url_env, file=target.url_file, what=what))
