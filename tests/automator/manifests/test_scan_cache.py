"""The scan cache keyed by blob id, on real Git commits: it finds what an uncached scan
finds, and it counts the parses it saves (``ScanResult.files_parsed`` and, through the
engine the daemon builds, ``Outcome.files_parsed``)."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from automator import adapters
from automator.catalog import RegistryCatalog
from automator.config import parse_config
from automator.engine import MAX_FILE_BYTES, Adapters, Engine, WriteSettings, scan_source
from automator.git import Identity, Snapshot
from automator.manifests.cache import SCANNER_VERSION, ScanCache, scan_tree
from automator.manifests.rules import Rule
from automator.manifests.scan import ScanResult
from automator.registry import RegistryClient
from automator.write import CommitSettings
from testing.gitserver import git
from tests.automator.manifests.test_scan import FLUX_OBJECTS, MARKED

DEPLOY = b"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api-%d
  annotations: {automator.dev/policy: "semver:^1"}
spec:
  template:
    spec:
      containers:
        - {name: api, image: "ghcr.io/acme/api:1.%d.0"}
"""
PLAIN = b"apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, image: nginx:1.%d}]\n"
FILES: dict[str, bytes | None] = {
    **{f"apps/api-{i}.yaml": DEPLOY % (i, i) for i in range(4)},
    "apps/marked.yaml": MARKED,
    "apps/plain.yaml": PLAIN % 1,
    "apps/values.yaml": b"tag: 1.0.0 # automator: semver:~1 ghcr.io/acme/web\n",
    "apps/broken.yaml": b"a: [1\n# automator: x\n",
    "apps/bin.yaml": b"\x00\x01automator",
    "apps/README.md": b"automator",
    "flux/policies.yaml": FLUX_OBJECTS,
}
RULES = (Rule(name="pods", policy="semver:^1", kinds=("Pod",)),)
PATHS = [(".",), ("apps",), ("apps", "missing")]


class Repo:
    """A work tree whose commits are read as the engine reads its bare clone."""

    def __init__(self, root: Path) -> None:
        self.root = root
        git("init", "-q", str(root))

    def commit(self, files: dict[str, bytes | None]) -> str:
        for path, data in files.items():
            target = self.root / path
            if data is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        git("add", "-A", cwd=self.root)
        git("commit", "-q", "--allow-empty", "-m", "change", cwd=self.root)
        return git("rev-parse", "HEAD", cwd=self.root).strip()

    def snapshot(self, commit: str) -> Snapshot:
        return Snapshot(pygit2.Repository(str(self.root)), commit)


def scan(
    repo: Repo,
    commit: str,
    paths: tuple[str, ...],
    cache: ScanCache | None,
    rules: tuple[Rule, ...] = (),
) -> tuple[ScanResult, list[tuple[str, str]]]:
    snapshot = repo.snapshot(commit)
    result = scan_source(snapshot, paths, remote="git://x/fleet.git", rules=rules, cache=cache)
    return result, snapshot.skipped


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "work")
    (tmp_path / "work" / "apps").mkdir(parents=True)
    (tmp_path / "work" / "apps" / "link.yaml").symlink_to("api-0.yaml")
    return repo


@pytest.mark.parametrize("rules", [(), RULES])
@pytest.mark.parametrize("paths", PATHS)
def test_a_cached_scan_finds_what_an_uncached_one_finds(
    repo: Repo, paths: tuple[str, ...], rules: tuple[Rule, ...]
) -> None:
    cache = ScanCache()
    commits = [
        repo.commit(FILES),
        repo.commit({"apps/api-1.yaml": DEPLOY % (1, 7)}),
        repo.commit({"flux/policies.yaml": FLUX_OBJECTS.replace(b"5.0.x", b"5.1.x")}),
        repo.commit({"apps/plain.yaml": PLAIN % 2, "apps/api-3.yaml": None}),
        repo.commit({"apps/more/policies.yaml": FLUX_OBJECTS.replace(b"alpha", b"beta")}),
    ]
    for commit in [*commits, *commits]:  # each commit cold, then from the cache
        cached, cached_skips = scan(repo, commit, paths, cache, rules)
        plain, plain_skips = scan(repo, commit, paths, None, rules)
        assert cached.sites == plain.sites
        assert cached.skipped == plain.skipped
        assert cached.files_scanned == plain.files_scanned
        assert cached_skips == plain_skips
        assert cached.files_parsed <= plain.files_parsed


def test_the_cache_reparses_only_what_a_commit_changed(repo: Repo) -> None:
    cache = ScanCache()
    first = repo.commit(FILES)
    cold, _ = scan(repo, first, ("apps",), cache)
    assert cold.files_parsed == scan(repo, first, ("apps",), None)[0].files_parsed == 7
    assert scan(repo, first, ("apps",), cache)[0].files_parsed == 0  # unchanged commit
    one = repo.commit({"apps/api-2.yaml": DEPLOY % (2, 9)})
    assert scan(repo, one, ("apps",), cache)[0].files_parsed == 1
    readme = repo.commit({"apps/README.md": b"automator, again"})
    assert scan(repo, readme, ("apps",), cache)[0].files_parsed == 0  # not a manifest
    moved = repo.commit({"apps/api-9.yaml": DEPLOY % (9, 9)})
    assert scan(repo, moved, ("apps",), cache)[0].files_parsed == 1
    # an ImagePolicy changed: every file with a Site may resolve differently
    policy = repo.commit({"flux/policies.yaml": FLUX_OBJECTS.replace(b"5.0.x", b"5.2.x")})
    every = scan(repo, policy, ("apps",), None)[0].files_parsed
    assert scan(repo, policy, ("apps",), cache)[0].files_parsed == every == 8
    every = scan(repo, policy, ("apps",), None, RULES)[0].files_parsed
    assert scan(repo, policy, ("apps",), cache, RULES)[0].files_parsed == every == 9  # rules
    assert scan(repo, policy, ("apps",), cache)[0].files_parsed == 0  # both still cached


def test_flux_object_files_under_paths_are_parsed_again_after_a_change(repo: Repo) -> None:
    cache = ScanCache()
    first = repo.commit({**FILES, "apps/policies.yaml": FLUX_OBJECTS})
    assert scan(repo, first, ("apps",), cache)[0].files_parsed == 8
    one = repo.commit({"apps/api-0.yaml": DEPLOY % (0, 5)})
    assert scan(repo, one, ("apps",), cache)[0].files_parsed == 2  # that file, the policies


def test_argo_applications_bypass_the_cache(repo: Repo) -> None:
    application = b"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\n"
    cache = ScanCache()
    first = repo.commit({**FILES, "apps/app.yaml": application})
    cold = scan(repo, first, ("apps",), cache)[0].files_parsed
    one = repo.commit({"apps/api-0.yaml": DEPLOY % (0, 5)})
    assert scan(repo, one, ("apps",), cache)[0].files_parsed == cold
    assert scan(repo, one, ("apps",), cache)[0].files_parsed == cold  # no whole-scan entry


def test_a_cache_filled_by_an_older_scanner_is_not_reused(repo: Repo) -> None:
    cache = ScanCache()
    first = repo.commit(FILES)
    snapshot = repo.snapshot(first)

    def by(scanner: str) -> ScanResult:
        return scan_tree(
            snapshot, ["apps"], cache, remote="git://x/fleet.git", rules=(),
            max_bytes=MAX_FILE_BYTES, read=lambda path: None, scanner=scanner,
            uncached=lambda: scan_source(snapshot, ("apps",), remote="git://x/fleet.git"),
        )  # fmt: skip

    assert SCANNER_VERSION != "1"
    old = by("1")  # what the previous release filled the cache with
    assert old.files_parsed == 7 and by("1").files_parsed == 0
    assert len(cache.files) > 0
    new = by(SCANNER_VERSION)  # neither its whole scan nor a file of it is reused
    assert new.files_parsed == old.files_parsed == 7
    assert new.sites == scan(repo, first, ("apps",), None)[0].sites
    assert by(SCANNER_VERSION).files_parsed == 0


def test_the_cache_is_bounded(repo: Repo) -> None:
    cache = ScanCache(files=3, blobs=5, scans=1)
    first = repo.commit(FILES)
    scan(repo, first, ("apps",), cache)
    scan(repo, repo.commit({"apps/api-2.yaml": DEPLOY % (2, 9)}), ("apps",), cache)
    assert (len(cache.files), len(cache.blobs), len(cache.scans)) == (3, 5, 1)
    again, _ = scan(repo, first, ("apps",), cache)  # forgotten: parsed again, found the same
    assert again.sites == scan(repo, first, ("apps",), None)[0].sites
    assert again.files_parsed > 0


def test_the_daemons_engine_parses_nothing_on_an_unchanged_commit(
    repo: Repo, tmp_path: Path
) -> None:
    repo.commit(FILES)
    config = parse_config(
        {
            "sources": [{"name": "fleet", "url": str(repo.root), "paths": ["apps"]}],
            "write": {"mode": "dry-run"},
        }
    )
    engine = Engine(
        Adapters(
            sources=tuple(adapters.source_settings(s) for s in config.sources),
            repo=adapters.repositories(config, tmp_path / "state"),
            catalog=RegistryCatalog(RegistryClient([])),
            write=WriteSettings("dry-run", CommitSettings(Identity.parse("a <a@example.com>"))),
            scan_cache=ScanCache(),
        )
    )
    assert engine.reconcile("fleet").files_parsed == 7
    assert engine.reconcile("fleet").files_parsed == 0
    repo.commit({"apps/api-1.yaml": DEPLOY % (1, 8)})
    assert engine.reconcile("fleet").files_parsed == 1
