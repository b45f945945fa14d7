"""How changes are written: commit settings, the signer, the forge for pull requests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from automator.adapters._secrets import read_secret
from automator.config import Config
from automator.engine import WriteSettings
from automator.errors import ConfigError
from automator.forges import Forge, make_forge
from automator.git import GpgSigner, Identity, Signer, SshSigner
from automator.write import CommitSettings, PullRequestSettings

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
