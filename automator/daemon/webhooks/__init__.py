"""Registry push webhooks: what they name, who sent them, and how often.

- :mod:`.payloads`: one parser per sender's payload kind; only canonical repository
  names that pass the image reference grammar leave it.
- :mod:`.authentication`: a shared secret or an HMAC-SHA256 of the body.
- :mod:`.replay`: a body seen again within a window rescans nothing.
- :mod:`.ratelimit`: a token bucket per sender address.

The HTTP server (:mod:`automator.daemon.server`) applies them in that order:
rate limit, size, authentication, replay, payload.
"""

from automator.daemon.webhooks.authentication import Auth, authenticate, sign
from automator.daemon.webhooks.payloads import PARSERS, Delivery, PayloadError, parse_delivery
from automator.daemon.webhooks.ratelimit import RateLimiter
from automator.daemon.webhooks.replay import REPLAY_WINDOW, ReplayGuard

__all__ = [
    "PARSERS",
    "REPLAY_WINDOW",
    "Auth",
    "Delivery",
    "PayloadError",
    "RateLimiter",
    "ReplayGuard",
    "authenticate",
    "parse_delivery",
    "sign",
]
