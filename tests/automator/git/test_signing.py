"""Signed commits that ``git verify-commit`` accepts: SSH (in-process and ssh-keygen), GPG."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from automator.git import GitRepo, GpgSigner, Signer, SshKeygenSigner, SshSigner
from automator.secrets import Secret
from testing.gitserver import GitDaemon, git
from testing.sshd import keygen
from tests.automator.git.test_write import BOT, bump


def verify(bare: Path, *config: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", "-c", "safe.directory=*", *config, "verify-commit", "-v", "main"],
        cwd=bare,
        capture_output=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stderr.decode()


@pytest.mark.parametrize("kind", ["ed25519-python", "rsa-python", "ssh-keygen"])
def test_ssh_signed_commit_verifies(
    kind: str, git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    key = tmp_path / "signing_key"
    if kind == "rsa-python":
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(key)], check=True
        )
    else:
        keygen(key)
    signer: Signer = (
        SshKeygenSigner(key) if kind == "ssh-keygen" else SshSigner(Secret(key.read_text()))
    )
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    assert repo.write(bump, author=BOT, sign=signer).commit is not None
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"{BOT.email} {Path(f'{key}.pub').read_text()}")
    said = verify(
        remotes / "fleet.git", "-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={allowed}"
    )
    assert 'Good "git" signature' in said


@pytest.fixture
def gnupg_home(tmp_path: Path) -> Iterator[Path]:
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed: apt-get install gnupg")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", f"automator <{BOT.email}>",
         "ed25519", "sign", "never"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    yield home
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)


def test_gpg_signed_commit_verifies(
    gnupg_home: Path, git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    signer = GpgSigner(BOT.email, gnupg_home=gnupg_home)
    assert repo.write(bump, author=BOT, sign=signer).commit is not None
    said = verify(remotes / "fleet.git", env={**os.environ, "GNUPGHOME": str(gnupg_home)})
    assert "Good signature" in said
    assert "gpgsig" in git("cat-file", "commit", "main", cwd=remotes / "fleet.git")


def test_unusable_signing_key_is_a_config_error(tmp_path: Path) -> None:
    from automator.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot load the signing key"):
        SshSigner(Secret("not a key"))
