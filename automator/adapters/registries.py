"""The registry client and its settings, from ``registries:`` in automator.yaml."""

from __future__ import annotations

from pathlib import Path

from automator.adapters._secrets import read_secret
from automator.adapters.state import checked_state_dir
from automator.config import Config
from automator.registry import RegistryCache, RegistryClient, RegistrySettings


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
            )
        )
    return result


def registry_client(config: Config, state_dir: Path | None = None) -> RegistryClient:
    """A client for every configured registry; with ``state_dir``, a persistent cache."""
    cache = None
    if state_dir is not None:
        cache = RegistryCache(checked_state_dir(state_dir) / "registry-cache.sqlite")
    return RegistryClient(registry_settings(config), cache=cache)
