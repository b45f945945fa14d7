"""What the daemon is given: its settings, the webhook secret, and the notifier."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from automator.adapters._secrets import read_secret
from automator.config import Config, NotifyTarget, parse_listen
from automator.daemon import DaemonSettings, WebhookSettings
from automator.daemon.forward import peer_urls
from automator.daemon.shards import Shard, parse_shard, shard_from_hostname
from automator.notify import Notifier, Target


def daemon_settings(
    config: Config, state_dir: Path, *, workers: int = 4, shutdown_timeout: float = 25.0
) -> DaemonSettings:
    return DaemonSettings(
        interval=float(max(1, config.interval_seconds)),
        jitter=config.jitter,
        listen=parse_listen(config.listen),
        state_dir=state_dir,
        workers=workers,
        shutdown_timeout=shutdown_timeout,
        unready_after_failures=config.unready_after_failures,
        shard=shard(config),
    )


def shard(config: Config, hostname: str | None = None) -> Shard:
    """This replica's shard: ``shard`` (i/N) if set, else the ordinal ending the hostname
    (a StatefulSet pod's name) of ``replicas``; without either, every source."""
    if config.shard is not None:
        return parse_shard(config.shard)
    if config.replicas is None or config.replicas == 1:
        return Shard()
    return shard_from_hostname(hostname or socket.gethostname(), config.replicas)


def webhook_settings(config: Config) -> WebhookSettings | None:
    """The webhook secret and limits; None when ``webhooks:`` is not configured."""
    hooks = config.webhooks
    if hooks is None:
        return None
    what = "webhooks.secret_env" if hooks.secret_env else "webhooks.secret_file"
    return WebhookSettings(
        secret=read_secret(env=hooks.secret_env, file=hooks.secret_file, what=what),
        max_body_bytes=hooks.max_body_bytes,
        requests_per_second=hooks.requests_per_second,
        burst=hooks.burst,
        peers=peer_urls(config.peer_url, shard(config)) if config.peer_url else (),
    )


def notifier(config: Config) -> Notifier:
    """A notifier for every configured target, each URL read from env or a file."""
    settings = config.notifications
    kinds: tuple[tuple[Literal["slack", "webhook"], NotifyTarget | None], ...] = (
        ("slack", settings.slack),
        ("webhook", settings.webhook),
    )
    targets = []
    for kind, target in kinds:
        if target is None:
            continue
        what = f"notifications.{kind}.{'url_env' if target.url_env else 'url_file'}"
        url = read_secret(env=target.url_env, file=target.url_file, what=what)
        targets.append(Target(kind, url, frozenset(target.events)))
    return Notifier(targets, settings.timeout_seconds)
