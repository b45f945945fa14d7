"""Answer bodies read within a byte cap, gzip and deflate decoded by us inside that cap.

urllib3's own decoding could expand one 64 KiB read to tens of MiB before anyone
counts; here a compressed body is decoded ``CHUNK`` bytes at a time, so a gzip bomb
is stopped in bounded memory. ``BodyReader`` hands the body out as it arrives (a
file-like ``read``) for a caller that parses it as a stream; ``read_capped`` reads it
whole through the same reader.
"""

from __future__ import annotations

import zlib
from typing import Any

import requests
import urllib3

from automator.http.deadline import Deadline
from automator.http.errors import Again, BadEncoding, CorruptBody, TooLarge

ACCEPT_ENCODING = "gzip, deflate"  # what the reader decodes
CHUNK = 64 * 1024


class BodyReader:
    """The decoded body of an answer, read from the socket as the caller asks for it.

    Never more than ``cap`` bytes in all (``TooLarge`` past it, counted as they are
    decoded), never past the ``deadline``. A body cut short (the connection closed
    before its declared length) is ``Again``; a compressed one that stops before its
    end is ``CorruptBody``. It holds at most one raw chunk and one decoded chunk at a
    time: ``held`` is the most it held at once, ``size`` what it has handed out.

    ``end_checked`` says whether a cut would be noticed: the answer declared its length,
    came chunked, or is compressed (a compressed stream marks its own end). Otherwise the
    server ends the body by closing the connection, and a cut looks like the end.
    """

    def __init__(self, resp: requests.Response, cap: int, deadline: Deadline) -> None:
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise TooLarge(deadline.what, cap, int(declared))
        self._raw = resp.raw
        self._decoder = decoder_for(resp.headers.get("Content-Encoding", ""), deadline)
        chunked = "chunked" in resp.headers.get("Transfer-Encoding", "").lower()
        self.end_checked = declared.isdigit() or chunked or self._decoder is not None
        self._cap = cap
        self._deadline = deadline
        self._pending = b""  # decoded, not yet handed out
        self._tail = b""  # raw bytes the decoder has not taken yet
        self._ended = False
        self._raw_size = 0
        self.size = 0
        self.held = 0

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the body (all that is left when ``size`` < 0); b"" at its end."""
        if size < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        if size == 0:
            return b""
        if not self._pending:
            self._pending = self._next()
        chunk, self._pending = self._pending[:size], self._pending[size:]
        self.size += len(chunk)
        return chunk

    def _next(self) -> bytes:
        """The next decoded bytes (b"" at the end), within the cap."""
        while not self._ended:
            self._deadline.check()
            raw = self._tail or self._receive()
            if self._decoder is None:
                out, self._ended = raw, not raw
            else:
                out = self._decode(raw)
            self.held = max(self.held, len(out) + len(self._tail))
            if self.size + len(out) > self._cap:
                raise TooLarge(self._deadline.what, self._cap)
            if out:
                return out
        return b""

    def _receive(self) -> bytes:
        try:
            raw = bytes(self._raw.read1(CHUNK, decode_content=False))  # whatever has arrived
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise Again(f"no more of the answer in time after {self.size} bytes") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Again(f"the answer was cut off after {self.size} bytes") from exc
        self._raw_size += len(raw)
        return raw

    def _decode(self, raw: bytes) -> bytes:
        decoder = self._decoder
        try:
            if raw:
                out: bytes = decoder.decompress(raw, CHUNK)
                self._tail = decoder.unconsumed_tail
                return out
            self._ended = True
            out = decoder.flush()
        except zlib.error as exc:
            raise CorruptBody(self._deadline.what) from exc
        if self._raw_size and not decoder.eof:  # the compressed stream stops early: cut off
            raise CorruptBody(self._deadline.what)
        return out


def read_capped(resp: requests.Response, cap: int, deadline: Deadline) -> bytes:
    """The decoded body of ``resp``; TooLarge past ``cap`` bytes, DeadlinePassed past time."""
    return BodyReader(resp, cap, deadline).read()


def decoder_for(encoding: str, deadline: Deadline) -> Any:
    """A zlib decompressor for a Content-Encoding, None for identity; BadEncoding otherwise."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)
    raise BadEncoding(deadline.what, encoding)
