"""Hostile chart repositories: a YAML bomb index, archives on another host, a version with a
newline. Each gets a one-line message, and nothing is written."""

from __future__ import annotations

import uuid
from pathlib import Path

from testing.gitserver import GitDaemon, make_bare_repo
from testing.helmrepo import Chart, HelmRepoServer, write_index
from tests.e2e.test_skeleton import automator, commits, write_config

BOMB = """\
apiVersion: v1
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
entries:
  web:
  - {name: web, version: 1.9.0, urls: [web-1.9.0.tgz], extra: *f}
"""
RELEASE = """\
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {{name: {name}}}
spec: {{url: "{url}"}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: {name}}}
spec:
  chart:
    spec:
      chart: web
      version: 1.0.0 # automator: semver:^1
      sourceRef: {{kind: HelmRepository, name: {name}}}
"""


def test_hostile_indexes_write_nothing(
    tmp_path: Path, helm_repo: HelmRepoServer, git_daemon: GitDaemon
) -> None:
    suffix = uuid.uuid4().hex[:8]
    bomb, foreign, newline = (f"{kind}-{suffix}" for kind in ("bomb", "foreign", "newline"))
    (helm_repo.root / bomb).mkdir()
    (helm_repo.root / bomb / "index.yaml").write_text(BOMB)
    index = write_index(helm_repo.root / foreign, [Chart("web", "1.0.0"), Chart("web", "1.1.0")])
    index.write_text(index.read_text().replace("- web-1.1.0.tgz", "- https://evil.example/w.tgz"))
    index = write_index(helm_repo.root / newline, [Chart("web", "1.0.0"), Chart("web", "1.2.0")])
    index.write_text(index.read_text().replace("version: 1.2.0", 'version: "1.2.0\\nx: y"'))
    text = "".join(RELEASE.format(name=n, url=helm_repo.url(n)) for n in (bomb, foreign, newline))
    remote = make_bare_repo(git_daemon.base / "hostile.git", {"apps/releases.yaml": text})
    config = write_config(
        tmp_path / "automator.yaml", git_daemon.url("hostile.git"), helm_repo.host
    )
    before = commits(remote)

    result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert commits(remote) == before, "nothing is written"
    lines = result.stderr.splitlines()
    said = {
        "anchors and aliases are refused in index.yaml": bomb,
        "has its archive on evil.example, another host; not a candidate": foreign,
        "1 versions in index.yaml dropped": newline,
    }
    for words, repo in said.items():
        found = [line for line in lines if words in line and repo in line]
        assert len(found) == 1, (words, result.stderr)
    assert result.returncode != 0, "the unreadable index is a failure a person must see"
