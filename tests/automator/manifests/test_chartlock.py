"""Chart.yaml dependencies with Chart.lock: the digest as Helm computes it, or a refusal."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest

import policies
from automator.charts.lock import LockError, lock_digest, marshal
from automator.errors import AutomatorError
from automator.forges.grouping import GroupBy, group_changes
from automator.manifests import scan_files
from automator.model import ChartSource
from automator.plan import build_plan

# helm/helm internal/resolver/resolver_test.go TestHashReq: the digest Helm expects
HELM_VECTOR = "sha256:fb239e836325c5fa14b29d1540a13b7d3ba13151b67fe719f820e0ef6d66aaaf"
ALPINE = {"name": "alpine", "version": "0.1.0", "repository": "http://localhost:8879/charts"}

CHART = b"""\
apiVersion: v2
name: umbrella
version: 1.0.0
dependencies:
  - name: alpine
    version: 0.1.0 # automator: semver:~0.1
    repository: http://localhost:8879/charts
"""
LOCK = f"""\
dependencies:
- name: alpine
  repository: http://localhost:8879/charts
  version: 0.1.0
digest: {HELM_VECTOR}
generated: "2024-01-02T03:04:05.000000Z"
""".encode()


def test_the_digest_is_helms() -> None:
    assert lock_digest([ALPINE], [ALPINE]) == HELM_VECTOR
    assert lock_digest([{**ALPINE, "version": "^0.1.0"}], [ALPINE]) != HELM_VECTOR


def test_marshal_is_gos() -> None:
    dep = {"name": "a&b", "version": ">=1.0.0 <2", "repository": "", "tags": ["x"],
           "enabled": True, "condition": "", "alias": "z"}  # fmt: skip
    assert marshal(dep) == (
        '{"name":"a\\u0026b","version":"\\u003e=1.0.0 \\u003c2","repository":"",'
        '"tags":["x"],"enabled":true,"alias":"z"}'
    )
    with pytest.raises(LockError, match="import-values"):
        marshal({**ALPINE, "import-values": ["data"]})


class Table:
    def candidates(self, source: ChartSource) -> Sequence[policies.Candidate] | AutomatorError:
        return [policies.Candidate(v) for v in ("0.1.0", "0.1.2", "0.2.0")]


def test_the_lock_moves_with_the_dependency() -> None:
    files = {"charts/u/Chart.yaml": CHART, "charts/u/Chart.lock": LOCK}
    result = scan_files(files.items(), read=files.get)
    plan = build_plan(result.sites, None, charts=Table())  # type: ignore[arg-type]
    moved = [(c.site.file, c.old, c.new) for c in plan.changes]
    expected_text = (
        '[[{"name":"alpine","version":"0.1.2","repository":"http://localhost:8879/charts"}],'
        '[{"name":"alpine","version":"0.1.2","repository":"http://localhost:8879/charts"}]]'
    )
    digest = "sha256:" + hashlib.sha256(expected_text.encode()).hexdigest()
    assert moved == [
        ("charts/u/Chart.yaml", "0.1.0", "0.1.2"),
        ("charts/u/Chart.lock", "0.1.0", "0.1.2"),
        ("charts/u/Chart.lock", HELM_VECTOR, digest),
    ]


@pytest.mark.parametrize(
    ("lock", "why"),
    [
        (LOCK.replace(b"fb239e", b"00000e"), "its digest is not what Helm computes"),
        (LOCK.replace(b"name: alpine", b"name: other"), "no entry for alpine"),
    ],
)
def test_a_lock_that_cannot_be_kept_in_step_is_refused(lock: bytes, why: str) -> None:
    files = {"charts/u/Chart.yaml": CHART, "charts/u/Chart.lock": lock}
    result = scan_files(files.items(), read=files.get)
    assert result.sites == ()
    assert [s.where for s in result.skipped] == ["charts/u/Chart.yaml:6"]
    assert why in result.skipped[0].reason and "\n" not in result.skipped[0].reason


def test_without_a_lock_only_chart_yaml_moves() -> None:
    files = {"charts/u/Chart.yaml": CHART}
    result = scan_files(files.items(), read=files.get)
    plan = build_plan(result.sites, None, charts=Table())  # type: ignore[arg-type]
    assert [(c.site.file, c.new) for c in plan.changes] == [("charts/u/Chart.yaml", "0.1.2")]


TWO = {"name": "beta", "version": "0.1.0", "repository": "http://localhost:8879/charts"}


@pytest.mark.parametrize("by", ["all", "image", "workload", "directory"])
def test_a_chart_and_its_lock_share_one_group_whatever_the_grouping(by: GroupBy) -> None:
    chart = CHART + (
        b"  - name: beta\n    version: 0.1.0 # automator: semver:~0.1\n"
        b"    repository: http://localhost:8879/charts\n"
    )
    lock = LOCK.replace(HELM_VECTOR.encode(), lock_digest([ALPINE, TWO], [ALPINE, TWO]).encode())
    lock = lock.replace(b"digest:", b"- name: beta\n  repository: http://localhost:8879/charts\n"
                        b"  version: 0.1.0\ndigest:")  # fmt: skip
    files = {"charts/u/Chart.yaml": chart, "charts/u/Chart.lock": lock, "apps/x.yaml": b""}
    result = scan_files(files.items(), read=files.get)
    plan = build_plan(result.sites, None, charts=Table())  # type: ignore[arg-type]
    assert len(plan.changes) == 5  # two versions in each file, and the digest
    groups = group_changes(plan.changes, by)
    assert len(groups) == 1, groups.keys()
    if by in ("image", "workload"):
        assert list(groups) == ["chart/charts/u/Chart.yaml"]
