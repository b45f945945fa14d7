"""A Chart.yaml and its Chart.lock are written together, the lock covering exactly the
dependency changes written (``write.splice`` derives the lock's edits last)."""

from __future__ import annotations

from typing import Any

import yaml

from automator.charts.lock import lock_digest
from automator.manifests import scan_files
from automator.model import Change, Plan
from automator.plan import build_plan
from automator.write.splice import splice
from tests.automator.manifests.test_chartlock import ALPINE, CHART, HELM_VECTOR, LOCK, TWO, Table

BETA = b"  - name: beta\n    version: 0.1.0 # automator: semver:~0.1\n"
BETA += b"    repository: http://localhost:8879/charts\n"


def two_dependencies() -> tuple[dict[str, bytes], Plan]:
    lock = LOCK.replace(HELM_VECTOR.encode(), lock_digest([ALPINE, TWO], [ALPINE, TWO]).encode())
    lock = lock.replace(b"digest:", b"- name: beta\n  repository: http://localhost:8879/charts\n"
                        b"  version: 0.1.0\ndigest:")  # fmt: skip
    files = {"charts/u/Chart.yaml": CHART + BETA, "charts/u/Chart.lock": lock}
    result = scan_files(files.items(), read=files.get)
    return files, build_plan(result.sites, None, charts=Table())  # type: ignore[arg-type]


def helm_digest(chart: bytes, lock: bytes) -> str:
    deps: list[Any] = yaml.safe_load(chart)["dependencies"]
    return lock_digest(deps, yaml.safe_load(lock)["dependencies"])


def test_the_lock_covers_only_the_dependencies_written() -> None:
    files, plan = two_dependencies()

    def not_alpine(change: Change) -> bool:  # as a declined version or another group would
        return not (change.site.chart and change.site.image.name.endswith("alpine"))

    written = splice(plan, files.__getitem__, only=not_alpine)
    chart, lock = written.files["charts/u/Chart.yaml"], written.files["charts/u/Chart.lock"]
    for text in (chart, lock):
        deps = {d["name"]: d["version"] for d in yaml.safe_load(text)["dependencies"]}
        assert deps == {"alpine": "0.1.0", "beta": "0.1.2"}
    assert yaml.safe_load(lock)["digest"] == helm_digest(chart, lock)
    assert len(written.changes) == 3  # beta in each file, and the digest


def test_a_chart_yaml_that_cannot_be_edited_keeps_its_lock_unwritten() -> None:
    files, plan = two_dependencies()
    chart = files["charts/u/Chart.yaml"].replace(b"0.1.0 #", b"9.9.9 #")  # changed since
    moved = {**files, "charts/u/Chart.yaml": chart}
    written = splice(plan, moved.__getitem__)
    assert written.files == {} and written.changes == ()
    reasons = {s.where: s.reason for s in written.skipped}
    assert set(reasons) == {"charts/u/Chart.yaml", "charts/u/Chart.lock"}
    assert "left alone with its Chart.yaml" in reasons["charts/u/Chart.lock"]
    assert all("\n" not in r for r in reasons.values())
