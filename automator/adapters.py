"""The wiring edge: everything automator talks to, built from automator.yaml.

This is the only module that reads secrets (environment variables and files named in
the config) and the only one that builds clients: the registry client, the Git
repositories, the commit signer, the forge. Every secret it reads is registered for
log redaction. What it hands on are frozen settings and ready clients, so no stage
below sees the pydantic ``Config``.

Credentials that rotate (Git tokens, the forge token) are read by factories each
time a reconcile opens a repository or a forge, so a rotated Secret needs no restart.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import requests

from automator.catalog import Registry, RegistryCatalog
from automator.config import Config, Source
from automator.engine import Adapters, Engine, SourceSettings, WriteSettings
from automator.errors import ConfigError
from automator.forges import Forge, make_forge
from automator.git import GitAuth, GitRepo, GpgSigner, Identity, Signer, SshSigner
from automator.logs import register_secret
from automator.registry import RegistryCache, RegistryClient, RegistrySettings
from automator.secrets import Secret, secret_from
from automator.write import CommitSettings, PullRequestSettings, Repository

PUBLIC_API = {
    "github": "https://api.github.com",
    "gitlab": "https://gitlab.com",
    "gitea": "https://gitea.com",
    "forgejo": "https://codeberg.org",
}


def read_secret(*, env: str | None = None, file: str | None = None, what: str) -> Secret:
    """A secret from ``env`` or ``file``, registered so no log line can show it."""
    return register_secret(secret_from(env=env, file=file, what=what))


def engine(
    config: Config,
    state_dir: Path,
    *,
    registry: Registry | None = None,
    max_age: float | None = None,
) -> Engine:
    """The engine for ``config``, its adapters built here.

    ``max_age`` keeps tag listings for that many seconds across reconciles (the
    daemon); without it a listing lasts as long as the engine (one ``run --once``).
    """
    client = registry if registry is not None else registry_client(config, state_dir)
    sources = tuple(source_settings(s) for s in config.sources)
    by_name = {s.name: (index, s) for index, s in enumerate(config.sources)}

    def repo(source: SourceSettings) -> Repository:
        index, entry = by_name[source.name]
        return open_repo(entry, state_dir, index)

    return Engine(
        Adapters(
            sources=sources,
            repo=repo,
            catalog=RegistryCatalog(client, max_age=max_age),
            write=write_settings(config),
            signer=signer(config),
            forge=forge_factory(config),
        )
    )


def scanner(config: Config, state_dir: Path) -> Engine:
    """An engine that only scans (``automator check``): it reads no registry, forge or
    signing secret, only what opening the sources' repositories needs."""
    sources = tuple(source_settings(s) for s in config.sources)
    by_name = {s.name: (index, s) for index, s in enumerate(config.sources)}

    def repo(source: SourceSettings) -> Repository:
        index, entry = by_name[source.name]
        return open_repo(entry, state_dir, index)

    commit = CommitSettings(Identity.parse(config.write.commit.author))
    catalog = RegistryCatalog(RegistryClient([]))
    return Engine(Adapters(sources, repo, catalog, WriteSettings("dry-run", commit)))


def source_settings(source: Source) -> SourceSettings:
    return SourceSettings(source.name, source.url, source.branch, tuple(source.paths))


def write_settings(config: Config) -> WriteSettings:
    """``write:`` as the engine and the writers take it."""
    write = config.write
    commit = CommitSettings(
        author=Identity.parse(write.commit.author),
        committer=Identity.parse(write.commit.committer) if write.commit.committer else None,
        message_template=write.commit.message_template,
        skip_ci=write.commit.skip_ci,
    )
    forge = write.forge
    pulls = PullRequestSettings(
        group=write.group,
        labels=tuple(forge.labels) if forge else (),
        auto_merge=forge.auto_merge if forge else False,
    )
    return WriteSettings(write.mode, commit, pulls)


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
        password = read_secret(env=auth.token_env, file=auth.token_file, what=f"{what} token")
    elif auth.password_env or auth.password_file:
        password = read_secret(
            env=auth.password_env, file=auth.password_file, what=f"{what} password"
        )
    username = auth.username
    if password is not None and username is None:
        username = "x-access-token"
    passphrase = None
    if auth.ssh_passphrase_env:
        passphrase = read_secret(env=auth.ssh_passphrase_env, what=f"{what} ssh passphrase")
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
    """``source``'s bare clone under ``state_dir``, with its credentials read now."""
    return GitRepo(source.url, source.branch, state_dir / "git", auth=git_auth(source, index))


def signer(config: Config) -> Signer | None:
    """The commit signer the config asks for, if any."""
    sign = config.write.commit.sign
    if sign is None:
        return None
    if sign.ssh_key_file:
        passphrase = None
        if sign.ssh_passphrase_env:
            passphrase = read_secret(env=sign.ssh_passphrase_env, what="write.commit.sign")
        return SshSigner.from_file(Path(sign.ssh_key_file), passphrase)
    if sign.gpg_key:
        return GpgSigner(sign.gpg_key, Path(sign.gpg_home) if sign.gpg_home else None)
    raise ConfigError("write.commit.sign: name ssh_key_file or gpg_key")


def forge_factory(config: Config) -> Callable[[], Forge] | None:
    """Builds the forge named by ``write.forge``, its token read at each call."""
    settings = config.write.forge
    if settings is None or config.write.mode != "pull-request":
        return None

    def forge() -> Forge:
        token = read_secret(
            env=settings.token_env, file=settings.token_file, what="write.forge token"
        )
        return make_forge(
            settings.kind,
            api_url=settings.api_url or PUBLIC_API[settings.kind],
            repository=settings.repository,
            token=token,
            max_wait_s=settings.max_wait,
        )

    return forge
