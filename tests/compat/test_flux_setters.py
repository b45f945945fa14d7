"""fluxcd/image-automation-controller ``internal/update/update_test.go``
``TestUpdateWithSetters`` (commit d36e2ea07a3973a0e8ace7678d933a89b76f9dda), ported.

Upstream hands the setters three ImagePolicies with a ``status.latestRef`` already
set. We have no status: the same results come from ImagePolicy and ImageRepository
objects and a registry (a table) that holds just those tags, and go through the scan,
the plan and the splice. The fixtures are upstream's (``data/flux-setters``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import policies
from automator.errors import AutomatorError
from automator.manifests import scan_files
from automator.model import Change, Part, Plan, Site
from automator.plan import build_plan
from automator.reference import ImageRef, parse_reference
from automator.write import splice
from automator.write.fluxmessage import (
    FluxChange,
    ImageResult,
    NamespacedName,
    ObjectIdentifier,
    Result,
    template_data,
)
from automator.write.fluxmessage import ImageRef as ImageRef_

DATA = Path(__file__).parent / "data" / "flux-setters"
DIGEST = "sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be"

# status.latestRef of each upstream policy, as objects that produce it
OBJECTS = """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: updated, namespace: automation-ns}
spec: {image: index.repo.fake/updated}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: image, namespace: automation-ns}
spec: {image: image}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: policy, namespace: automation-ns}
spec:
  imageRepositoryRef: {name: updated}
  policy: {semver: {range: ">=1.0.0"}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: unchanged, namespace: automation-ns}
spec:
  imageRepositoryRef: {name: image}
  policy: {semver: {range: ">=1.0.0"}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: policy-with-digest, namespace: automation-ns}
spec:
  imageRepositoryRef: {name: image}
  digestReflectionPolicy: Always
  policy: {semver: {range: ">=1.0.0"}}
"""


class Registry:
    """index.repo.fake/updated has v1.0.1; image has v1.0.0 at DIGEST."""

    tags: ClassVar[dict[str, list[str]]] = {
        "index.repo.fake/updated": ["v1.0.0", "v1.0.1"],
        "image": ["v1.0.0"],
    }

    def candidates(
        self, image: ImageRef, *, created: bool, platform: str | None, **_: object
    ) -> Sequence[policies.Candidate] | AutomatorError:
        return [policies.Candidate(tag) for tag in self.tags[image.name]]

    def digest(self, image: ImageRef, tag: str) -> str:
        assert (image.name, tag) == ("image", "v1.0.0")
        return DIGEST


def run_setters() -> tuple[Plan, dict[str, bytes]]:
    originals = {p.name: p.read_bytes() for p in sorted((DATA / "original").iterdir())}
    scan = scan_files([*originals.items(), ("policies.yaml", OBJECTS.encode())])
    # otherns.yaml names a policy upstream does not define: Flux leaves it silently, we
    # leave it with a reason (DIFFERENCES.md)
    assert [(s.where, s.error) for s in scan.skipped] == [("otherns.yaml:11", False)]
    plan = splice(build_plan(scan.sites, Registry()), originals.__getitem__)
    return plan, {**originals, **plan.files}


def test_update_with_setters_writes_the_expected_files() -> None:
    _, written = run_setters()
    expected = {p.name: p.read_bytes() for p in (DATA / "expected").iterdir()}
    for name, data in written.items():
        assert data == expected.get(name, (DATA / "original" / name).read_bytes()), name
    assert set(expected) <= set(written)


def test_update_with_setters_reports_the_expected_result() -> None:
    plan, _ = run_setters()
    data = template_data(plan, ("automation-ns", "apps"), {})
    kustomization = ObjectIdentifier("kustomize.config.k8s.io/v1beta1", "Kustomization", "", "")
    cronjob = ObjectIdentifier("batch/v1beta1", "CronJob", "foo", "bar")
    assert data.Changed.FileChanges == {
        "Kustomization": {
            kustomization: [
                FluxChange("replaced", "index.repo.fake/updated", "automation-ns:policy:name"),
                FluxChange("v1", "v1.0.1", "automation-ns:policy:tag"),
            ]
        },
        "kustomization.yml": {
            kustomization: [
                FluxChange("replaced", "index.repo.fake/updated", "automation-ns:policy:name"),
                FluxChange("v1", "v1.0.1", "automation-ns:policy:tag"),
                FluxChange(
                    "sha256:1234567890abcdef", DIGEST, "automation-ns:policy-with-digest:digest"
                ),
                FluxChange("image", f"image:v1.0.0@{DIGEST}", "automation-ns:policy-with-digest"),
            ]
        },
        "marked.yaml": {
            cronjob: [
                FluxChange("image:v1.0.0", "index.repo.fake/updated:v1.0.1", "automation-ns:policy")
            ]
        },
    }
    assert all(isinstance(c, Change) for c in plan.changes)


# -- internal/update/result_test.go (commit d36e2ea07a3973a0e8ace7678d933a89b76f9dda) ----------


def image_ref(text: str) -> ImageRef_:
    image = parse_reference(text)
    site = Site("f.yaml", 1, 0, 1, Part.REFERENCE, text, image, "semver:*", "imagepolicy")
    return ImageRef_(Change(site, text, text, image, ""), NamespacedName("", ""))


def test_result_test_TestMustRef_gives_each_component_of_an_image_ref() -> None:
    ref = image_ref("helloworld:v1.0.1")
    assert ref.String() == "helloworld:v1.0.1"
    assert ref.Identifier() == "v1.0.1"
    assert ref.Repository() == "library/helloworld"
    assert ref.Registry() == "index.docker.io"
    assert ref.Name() == "index.docker.io/library/helloworld:v1.0.1"


def test_result_test_TestMustRef_deals_with_hostnames_and_digests() -> None:
    image = f"localhost:5000/org/helloworld@{DIGEST}"
    ref = image_ref(image)
    assert ref.String() == image
    assert ref.Identifier() == DIGEST
    assert ref.Repository() == "org/helloworld"
    assert ref.Registry() == "localhost:5000"
    assert ref.Name() == image


def test_result_test_TestResult() -> None:
    foo = ObjectIdentifier("", "", "foo", "ns")
    bar = ObjectIdentifier("", "", "bar", "ns")
    first = FluxChange("aaa", "bbb", "foo-ns:policy:name")
    second = FluxChange("cccc:v1.0", "cccc:v1.2", "foo-ns:policy")
    result = Result({"foo.yaml": {foo: [first]}, "bar.yaml": {bar: [second]}}, ImageResult({}))
    assert set(result.Changes()) == {first, second}
    assert result.Objects() == {foo: [first], bar: [second]}


def test_result_test_TestResultObjectsAggregatesSameObjectAcrossFiles() -> None:
    oid = ObjectIdentifier("apps/v1", "Deployment", "podinfo", "default")
    image = FluxChange("podinfo:v1.0.0", "podinfo:v1.0.1", "flux-system:podinfo")
    replicas = FluxChange("1", "2", "flux-system:replicas")
    result = Result(
        {
            "base/deployment.yaml": {oid: [image]},
            "overlays/prod/deployment.yaml": {oid: [replicas]},
        },
        ImageResult({}),
    )
    assert set(result.Objects()[oid]) == {image, replicas}


def test_filereader_test_TestScreeningLocalReader() -> None:
    """filereader_test.go (d36e2ea): the files holding a marker are the ones read."""
    originals = [(p.name, p.read_bytes()) for p in sorted((DATA / "original").iterdir())]
    scan = scan_files(originals)
    marked = {s.file for s in scan.sites} | {s.where.split(":")[0] for s in scan.skipped}
    assert marked == {"marked.yaml", "otherns.yaml", "kustomization.yml", "Kustomization"}
