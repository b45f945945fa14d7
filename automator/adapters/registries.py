"""The registry client and its settings, from ``registries:`` in automator.yaml."""

from __future__ import annotations

from pathlib import Path

from automator.adapters._secrets import read_secret
from automator.adapters.state import checked_state_dir
from automator.config import Config
from automator.errors import ConfigError
from automator.registry import RegistryCache, RegistryClient, RegistrySettings
from automator.registry.credentials import check_extra
from automator.registry.hosts import EVERY_HOST, RegistryHosts
from automator.registry.settings import MAX_PAGES, PAGE_SIZE


def registry_settings(config: Config) -> list[RegistrySettings]:
    """Registry settings from the config, secrets read from env or files."""
    result = []
    for index, entry in enumerate(config.registries):
        what = f"registries[{index}] ({entry.host})"
        password = None
        if entry.password_env:
            password = read_secret(env=entry.password_env, what=f"{what} password")
        elif entry.password_file and not Path(entry.password_file).is_file():
            # read at each use by registry.credentials (it rotates); a missing one fails now
            raise ConfigError(f"{what} password: cannot read {entry.password_file}; check the file")
        check_extra(entry.provider, entry.host)
        result.append(
            RegistrySettings(
                host=entry.host,
                insecure=entry.insecure,
                username=entry.username,
                password=password,
                password_file=None if entry.password_env else entry.password_file,
                provider=entry.provider,
                docker_config=entry.docker_config,
                ca_bundle=entry.ca_bundle,
                client_cert=entry.client_cert,
                client_key=entry.client_key,
                requests_per_second=entry.requests_per_second,
                max_concurrency=entry.max_concurrency,
                burst=entry.burst,
                preset=entry.preset,
                pull_reserve=entry.pull_reserve,
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
        cache = RegistryCache(checked_state_dir(state_dir) / "registry-cache.sqlite")
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
