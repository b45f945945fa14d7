"""A repository with more tags than max_tags: never "up to date" on a listing cut short.

The real registry holds 120 ``sha-…`` tags and the real versions after them
(``v1.…`` sorts past ``sha-``), as a repository with a tag per commit does.
"""

from __future__ import annotations

from pathlib import Path

from testing.gitserver import GitDaemon, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator

SHAS = [f"sha-{i:04x}" for i in range(120)]
VERSIONS = ["v1.4.2", "v1.4.3", "v1.5.0"]
WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  annotations:
    automator.dev/policy.app: '{policy}'
spec:
  template:
    spec:
      containers:
        - name: app
          image: {image}:v1.4.2
"""


def test_a_listing_past_max_tags_is_an_error_unless_the_policy_has_a_prefix(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    pusher.tag("percommit/api", SHAS + VERSIONS)
    image = f"{registry.host}/percommit/api"
    files = {
        "apps/plain.yaml": WORKLOAD.format(name="plain", policy="semver:~1.4", image=image),
        "apps/anchored.yaml": WORKLOAD.format(
            name="anchored", policy='semver:~1.4;filter="^v1\\."', image=image
        ),
    }
    make_bare_repo(git_daemon.base / "fleet.git", files)
    config = tmp_path / "automator.yaml"
    config.write_text(
        f"sources:\n  - name: fleet\n    url: {git_daemon.url('fleet.git')}\n    paths: [apps]\n"
        f"registries:\n  - host: {registry.host}\n    insecure: true\n    max_tags: 50\n"
        f"state_dir: {tmp_path / 'state'}\n"
    )
    result = automator("plan", "--config", str(config), cwd=tmp_path)
    assert result.returncode != 0  # a site could not be decided: not "up to date"
    skipped = [line for line in result.stderr.splitlines() if ": skipped " in line]
    assert skipped == [
        f"# fleet: skipped apps/plain.yaml:12: {image}: the tag listing is incomplete"
        " (stopped at 50 tags (max_tags)), so the policy was not applied; raise max_tags"
        f" for {registry.host} under registries: in automator.yaml, or anchor the policy"
        " on a prefix (filter=^v1\\.) so that only its tags are listed"
    ]
    # the anchored policy can only pick v1.* tags: listed on their own, it is decided
    assert f"-          image: {image}:v1.4.2\n+          image: {image}:v1.4.3" in result.stdout
    assert "apps/plain.yaml" not in result.stdout
