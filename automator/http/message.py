"""What goes out and what comes back: a request and its answer, body already read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from requests.structures import CaseInsensitiveDict
from requests.utils import parse_header_links

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request. URL, headers and bodies stay out of the repr: they can hold secrets."""

    method: str
    url: str = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    data: Mapping[str, str] | None = field(default=None, repr=False)  # a form
    json: Any = field(default=None, repr=False)
    params: Mapping[str, str | int] | None = field(default=None, repr=False)
    timeout: tuple[float, float] = (5.0, 30.0)  # connect, and each read
    limit: int = 4 * MiB  # the most body bytes we read, after decoding
    verify: bool | str = True  # True, or a CA bundle file
    cert: str | tuple[str, str] | None = None  # a client certificate (and its key)
    public_only: bool = False  # connect to public addresses only (``automator.http.address``)


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer with its body read within the request's limit; headers case-insensitive."""

    status: int
    url: str = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    body: bytes = field(default=b"", repr=False)
    reason: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.headers, CaseInsensitiveDict):
            object.__setattr__(self, "headers", CaseInsensitiveDict(self.headers))

    @property
    def links(self) -> dict[str, dict[str, str]]:
        """The ``Link`` header by ``rel`` (as ``requests.Response.links``)."""
        found: dict[str, dict[str, str]] = {}
        for link in parse_header_links(self.headers.get("Link", "")):
            found[link.get("rel") or link.get("url", "")] = link
        return found

    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")
