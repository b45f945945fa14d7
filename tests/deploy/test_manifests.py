"""deploy/kubernetes renders, passes strict schema validation, and a real API server takes it.

The schema check (kubernetes-validate) catches unknown fields and wrong types offline; the
API server catches what only its validation sees, such as a selector that does not match
its template. Both run here, on the shipped manifests and on a deliberately broken copy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testing import MissingServer
from testing.kube import ApiServer, kubectl
from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "kubernetes"
SHARDS = ROOT / "deploy" / "kubernetes-shards"  # the StatefulSet variant, an overlay of DEPLOY


def render(directory: Path) -> str:
    try:
        tool = kubectl()
    except MissingServer as exc:
        need(exc)
    return subprocess.run(
        [tool, "kustomize", str(directory)], capture_output=True, text=True, check=True
    ).stdout


def validate(rendered: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "rendered.yaml"
    path.write_text(rendered)
    # the 1.30 schemas: a version the shipped manifests must keep working on
    return subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", "1.30.0", str(path)],
        capture_output=True,
        text=True,
    )


def test_shipped_manifests_validate_strictly(tmp_path: Path) -> None:
    rendered = render(DEPLOY)
    kinds = [
        line.split(":", 1)[1].strip() for line in rendered.splitlines() if line.startswith("kind:")
    ]
    assert sorted(kinds) == ["ConfigMap", "Deployment", "Namespace", "Service", "ServiceAccount"]
    result = validate(rendered, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_statefulset_variant_validates_strictly(tmp_path: Path) -> None:
    rendered = render(SHARDS)
    kinds = [
        line.split(":", 1)[1].strip() for line in rendered.splitlines() if line.startswith("kind:")
    ]
    assert sorted(kinds) == [
        "ConfigMap", "Namespace", "Service", "Service", "ServiceAccount", "StatefulSet"
    ]  # fmt: skip
    result = validate(rendered, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unknown_field_is_caught_offline(tmp_path: Path) -> None:
    broken = copy_deploy(tmp_path)
    text = (broken / "deployment.yaml").read_text()
    (broken / "deployment.yaml").write_text(text.replace("strategy:", "stratgey:", 1))
    result = validate(render(broken), tmp_path)
    assert result.returncode != 0
    assert "stratgey" in result.stdout + result.stderr


def test_real_api_server_accepts_the_shipped_manifests(api_server: ApiServer) -> None:
    applied = api_server.kubectl("apply", "-k", str(DEPLOY), check=False)
    assert applied.returncode == 0, applied.stderr
    secrets = api_server.kubectl(
        "apply", "-n", "automator", "-f", str(DEPLOY / "secrets.example.yaml"), check=False
    )
    assert secrets.returncode == 0, secrets.stderr
    got = api_server.kubectl("get", "-n", "automator", "deployment/automator", "-o", "json")
    spec = json.loads(got.stdout)["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsUser"] == 10001
    assert spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_real_api_server_accepts_the_statefulset_variant(
    api_server: ApiServer, tmp_path: Path
) -> None:
    api_server.kubectl("create", "namespace", "shards", check=False)
    rendered = tmp_path / "shards.yaml"  # its own namespace: the Deployment test uses automator
    rendered.write_text(render(SHARDS).replace("namespace: automator", "namespace: shards"))
    applied = api_server.kubectl("apply", "-f", str(rendered), check=False)
    assert applied.returncode == 0, applied.stderr
    got = api_server.kubectl("get", "-n", "shards", "statefulset/automator", "-o", "json")
    spec = json.loads(got.stdout)["spec"]
    env = {e["name"]: e["value"] for e in spec["template"]["spec"]["containers"][0]["env"]}
    assert env["AUTOMATOR_REPLICAS"] == str(spec["replicas"])  # the ordinal's range
    assert spec["serviceName"] == "automator-shards"
    headless = api_server.kubectl("get", "-n", "shards", "service/automator-shards", "-o", "json")
    assert json.loads(headless.stdout)["spec"]["clusterIP"] == "None"
    assert (
        "{index}" in env["AUTOMATOR_PEER_URL"] and "automator-shards" in env["AUTOMATOR_PEER_URL"]
    )
    assert "{index}.automator-shards:" in env["AUTOMATOR_PEER_URL"]  # the headless names
    missing = api_server.kubectl("get", "-n", "shards", "deployment/automator", check=False)
    assert missing.returncode != 0  # the variant replaces the Deployment


def test_selector_that_misses_its_template_is_refused(
    api_server: ApiServer, tmp_path: Path
) -> None:
    broken = copy_deploy(tmp_path)
    deployment = broken / "deployment.yaml"
    text = deployment.read_text()
    marker = "matchLabels: {app.kubernetes.io/name: automator}"
    assert marker in text
    deployment.write_text(text.replace(marker, "matchLabels: {app.kubernetes.io/name: other}"))
    (broken / "kustomization.yaml").write_text(
        (broken / "kustomization.yaml")
        .read_text()
        .replace("namespace: automator", "namespace: broken")
        .replace("  - namespace.yaml\n", "")
    )
    api_server.kubectl("create", "namespace", "broken", check=False)
    # the offline schema check cannot see it: the fields are all well-formed
    assert validate(render(broken), tmp_path).returncode == 0
    refused = api_server.kubectl("apply", "-k", str(broken), check=False)
    assert refused.returncode != 0
    assert "selector" in refused.stderr and "does not match template" in refused.stderr
    missing = api_server.kubectl("get", "-n", "broken", "deployment/automator", check=False)
    assert missing.returncode != 0  # nothing half-applied for the refused object


def copy_deploy(tmp_path: Path) -> Path:
    target = tmp_path / "kubernetes"
    shutil.copytree(DEPLOY, target)
    return target


@pytest.fixture(autouse=True)
def _validator() -> None:
    try:
        import kubernetes_validate  # noqa: F401
    except ImportError:
        need(MissingServer("kubernetes-validate not installed; pip install -e '.[test]'"))
