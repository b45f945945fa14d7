"""``automator init``: a starter automator.yaml from a directory or a Git URL."""

from __future__ import annotations

import uuid
from pathlib import Path

from automator.config import load_config
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
{annotations}spec:
  containers:
    - name: app
      image: {image}
"""


def pod(name: str, image: str, policy: str = "") -> str:
    annotations = f'  annotations:\n    automator.dev/policy: "{policy}"\n' if policy else ""
    return POD.format(name=name, image=image, annotations=annotations)


FILES = {
    "apps/web.yaml": pod("web", "ghcr.io/acme/web:2.3.1"),
    "apps/api.yaml": pod("api", "ghcr.io/acme/api:1.4.2", policy="semver:~1.4"),
    "infra/cache.yaml": pod("cache", "redis:7.2.4"),
    "infra/proxy.yaml": pod("proxy", "nginx:latest"),
    "README.md": "# fleet\n",
}


def test_init_a_work_tree_then_never_overwrite(tmp_path: Path) -> None:
    tree = tmp_path / "fleet"
    git("init", "-q", "-b", "prod", str(tree))
    for name, text in FILES.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    result = automator("init", "fleet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "automator.yaml"
    text = written.read_text()
    config = load_config(written)
    source = config.sources[0]
    assert (source.url, source.branch, source.paths) == (str(tree), "prod", ["apps", "infra"])
    assert [r.host for r in config.registries] == ["docker.io", "ghcr.io"]
    assert [(r.name, r.images, r.policy) for r in config.rules] == [
        ("major-2", ["ghcr.io/acme/web"], "semver:^2"),
        ("major-7", ["redis"], "semver:^7"),
    ]
    assert "#   nginx" in text  # its tag is not a version
    assert config.write.mode == "dry-run"

    again = automator("init", "fleet", cwd=tmp_path)
    assert again.returncode == 1
    assert again.stderr.strip() == (
        "automator: error: automator.yaml: exists, and init never overwrites it;"
        " pass --config with another path, or remove it"
    )
    assert written.read_text() == text


def test_init_from_a_url_then_plan_with_its_rules(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    repo = f"acme/api-{uuid.uuid4().hex[:8]}"
    pusher.tag(repo, ["1.0.0", "1.2.0", "2.0.0"])
    image = f"{registry.host}/{repo}"
    make_bare_repo(git_daemon.base / "fleet.git", {"apps/api.yaml": pod("api", f"{image}:1.0.0")})
    url = git_daemon.url("fleet.git")
    result = automator("init", url, "--config", "starter.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    starter = tmp_path / "starter.yaml"
    text = starter.read_text()
    assert f"  - host: {registry.host!r}".replace("'", '"') in text
    # the registry here answers plain HTTP, as the starter's comment foresees
    starter.write_text(
        text.replace("# insecure: true", "insecure: true") + f"state_dir: {tmp_path / 'state'}\n"
    )
    plan = automator("plan", "--config", str(starter), cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert f"+      image: {image}:1.2.0\n" in plan.stdout
