"""The adapters one reconcile needs, built from automator.yaml.

Registry client (with its persistent cache), Git repositories with their
credentials, and the commit signer. Secrets are read from the environment or files
here, at the edge, and travel on as ``Secret`` values.
"""

from __future__ import annotations

from pathlib import Path

import requests

from automator.config import Config, Source
from automator.errors import ConfigError
from automator.git import GitAuth, GitRepo, GpgSigner, Signer, SshSigner
from automator.registry import RegistryCache, RegistryClient, RegistrySettings
from automator.secrets import secret_from


def registry_settings(config: Config) -> list[RegistrySettings]:
    """Registry settings from the config, secrets read from env or files."""
    result = []
    for index, entry in enumerate(config.registries):
        password = None
        if entry.password_env or entry.password_file:
            password = secret_from(
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


def registry_client(
    config: Config, state_dir: Path | None = None, *, session: requests.Session | None = None
) -> RegistryClient:
    """A client for every configured registry; with ``state_dir``, a persistent cache."""
    cache = None
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        cache = RegistryCache(state_dir / "registry-cache.sqlite")
    return RegistryClient(registry_settings(config), cache=cache, session=session)


def git_auth(source: Source, index: int = 0) -> GitAuth | None:
    """Credentials for ``source``'s remote, secrets read from env or files."""
    auth = source.auth
    if auth is None:
        return None
    what = f"sources[{index}] ({source.name}) auth"
    password = None
    if auth.token_env or auth.token_file:
        password = secret_from(env=auth.token_env, file=auth.token_file, what=f"{what} token")
    elif auth.password_env or auth.password_file:
        password = secret_from(
            env=auth.password_env, file=auth.password_file, what=f"{what} password"
        )
    username = auth.username
    if password is not None and username is None:
        username = "x-access-token"
    passphrase = None
    if auth.ssh_passphrase_env:
        passphrase = secret_from(env=auth.ssh_passphrase_env, what=f"{what} ssh passphrase")
    return GitAuth(
        username=username,
        password=password,
        ssh_key_file=Path(auth.ssh_key_file) if auth.ssh_key_file else None,
        ssh_passphrase=passphrase,
        known_hosts_file=Path(auth.known_hosts_file) if auth.known_hosts_file else None,
        accept_unknown_hosts=auth.accept_unknown_hosts,
        ca_file=Path(auth.ca_file) if auth.ca_file else None,
    )


def open_repo(source: Source, state_dir: Path, index: int = 0) -> GitRepo:
    return GitRepo(source.url, source.branch, state_dir / "git", auth=git_auth(source, index))


def signer(config: Config) -> Signer | None:
    """The commit signer the config asks for, if any."""
    sign = config.write.commit.sign
    if sign is None:
        return None
    if sign.ssh_key_file:
        passphrase = None
        if sign.ssh_passphrase_env:
            passphrase = secret_from(env=sign.ssh_passphrase_env, what="write.commit.sign")
        return SshSigner.from_file(Path(sign.ssh_key_file), passphrase)
    if sign.gpg_key:
        return GpgSigner(sign.gpg_key, Path(sign.gpg_home) if sign.gpg_home else None)
    raise ConfigError("write.commit.sign: name ssh_key_file or gpg_key")
