"""verify=cosign end to end: the real registry, signatures in cosign's layout, the CLI.

A signed tag is adopted and a newer unsigned (or wrongly signed) tag is refused, with
its reason in ``automator explain``; with pin-digest the digest written is the one
whose signature was checked.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from testing.cosign import (
    SIGSTORE_BUNDLE,
    Signer,
    bundle_manifest,
    push_fallback_index,
    push_referrer,
)
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from testing.sigstore import Sigstore
from tests.e2e.test_skeleton import automator, commits

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    automator.dev/policy.api: "{policy}"
spec:
  template:
    spec:
      containers:
        - name: api
          image: {image}
"""


def explain_rows(stdout: str) -> dict[str, str]:
    """``automator explain``'s table: tag -> verdict."""
    return {line.split()[0]: line.split(None, 1)[1] for line in stdout.splitlines()[1:]}


def config_text(url: str, registry: str, key: Path, state: Path) -> str:
    return f"""\
sources:
  - name: fleet
    url: {url}
    paths: [apps]
write:
  commit:
    author: "automator <automator@example.test>"
registries:
  - host: {registry}
    insecure: true
cosign:
  keys: [{key}]
state_dir: {state}
"""


@pytest.fixture
def signed(tmp_path: Path, registry: Registry, pusher: Pusher) -> dict[str, object]:
    """1.0.0 and 1.1.0 signed by our key, 1.2.0 unsigned, 1.3.0 signed by another key."""
    repo = f"acme/api-{uuid.uuid4().hex[:8]}"
    digests = {
        t: pusher.tag(repo, [t], content=t.encode()) for t in ("1.0.0", "1.1.0", "1.2.0", "1.3.0")
    }
    ours, theirs = Signer(), Signer("ed25519")
    ours.push_signature(pusher, repo, digests["1.0.0"])
    ours.push_signature(pusher, repo, digests["1.1.0"])
    theirs.push_signature(pusher, repo, digests["1.3.0"])
    key = tmp_path / "cosign.pub"
    key.write_bytes(ours.public_pem())
    return {"image": f"{registry.host}/{repo}", "digests": digests, "key": key}


def fleet(
    tmp_path: Path,
    git_daemon: GitDaemon,
    registry: Registry,
    signed: dict[str, object],
    *,
    policy: str,
    image: str,
) -> tuple[Path, Path]:
    remote = make_bare_repo(
        git_daemon.base / "fleet.git",
        {"apps/api.yaml": DEPLOYMENT.format(policy=policy, image=image)},
    )
    key = signed["key"]
    assert isinstance(key, Path)
    config = tmp_path / "automator.yaml"
    config.write_text(
        config_text(git_daemon.url("fleet.git"), registry.host, key, tmp_path / "state")
    )
    return remote, config


def test_the_signed_tag_is_adopted_and_the_newer_unsigned_ones_refused(
    tmp_path: Path, git_daemon: GitDaemon, registry: Registry, signed: dict[str, object]
) -> None:
    image = signed["image"]
    policy = "semver:^1;verify=cosign"
    remote, config = fleet(
        tmp_path, git_daemon, registry, signed, policy=policy, image=f"{image}:1.0.0"
    )
    before = commits(remote)

    run = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert len(commits(remote)) == len(before) + 1
    text = git("show", "main:apps/api.yaml", cwd=remote)
    assert f"image: {image}:1.1.0\n" in text
    assert f"{image} 1.0.0 -> 1.1.0 in apps/api.yaml" in run.stderr

    explained = automator(
        "explain", f"{image}:1.1.0", "--policy", policy, "--config", str(config), cwd=tmp_path
    )
    assert explained.returncode == 0, explained.stderr
    rows = explain_rows(explained.stdout)
    digests = signed["digests"]
    assert isinstance(digests, dict)
    assert rows["1.1.0"].startswith("selected (already running)")
    assert rows["1.2.0"] == (
        f"unsigned: {digests['1.2.0'][:19]}: no cosign signature found"
        f" (tag {digests['1.2.0'].replace(':', '-')[:20]}…, referrers)"
    )
    key = signed["key"]
    assert rows["1.3.0"] == (
        f"unsigned: {digests['1.3.0'][:19]}: the signature does not verify with {key}"
    )

    again = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(commits(remote)) == len(before) + 1


def test_pin_digest_writes_the_digest_whose_signature_was_checked(
    tmp_path: Path, git_daemon: GitDaemon, registry: Registry, signed: dict[str, object]
) -> None:
    image, digests = signed["image"], signed["digests"]
    assert isinstance(digests, dict)
    current = f"{image}:1.0.0@{digests['1.0.0']}"
    remote, config = fleet(
        tmp_path,
        git_daemon,
        registry,
        signed,
        policy="semver:^1;verify=cosign;pin-digest",
        image=current,
    )
    run = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    text = git("show", "main:apps/api.yaml", cwd=remote)
    assert f"image: {image}:1.1.0@{digests['1.1.0']}\n" in text


def test_without_cosign_trust_nothing_is_adopted_and_it_is_an_error(
    tmp_path: Path, git_daemon: GitDaemon, registry: Registry, signed: dict[str, object]
) -> None:
    image = signed["image"]
    remote, config = fleet(
        tmp_path,
        git_daemon,
        registry,
        signed,
        policy="semver:^1;verify=cosign",
        image=f"{image}:1.0.0",
    )
    text = config.read_text()
    config.write_text(text[: text.index("cosign:")] + text[text.index("state_dir:") :])
    before = commits(remote)
    plan = automator("plan", "--config", str(config), cwd=tmp_path)
    assert plan.returncode == 2, plan.stderr  # a failed Site: a person must add trust
    assert plan.stdout == ""
    assert (
        f"skipped apps/api.yaml:12: {image}: verify=cosign, and no cosign trust for"
        f" {registry.host}; add cosign: (keys or keyless) to automator.yaml"
    ) in plan.stderr
    assert commits(remote) == before
    explained = automator(
        "explain",
        f"{image}:1.0.0",
        "--policy",
        "semver:^1;verify=cosign",
        "--insecure",
        cwd=tmp_path,
    )
    assert explained.returncode == 1
    assert "automator: error: " in explained.stderr and "no cosign trust" in explained.stderr


def test_keyless_from_automator_yaml_adopts_the_trusted_identity_only(
    tmp_path: Path, git_daemon: GitDaemon, registry: Registry, pusher: Pusher
) -> None:
    """cosign.keyless + trusted_root read from automator.yaml; bundles in the real registry."""
    sigstore = Sigstore()
    root = tmp_path / "trusted_root.json"
    root.write_text(json.dumps(sigstore.trusted_root()))
    repo = f"acme/api-{uuid.uuid4().hex[:8]}"
    digests = {t: pusher.tag(repo, [t], content=t.encode()) for t in ("1.0.0", "1.1.0", "1.2.0")}
    signers = {"1.0.0": "ci@acme.test", "1.1.0": "ci@acme.test", "1.2.0": "evil@acme.test"}
    for tag, identity in signers.items():
        bundle = sigstore.bundle(digests[tag], identity, "https://oidc.acme.test")
        manifest = bundle_manifest(pusher, repo, bundle)
        descriptor = push_referrer(pusher, repo, digests[tag], manifest, SIGSTORE_BUNDLE)
        push_fallback_index(pusher, repo, digests[tag], [descriptor])
    image = f"{registry.host}/{repo}"
    policy = "semver:^1;verify=cosign"
    remote = make_bare_repo(
        git_daemon.base / "fleet.git",
        {"apps/api.yaml": DEPLOYMENT.format(policy=policy, image=f"{image}:1.0.0")},
    )
    config = tmp_path / "automator.yaml"
    text = config_text(git_daemon.url("fleet.git"), registry.host, root, tmp_path / "state")
    keyless = (
        "cosign:\n  keyless:\n    - identity: ci@acme.test\n"
        f"      issuer: https://oidc.acme.test\n  trusted_root: {root}\n"
    )
    config.write_text(text.replace(f"cosign:\n  keys: [{root}]\n", keyless))

    run = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"image: {image}:1.1.0\n" in git("show", "main:apps/api.yaml", cwd=remote)
    explained = automator(
        "explain", f"{image}:1.1.0", "--policy", policy, "--config", str(config), cwd=tmp_path
    )
    assert explained.returncode == 0, explained.stderr
    rows = explain_rows(explained.stdout)
    assert rows["1.1.0"].startswith("selected (already running)")
    assert rows["1.2.0"] == (
        f"unsigned: {digests['1.2.0'][:19]}: keyless signature from evil@acme.test"
        " (issuer https://oidc.acme.test), not one of the cosign.keyless signers"
    )
