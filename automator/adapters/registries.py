"""The registry client and its settings, from ``registries:`` in automator.yaml."""

from __future__ import annotations

from pathlib import Path

from automator.adapters._secrets import read_secret
from automator.config import Config
from automator.registry import RegistryCache, RegistryClient, RegistrySettings
from automator.registry.hosts import EVERY_HOST, RegistryHosts
from automator.registry.settings import MAX_PAGES, PAGE_SIZE


def registry_settings(config: Config) -> list[RegistrySettings]:
    """Registry settings from the config, secrets read from env or files."""
    result = []
    for index, entry in enumerate(config.registries):
        password = None
        if entry.password_env or entry.password_file:
            password = read_secret(
                env=entry.password_env,
                file=entry.password_file,
                what=f"registries[{index}] ({entry.host}) password",
            )
        result.append(
            RegistrySettings(
                host=entry.host,
                insecure=entry.insecure,
                username=entry.username,
                password=password,
                docker_config=entry.docker_config,
                ca_bundle=entry.ca_bundle,
                client_cert=entry.client_cert,
                client_key=entry.client_key,
                requests_per_second=entry.requests_per_second,
                max_concurrency=entry.max_concurrency,
                token_realm_hosts=tuple(h.lower() for h in entry.token_realm_hosts),
                private_redirects=entry.private_redirects,
                max_tags=entry.max_tags,
                max_pages=max(MAX_PAGES, entry.max_tags // PAGE_SIZE + 2),
            )
        )
    return result


def registry_client(config: Config, state_dir: Path | None = None) -> RegistryClient:
    """A client for every configured registry; with ``state_dir``, a persistent cache."""
    cache = None
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        cache = RegistryCache(state_dir / "registry-cache.sqlite")
    return RegistryClient(
        registry_settings(config), cache=cache, unlisted=unlisted_patterns(config)
    )


def unlisted_patterns(config: Config) -> tuple[str, ...]:
    """``allow_unlisted_registries`` as host patterns (``true`` is every host)."""
    allowed = config.allow_unlisted_registries
    if allowed is True:
        return EVERY_HOST
    return tuple(allowed) if allowed else ()


def registry_hosts(config: Config) -> RegistryHosts:
    """Which registry hosts may be contacted; reads no secret (``automator check``)."""
    return RegistryHosts.of((r.host for r in config.registries), unlisted_patterns(config))
