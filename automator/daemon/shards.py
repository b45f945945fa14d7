"""Which replica reconciles which source: rendezvous (highest-random-weight) hashing.

Each of ``count`` replicas gives every source a weight, a hash of the replica's index
and the source's key (its name and remote URL); the replica with the highest weight
owns the source. No coordinator is needed: every replica computes the same owner from
the same config. Going from N to N+1 replicas moves a source only when the new replica
wins it, about 1/(N+1) of them, and every moved source moves to the new replica.

Pure: no I/O. The index comes from ``--shard i/N`` or, in a StatefulSet, from the
pod's hostname ordinal (``automator-2`` is index 2); see :func:`shard_from_hostname`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from automator.errors import ConfigError

_SHARD_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_ORDINAL_RE = re.compile(r"-(\d+)$")


@dataclass(frozen=True, slots=True)
class Shard:
    """Replica ``index`` of ``count`` (``0 <= index < count``); ``Shard()`` owns everything."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ConfigError(f"shard {self.index}/{self.count}: use i/N with 0 <= i < N")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, name: str, remote: str) -> bool:
        """Whether this replica reconciles the source ``name`` at ``remote``."""
        return self.count == 1 or owner(source_key(name, remote), self.count) == self.index


UNSHARDED = Shard()  # one replica owns every source


def source_key(name: str, remote: str) -> str:
    """The stable key a source is hashed by: its name and its remote URL."""
    return f"{name}\n{remote}"


def weight(key: str, replica: int) -> int:
    """Replica ``replica``'s pseudo-random weight for ``key`` (64 bits, stable everywhere)."""
    digest = hashlib.blake2b(f"{replica}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(key: str, count: int) -> int:
    """The index, of ``count`` replicas, that owns ``key``: the one of highest weight."""
    return max(range(count), key=lambda replica: weight(key, replica))


def parse_shard(text: str) -> Shard:
    """``"2/4"`` -> ``Shard(2, 4)``; a ConfigError names what to write otherwise."""
    match = _SHARD_RE.match(text)
    if match is None:
        raise ConfigError(f"shard {text!r}: write i/N, e.g. 0/4 for the first of 4 replicas")
    return Shard(int(match[1]), int(match[2]))


def shard_from_hostname(hostname: str, replicas: int) -> Shard:
    """The shard of a StatefulSet pod: the ordinal ending its hostname, of ``replicas``."""
    match = _ORDINAL_RE.search(hostname.split(".", 1)[0])
    if match is None:
        raise ConfigError(
            f"replicas {replicas}: hostname {hostname!r} does not end in -<ordinal>;"
            " run as a StatefulSet pod or pass --shard i/N"
        )
    index = int(match[1])
    if index >= replicas:
        raise ConfigError(
            f"hostname {hostname!r}: ordinal {index} is not below replicas {replicas};"
            " set replicas (AUTOMATOR_REPLICAS) to the StatefulSet's replicas"
        )
    return Shard(index, replicas)
