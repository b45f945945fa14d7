"""Who sent a webhook: a shared secret, or an HMAC-SHA256 of the body.

The secret comes as ``?token=``, ``X-Automator-Token`` or ``Authorization: Bearer``;
a signature as ``X-Hub-Signature-256`` (GitHub) or ``X-Automator-Signature``. Both
are compared with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from enum import StrEnum

from automator.secrets import Secret


class Auth(StrEnum):
    OK = "ok"
    MISSING = "missing"  # nothing to check: 401
    BAD = "bad"  # a token or signature that does not match: 403


def authenticate(
    secret: Secret, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
) -> Auth:
    """Check an HMAC signature of ``body`` if one is sent, else a shared token."""
    key = secret.reveal().encode()
    for header in ("x-hub-signature-256", "x-automator-signature"):
        if header in headers:
            algorithm, _, signature = headers[header].partition("=")
            expected = hmac.new(key, body, hashlib.sha256).hexdigest()
            ok = algorithm == "sha256" and hmac.compare_digest(
                signature.encode(), expected.encode()
            )
            return Auth.OK if ok else Auth.BAD
    token = query.get("token") or headers.get("x-automator-token")
    if token is None and "authorization" in headers:
        token = headers["authorization"].removeprefix("Bearer ").strip()
    if token is None:
        return Auth.MISSING
    return Auth.OK if hmac.compare_digest(token.encode(), key) else Auth.BAD


def sign(secret: Secret, body: bytes) -> str:
    """The ``X-Automator-Signature`` value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.reveal().encode(), body, hashlib.sha256).hexdigest()
