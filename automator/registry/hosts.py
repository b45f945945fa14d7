"""Which registry hosts automator may contact: the config repo never chooses one.

An image reference in a committed file names a host, and whoever can commit can
write any host there. So ``registries:`` in automator.yaml is an allow-list: a host
listed there is contacted as configured; any other host is refused before a single
byte is sent, unless ``allow_unlisted_registries`` names it (``true``, or patterns).
A host let in that way is chosen by the config repo, so it may only be reached at a
public address (``automator.http.address``): never loopback, private or link-local.

A pattern is matched against ``host[:port]`` as the image names it, lower-cased, with
Docker Hub's spellings folded to ``docker.io``. ``*`` matches any run of characters
and ``?`` one, within the host part; the port part is matched on its own:

    ghcr.io        ghcr.io only, on the default port (443)
    *.example.com  any host under example.com, on the default port only
    *.corp:5000    port 5000 only;  *.corp:*  any port, or none
    *              any host on the default port;  * and *:*  (``true``) every host
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from automator.reference import normalise_domain

EVERY_HOST = ("*", "*:*")  # what ``allow_unlisted_registries: true`` means


def split_port(host: str) -> tuple[str, str | None]:
    """``("ghcr.io", None)``, ``("127.0.0.1", "5000")``, ``("[::1]", "5000")``."""
    name, sep, port = host.rpartition(":")
    if not sep or "]" in port or (name.startswith("[") is not name.endswith("]")):
        return host, None  # no port, or a bare IPv6 literal's own colons
    return name, port


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    parts = ("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def host_matches(pattern: str, host: str) -> bool:
    """Whether ``host`` (as an image names it) matches ``pattern``; see the module docstring."""
    name, port = split_port(normalise_domain(host.lower()))
    want_name, want_port = split_port(normalise_domain(pattern.lower()))
    if port is None:
        ports_match = want_port in (None, "*")
    elif want_port is None:
        ports_match = False  # a pattern without a port means the default port only
    else:
        ports_match = _glob(want_port).fullmatch(port) is not None
    return ports_match and _glob(want_name).fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class RegistryHosts:
    """The hosts listed under ``registries:`` and the patterns that let in others."""

    listed: frozenset[str] = frozenset()  # lower-case keys (``RegistrySettings.key``)
    unlisted: tuple[str, ...] = ()  # ``allow_unlisted_registries`` patterns

    @classmethod
    def of(cls, listed: Iterable[str], unlisted: Iterable[str] = ()) -> RegistryHosts:
        """From host names as written in automator.yaml."""
        return cls(frozenset(normalise_domain(h.lower()) for h in listed), tuple(unlisted))

    def is_listed(self, host: str) -> bool:
        return normalise_domain(host.lower()) in self.listed

    def admits(self, host: str) -> bool:
        """Whether ``host`` may be contacted at all (listed, or let in by a pattern)."""
        return self.is_listed(host) or any(host_matches(p, host) for p in self.unlisted)

    def refusal(self, name: str, host: str) -> str:
        """The one line for an image on a host that may not be contacted."""
        return (
            f"{name}: registry {host} is not listed under registries: in automator.yaml,"
            " so it was not contacted; list it there, or let it in with"
            " allow_unlisted_registries"
        )
