"""Log handlers, set up once by the CLI: text on a terminal, JSON lines otherwise.

A redaction filter replaces every registered secret value (and any credentials
written into a URL) with ``***`` before a record is formatted, whichever handler
prints it: the message, the formatted traceback with its chain of causes, and the
stack. A registered URL also registers the pieces of it that travel alone: an HTTP
library's error says ``url: /services/T000/B000/XXXX``, not the whole webhook URL.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import UTC, datetime
from typing import Literal, TextIO
from urllib.parse import urlsplit

from automator.secrets import Secret

_lock = threading.Lock()
_secrets: set[str] = set()
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s:@]+(?::[^/\s@]*)?@", re.I)
_TOKEN_PARAM = re.compile(r"(?P<key>[?&](?:token|access_token|secret)=)[^&\s]+", re.I)
_MIN_SECRET = 4  # shorter values would redact ordinary words
_MIN_URL_PART = 8  # a URL's path is a secret only when it is long ("/hook" is not)


def register_secret(secret: Secret) -> Secret:
    """Make the value of ``secret`` unprintable in every log line from now on."""
    value = secret.reveal()
    with _lock:
        _secrets.update(part for part in _pieces(value) if len(part) >= _MIN_SECRET)
    return secret


def _pieces(value: str) -> list[str]:
    """``value``, and for a URL its path and query and password, which errors quote alone."""
    if "://" not in value:
        return [value]
    try:
        url = urlsplit(value.strip())
        password = url.password or ""
    except ValueError:  # not a URL after all
        return [value]
    target = url.path + (f"?{url.query}" if url.query else "")
    parts = [part for part in (target, url.path) if len(part) >= _MIN_URL_PART]
    return [value, value.strip(), password, *parts]


def redact(text: str) -> str:
    """``text`` with registered secrets, URL credentials and token parameters masked."""
    with _lock:
        values = sorted(_secrets, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, "***")
    text = _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)
    return _TOKEN_PARAM.sub(r"\g<key>***", text)


class RedactionFilter(logging.Filter):
    """Formats the message early and masks secrets in it (and in the traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the error, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["error"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(
    log_format: Literal["auto", "json", "text"] = "auto",
    *,
    verbose: bool = False,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install the one handler of the ``automator`` logger (idempotent) and return it."""
    stream = sys.stderr if stream is None else stream
    if log_format == "auto":
        log_format = "text" if stream.isatty() else "json"
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactionFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("automator")
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    return handler
