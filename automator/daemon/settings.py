"""What the daemon is told: plain values, built by the CLI from automator.yaml and options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from automator.daemon.shards import UNSHARDED, Shard
from automator.secrets import Secret


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    """How often, where it listens, and how it stops."""

    interval: float = 300.0  # seconds between reconciles of a source (before jitter)
    jitter: float = 0.1  # each wait is interval * (1 +- jitter)
    listen: tuple[str, int] = ("", 8080)  # host ("" for every address) and port
    state_dir: Path = Path("/var/lib/automator")  # created at start; /readyz checks it is writable
    workers: int = 4  # sources reconciled at the same time
    shutdown_timeout: float = 25.0  # seconds a stop waits for reconciles in progress
    unready_after_failures: int = 3  # /readyz fails once a source failed this many times in a row
    shard: Shard = UNSHARDED  # this replica reconciles only the sources this shard owns

    def __post_init__(self) -> None:
        if self.unready_after_failures < 1:
            raise ValueError(
                f"DaemonSettings: unready_after_failures {self.unready_after_failures} must be >= 1"
            )
        if self.interval <= 0 or not 0 <= self.jitter < 1:
            raise ValueError(
                f"DaemonSettings: interval {self.interval} must be > 0 and jitter"
                f" {self.jitter} in [0, 1)"
            )


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Who may send webhooks (the shared secret) and how much they may send."""

    secret: Secret  # the shared token or HMAC key; its repr is Secret('***')
    max_body_bytes: int = 1_048_576  # larger bodies get 413 without being read
    requests_per_second: float = 10.0  # per sender address, refilled continuously
    burst: int = 100  # per sender address
    peers: tuple[str, ...] = ()  # the other replicas' base URLs: each delivery is forwarded
