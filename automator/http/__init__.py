"""The HTTP edge: every request automator sends goes out through here.

One ``Http`` seam (``HttpClient`` over a ``requests.Session``) owns what the registry,
forge and notification clients share: connect/read timeouts, a per-call ``Deadline``
that also cuts a dripping read (``hangup``), body caps with gzip/deflate decoded
within the cap (``body``; ``HttpClient.stream`` hands a body over as it arrives), the
one retry loop with jittered backoff and the one ``Retry-After`` parser (``retry``),
and the request metrics. The clients keep what is theirs: registry budgets and
redirects, forge rate-limit headers, their error words.
Nothing here imports those clients.
"""

from automator.http.address import PrivateAddress
from automator.http.body import BodyReader
from automator.http.client import (
    Count,
    Http,
    HttpClient,
    StreamingHttp,
    count_as,
    count_registry,
    host_of,
)
from automator.http.deadline import Deadline
from automator.http.errors import (
    Again,
    BadEncoding,
    CorruptBody,
    DeadlinePassed,
    TlsFailed,
    TooLarge,
)
from automator.http.message import MiB, Reply, Request
from automator.http.retry import ONCE, Retry, retry_after

__all__ = [
    "ONCE",
    "Again",
    "BadEncoding",
    "BodyReader",
    "CorruptBody",
    "Count",
    "Deadline",
    "DeadlinePassed",
    "Http",
    "HttpClient",
    "MiB",
    "PrivateAddress",
    "Reply",
    "Request",
    "Retry",
    "StreamingHttp",
    "TlsFailed",
    "TooLarge",
    "count_as",
    "count_registry",
    "host_of",
    "retry_after",
]
