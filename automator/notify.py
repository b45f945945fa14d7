"""Notifications on commit, pull request and failure: Slack and a generic JSON webhook.

The URLs are secrets (a Slack webhook URL is a credential): ``automator.adapters``
reads them from the environment or files, registers them with the log redaction and
hands them here as ``Secret`` values. Sending goes through the HTTP edge, bounded by
a timeout; a failure is logged and never stops a reconcile.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import requests

from automator.errors import HttpError
from automator.http import Again, Deadline, Http, HttpClient, MiB, Request, count_as
from automator.secrets import Secret

logger = logging.getLogger(__name__)

REPLY_LIMIT = MiB  # we read only the status; a receiver has no reason to say more

Event = Literal["commit", "pull-request", "failure"]
EVENTS: tuple[Event, ...] = ("commit", "pull-request", "failure")


@dataclass(frozen=True, slots=True)
class Target:
    """One endpoint: a Slack incoming webhook or any URL that takes a JSON POST."""

    kind: Literal["slack", "webhook"]
    url: Secret
    events: frozenset[str] = frozenset(EVENTS)


class Notifier:
    """Posts one message per event to every target that asked for that event."""

    def __init__(
        self,
        targets: Sequence[Target] = (),
        timeout: float = 5.0,
        *,
        session: requests.Session | None = None,
        http: Http | None = None,
    ) -> None:
        """``http`` (default: an ``HttpClient`` over ``session``) sends each message once."""
        self._timeout = timeout
        self._http = http if http is not None else HttpClient(session, count=count_as("notify"))
        self._targets = tuple(targets)

    def notify(self, event: Event, source: str, text: str, **details: Any) -> None:
        """Tell every interested target that ``event`` happened to ``source``."""
        for target in self._targets:
            if event not in target.events:
                continue
            body = (
                {"text": text}
                if target.kind == "slack"
                else {"event": event, "source": source, "text": text, **details}
            )
            self._post(target.kind, target.url, source, body)

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
