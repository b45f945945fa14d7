"""The config repositories: their settings, credentials and bare clones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from automator.adapters._secrets import read_secret
from automator.config import Config, Source
from automator.engine import SourceSettings
from automator.firstseen import FILE, REF_PREFIX, FirstSeenStore
from automator.git import GitAuth, GitRepo, Identity
from automator.git.history import SHALLOW_DEPTH
from automator.git.sideref import SideRef
from automator.manifests.rules import Rule
from automator.write import Repository


def source_settings(
    source: Source,
    rules: tuple[Rule, ...] = (),
    author_email: str = "",
    dashboard: str | None = None,
) -> SourceSettings:
    return SourceSettings(
        source.name,
        source.url,
        source.branch,
        tuple(source.paths),
        rules,
        follow=source.follow,
        author_email=author_email,
        dashboard=dashboard,
    )


def rules(config: Config) -> tuple[Rule, ...]:
    """``rules:`` as the scan reads them: each policy with its options folded in."""
    return tuple(
        Rule(
            name=entry.name or f"rules[{index}]",
            policy=entry.policy_text(),
            paths=tuple(entry.paths),
            images=tuple(entry.images),
            kinds=tuple(entry.kinds),
            namespaces=tuple(entry.namespaces),
            containers=tuple(entry.containers),
            hold=(entry.hold or "").strip(),
            charts=tuple(entry.charts),
        )
        for index, entry in enumerate(config.rules)
    )


def repositories(config: Config, state_dir: Path) -> Callable[[SourceSettings], Repository]:
    """Opens a source's bare clone, reading its credentials at each call (they may rotate)."""
    by_name = {s.name: (index, s) for index, s in enumerate(config.sources)}

    def repo(source: SourceSettings) -> Repository:
        index, entry = by_name[source.name]
        return open_repo(entry, state_dir, index, branch=source.branch)

    return repo


def first_seen_stores(
    config: Config, state_dir: Path
) -> Callable[[SourceSettings], FirstSeenStore]:
    """Each source's first-seen record, on ``refs/automator/first-seen/<source>`` of its
    remote, written as automator's commit author; credentials read at each call."""
    by_name = {s.name: (index, s) for index, s in enumerate(config.sources)}
    author = Identity.parse(config.write.commit.author)

    def store(source: SourceSettings) -> FirstSeenStore:
        index, entry = by_name[source.name]
        return FirstSeenStore(
            side_ref(entry, state_dir, index, REF_PREFIX + source.name, FILE), author
        )

    return store


def side_ref(
    source: Source, state_dir: Path, index: int, ref: str, path: str | None = None
) -> SideRef:
    """``ref`` on ``source``'s remote (``automator.git.sideref``), read and written through
    one small bare clone of its own under ``state_dir/side-refs``: read while the branch's
    clone is locked for a write, and never fetched or pruned with the branch."""
    return SideRef(open_repo(source, state_dir / "side-refs", index), ref, path)


def first_seen_times(config: Config, state_dir: Path, repository: str) -> dict[str, datetime]:
    """When automator first saw each tag of ``repository``, by any source's record (the
    earliest); read only (``explain``). A record that cannot be read is one warning."""
    stores = first_seen_stores(config, state_dir)
    times: dict[str, datetime] = {}
    for entry in config.sources:
        recorded = stores(source_settings(entry)).read()
        for (repo, tag), when in recorded.times.items():
            if repo == repository:
                times[tag] = min(when, times.get(tag, when))
    return times


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


def open_repo(
    source: Source, state_dir: Path, index: int = 0, *, branch: str | None = None
) -> GitRepo:
    """``source``'s bare clone under ``state_dir``, with its credentials read now.

    ``branch`` overrides ``source.branch`` (a followed automation's checkout branch).
    """
    return GitRepo(
        source.url,
        branch or source.branch,
        state_dir / "git",
        auth=git_auth(source, index),
        deadline_s=source.git_deadline_seconds,
        depth=SHALLOW_DEPTH if source.shallow else 0,
    )
