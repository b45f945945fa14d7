"""How changes are written: commit settings, the signer, the forge for pull requests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from automator.adapters._secrets import read_secret
from automator.adapters.sources import side_ref
from automator.config import Config, Source
from automator.engine import SourceSettings, WriteSettings
from automator.errors import ConfigError
from automator.forges import Forge, issues_of, make_forge
from automator.git import GpgSigner, Identity, Signer, SshSigner
from automator.write import CommitSettings, Dashboard, PullRequestSettings
from automator.write.dashboard import REF_PREFIX

PUBLIC_API = {
    "github": "https://api.github.com",
    "gitlab": "https://gitlab.com",
    "gitea": "https://gitea.com",
    "forgejo": "https://codeberg.org",
}


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
    if config.write.mode != "pull-request":
        return None
    return _any_forge(config)


def dashboard_title(config: Config, source: Source) -> str | None:
    """The title of ``source``'s status issue, None when it keeps none."""
    if not config.dashboard_for(source) or config.write.mode == "dry-run":
        return None
    return config.write.dashboard_title.replace("{source}", source.name)


def dashboard_factory(
    config: Config, state_dir: Path
) -> Callable[[SourceSettings], Dashboard] | None:
    """Builds a source's dashboard: the forge's issues (token read at each call) and the
    config repo's side refs, which decide who may create it."""
    forge = _any_forge(config)
    if forge is None or not any(dashboard_title(config, s) for s in config.sources):
        return None
    entries = {s.name: (index, s) for index, s in enumerate(config.sources)}
    author = Identity.parse(config.write.commit.author)

    def dashboard(source: SourceSettings) -> Dashboard:
        index, entry = entries[source.name]
        side = side_ref(entry, state_dir, index, REF_PREFIX + source.name)
        title = source.dashboard or source.name
        return Dashboard(source.name, title, issues_of(forge()), side, author)

    return dashboard


def _any_forge(config: Config) -> Callable[[], Forge] | None:
    settings = config.write.forge
    if settings is None:
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
