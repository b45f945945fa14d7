"""Where a guarded request may connect: public addresses only, checked after DNS.

A request marked ``public_only`` (a redirect to another host, a registry the config
repo named but automator.yaml did not list) may not reach loopback, private,
link-local, unspecified, multicast or reserved addresses: that is how a hostile
registry or a committed image reference would aim automator at 169.254.169.254 or
at a service inside the cluster. The check is on the resolved address, and the
connection is made to the very address that passed, so DNS cannot answer one
address to the check and another to the connect. A connection reused from the pool
has its peer checked again.

Through an HTTP proxy the proxy resolves the name; then the name is resolved here
too and refused if it leads nowhere public (best effort: the proxy's own egress
rules are the real control there).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from urllib3.connection import HTTPConnection
from urllib3.exceptions import NameResolutionError

from automator.errors import HttpError

_local = threading.local()  # the ``what`` of the guarded request this thread is sending

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
KINDS = (  # (attribute, how the message says it), the first that applies wins
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_private", "private"),
    ("is_multicast", "multicast"),
    ("is_reserved", "reserved"),
)


class PrivateAddress(HttpError):
    """A guarded request would have connected to an address that is not public."""

    def __init__(self, what: str, host: str, address: str, kind: str) -> None:
        why = f"it resolves to {address}, a {kind} address" if address else kind
        super().__init__(f"{what}: refused {host}: {why}")
        self.host = host
        self.address = address
        self.kind = kind


def non_public(ip: IP) -> str | None:
    """What kind of non-public address ``ip`` is ("loopback", ...), or None when public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for attribute, kind in KINDS:
        if getattr(ip, attribute):
            return kind
    return None if ip.is_global else "non-public"


def guarding() -> str | None:
    """The ``what`` of this thread's guarded request, or None when it is not guarded."""
    return getattr(_local, "what", None)


@contextmanager
def public_only(what: str) -> Iterator[None]:
    """Let this thread's connections reach public addresses only, until the block ends."""
    _local.what = what
    try:
        yield
    finally:
        _local.what = None


def public_address(host: str, port: int) -> str:
    """The first public address ``host`` resolves to; PrivateAddress when none is.

    Raises ``socket.gaierror`` when the name does not resolve at all.
    """
    what = guarding() or host
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if non_public(ipaddress.ip_address(address.partition("%")[0])) is None:
            return address
    first = addresses[0] if addresses else "nothing"
    kind = non_public(ipaddress.ip_address(first.partition("%")[0])) if addresses else "no"
    raise PrivateAddress(what, host, first, kind or "non-public")


def check_name(host: str) -> None:
    """Refuse ``host`` unless it resolves to a public address here (for proxied requests)."""
    try:
        public_address(host, 0)
    except socket.gaierror as exc:
        unknown = "it does not resolve here, so where a proxy would take it cannot be checked"
        raise PrivateAddress(guarding() or host, host, "", unknown) from exc


def check_peer(sock: socket.socket, host: str) -> None:
    """Refuse a pooled connection whose peer is not public (while guarding)."""
    what = guarding()
    if what is None:
        return
    address = str(sock.getpeername()[0])
    kind = non_public(ipaddress.ip_address(address.partition("%")[0]))
    if kind is not None:
        raise PrivateAddress(what, host, address, kind)


@contextmanager
def checked_connect(conn: HTTPConnection) -> Iterator[None]:
    """While guarding, make ``conn`` connect to the address that passed the check.

    The name stays ``conn.host`` for the Host header, SNI and the certificate; only
    the address dialled changes. A proxied connection dials the proxy: unchanged.
    """
    if guarding() is None or conn.proxy is not None:
        yield
        return
    name = conn._dns_host  # the name urllib3 dials; there is no public way to set it
    try:
        conn._dns_host = public_address(name, conn.port)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    try:
        yield
    finally:
        conn._dns_host = name


def check_reused(conn: HTTPConnection) -> None:
    """While guarding, refuse a pooled direct connection whose peer is not public."""
    if conn.sock is not None and conn.proxy is None:
        check_peer(conn.sock, conn.host)
