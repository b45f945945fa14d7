"""Answer bodies read within a byte cap, gzip and deflate decoded by us inside that cap.

urllib3's own decoding could expand one 64 KiB read to tens of MiB before anyone
counts; here a compressed body never grows past the cap plus one byte, so a gzip
bomb is stopped in bounded memory.
"""

from __future__ import annotations

import zlib
from typing import Any

import requests

from automator.http.deadline import Deadline
from automator.http.errors import BadEncoding, CorruptBody, TooLarge

ACCEPT_ENCODING = "gzip, deflate"  # what read_capped decodes
CHUNK = 64 * 1024


def read_capped(resp: requests.Response, cap: int, deadline: Deadline) -> bytes:
    """The decoded body of ``resp``; TooLarge past ``cap`` bytes, DeadlinePassed past time."""
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise TooLarge(deadline.what, cap, int(declared))
    decoder = decoder_for(resp.headers.get("Content-Encoding", ""), deadline)
    body = bytearray()
    while raw := resp.raw.read1(CHUNK, decode_content=False):  # whatever has arrived
        deadline.check()
        if decoder is None:
            body += raw
        while decoder is not None and raw:
            try:
                body += decoder.decompress(raw, cap - len(body) + 1)
            except zlib.error as exc:
                raise CorruptBody(deadline.what) from exc
            raw = decoder.unconsumed_tail
            if len(body) > cap:
                raise TooLarge(deadline.what, cap)
        if len(body) > cap:
            raise TooLarge(deadline.what, cap)
    if decoder is not None:
        try:
            body += decoder.flush()
        except zlib.error as exc:
            raise CorruptBody(deadline.what) from exc
    if len(body) > cap:
        raise TooLarge(deadline.what, cap)
    return bytes(body)


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
