"""Reading one secret: from the environment or a file, registered for log redaction."""

from __future__ import annotations

from automator.logs import register_secret
from automator.secrets import Secret, secret_from


def read_secret(*, env: str | None = None, file: str | None = None, what: str) -> Secret:
    """A secret from ``env`` or ``file``, registered so no log line can show it."""
    return register_secret(secret_from(env=env, file=file, what=what))
