"""Argo CD Image Updater: Applications and ImageUpdaters -> Sites -> byte-exact writes."""

from __future__ import annotations

import pytest

from automator.manifests import scan_files
from automator.plan import build_plan
from automator.write import splice
from tests.automator.test_plan import Table

REPO = "https://git.example.test/acme/fleet.git"
P = "argocd-image-updater.argoproj.io/"


def application(name: str, path: str, annotations: dict[str, str], extra: str = "") -> str:
    lines = "".join(f'    {P}{k}: "{v}"\n' for k, v in annotations.items())
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        f"metadata:\n  name: {name}\n  namespace: argocd\n  annotations:\n{lines}"
        f"spec:\n  source:\n    repoURL: {REPO}\n    path: {path}\n{extra}"
    )


KUSTOMIZATION = (
    "resources: [deploy.yaml]\nimages:\n  - name: reg.test/acme/web\n    newTag: 1.0.0  # pinned\n"
)
VALUES = "# chart values\nimage:\n  name: reg.test/acme/api\n  tag: '2.0.0'\nreplicas: 1\n"
TAGS = {
    "reg.test/acme/web": ["1.0.0", "1.0.1", "1.1.0", "2.0.0"],
    "reg.test/acme/api": ["2.0.0", "2.0.5", "3.0.0"],
}


def run(files: dict[str, str]) -> tuple[dict[str, bytes], list[str]]:
    data = {path: text.encode() for path, text in files.items()}
    scan = scan_files(data.items(), repo_url=REPO)
    plan = splice(build_plan(scan.sites, Table(TAGS), skipped=scan.skipped), data.__getitem__)
    return plan.files, [f"{s.where}: {s.reason}" for s in plan.skipped]


def test_kustomization_helmvalues_and_the_default_override_file() -> None:
    files = {
        "apps/web.yaml": application(
            "web", "web", {
                "image-list": "w=reg.test/acme/web:~1.0",
                "write-back-method": "git", "write-back-target": "kustomization",
            },
        ),
        "apps/api.yaml": application(
            "api", "api", {
                "image-list": "api=reg.test/acme/api:2.x", "write-back-method": "git",
                "write-back-target": "helmvalues:values.yaml",
            },
        ),
        "apps/web2.yaml": application(
            "web2", "web", {"image-list": "reg.test/acme/web", "write-back-method": "git"},
        ),
        "web/kustomization.yaml": KUSTOMIZATION,
        "api/values.yaml": VALUES,
        "api/Chart.yaml": "name: api\n",
    }  # fmt: skip
    written, skipped = run(files)
    assert skipped == []
    assert written["web/kustomization.yaml"].decode() == KUSTOMIZATION.replace("1.0.0", "1.0.1")
    assert written["api/values.yaml"].decode() == VALUES.replace("'2.0.0'", "'2.0.5'")
    assert written["web/.argocd-source-web2.yaml"].decode() == (
        "kustomize:\n  images:\n  - reg.test/acme/web:2.0.0\n"
    )


def test_helm_override_file_is_argos_format_and_edited_in_place() -> None:
    app = application(
        "api", "api", {"image-list": "api=reg.test/acme/api", "write-back-method": "git"}
    )
    files = {"apps/api.yaml": app, "api/values.yaml": VALUES, "api/Chart.yaml": "name: api\n"}
    written, skipped = run(files)
    assert skipped == []
    created = written["api/.argocd-source-api.yaml"].decode()
    assert created == (
        "helm:\n  parameters:\n  - name: image.name\n    value: reg.test/acme/api\n"
        "    forcestring: true\n  - name: image.tag\n    value: 3.0.0\n    forcestring: true\n"
    )
    files["api/.argocd-source-api.yaml"] = created.replace("3.0.0", "2.0.0")
    written, skipped = run(files)
    assert written["api/.argocd-source-api.yaml"].decode() == created


def test_image_updater_resource_selects_applications() -> None:
    updater = """\
apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata: {name: all, namespace: argocd}
spec:
  writeBackConfig:
    method: git
    gitConfig: {writeBackTarget: "kustomization:."}
  commonUpdateSettings: {updateStrategy: semver}
  applicationRefs:
  - namePattern: "we*"
    images:
    - alias: web
      imageName: reg.test/acme/web:1.x
      commonUpdateSettings: {allowTags: "RegExp:^1\\\\.0\\\\."}
"""
    app = application("web", "web", {})
    written, skipped = run(
        {"apps/up.yaml": updater, "apps/web.yaml": app, "web/kustomization.yaml": KUSTOMIZATION}
    )
    assert skipped == []
    assert written["web/kustomization.yaml"].decode() == KUSTOMIZATION.replace("1.0.0", "1.0.1")


@pytest.mark.parametrize(
    ("annotations", "reason"),
    [
        ({"image-list": "w=reg.test/acme/web", "w.update-strategy": "newest"},
         "update-strategy 'newest' is not one of"),
        ({"image-list": "bad alias=reg.test/acme/web"}, "alias 'bad alias' is malformed"),
        ({"image-list": "w=reg.test/acme/web", "w.allow-tags": "glob:*"}, "neither 'any' nor"),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_and_nothing_is_written(
    annotations: dict[str, str], reason: str
) -> None:
    annotations = {**annotations, "write-back-method": "git", "write-back-target": "kustomization"}
    files = {
        "apps/web.yaml": application("web", "web", annotations),
        "web/kustomization.yaml": KUSTOMIZATION,
    }
    written, skipped = run(files)
    assert written == {}
    assert len(skipped) == 1 and reason in skipped[0], skipped
    assert skipped[0].startswith("apps/web.yaml:1: ")


def test_other_repositories_and_the_argocd_method_are_left_alone() -> None:
    other = application("x", "web", {"image-list": "reg.test/acme/web", "write-back-method": "git"})
    other = other.replace(REPO, "https://elsewhere.test/x.git")
    cluster = application("y", "web", {"image-list": "reg.test/acme/web"})
    written, skipped = run(
        {"a.yaml": other, "b.yaml": cluster, "web/kustomization.yaml": KUSTOMIZATION}
    )
    assert written == {}
    assert any("not a path in this repository" in s for s in skipped)
    assert any("write-back-method argocd writes to the cluster" in s for s in skipped)


def test_multi_source_application_writes_the_source_in_this_repo() -> None:
    extra = (
        "  sources:\n  - repoURL: https://charts.example.test\n    chart: api\n"
        f"  - repoURL: {REPO}\n    path: api\n    helm: {{valueFiles: [values.yaml]}}\n"
    )
    settings = {"image-list": "a=reg.test/acme/api:2.x", "a.helm.image-spec": "spec"}
    app = application("api", "x", {**settings, "write-back-method": "git"}, extra)
    app = app.replace(f"  source:\n    repoURL: {REPO}\n    path: x\n", "")
    values = "spec: reg.test/acme/api:2.0.0  # whole reference\n"
    written, skipped = run({"apps/api.yaml": app, "api/values.yaml": values})
    assert skipped == []
    assert written["api/.argocd-source-api.yaml"].decode() == (
        "helm:\n  parameters:\n  - name: spec\n    value: reg.test/acme/api:2.0.5\n"
        "    forcestring: true\n"
    )


def test_existing_override_file_entries_are_edited_and_missing_ones_appended() -> None:
    app = application("web", "web", {
        "image-list": "w=reg.test/acme/web:~1.0, a=reg.test/acme/api:2.x",
        "w.kustomize.image-name": "web", "write-back-method": "git",
    })  # fmt: skip
    kustomization = KUSTOMIZATION + "  - name: reg.test/acme/api\n    newTag: 2.0.0\n"
    override = "# written by Argo\r\nkustomize:\r\n  images:\r\n  - web=reg.test/acme/web:1.0.0\r\n"
    files = {
        "apps/web.yaml": app,
        "web/kustomization.yaml": kustomization,
        "web/.argocd-source-web.yaml": override,
    }
    written, skipped = run(files)
    assert skipped == []
    assert written["web/.argocd-source-web.yaml"].decode() == (
        override.replace("1.0.0", "1.0.1") + "  - reg.test/acme/api:2.0.5\r\n"
    )


def test_missing_targets_are_refused_with_what_to_do() -> None:
    app = application("web", "web", {
        "image-list": "w=reg.test/acme/other", "write-back-method": "git",
        "write-back-target": "kustomization",
    })  # fmt: skip
    written, skipped = run({"apps/web.yaml": app, "web/kustomization.yaml": KUSTOMIZATION})
    assert written == {}
    assert skipped == [
        "apps/web.yaml:1: w: web/kustomization.yaml: no images: entry named reg.test/acme/other;"
        " add one with newTag (Argo would add it)"
    ]


def test_image_updater_labels_and_use_annotations() -> None:
    updater = """\
apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata: {name: labelled}
spec:
  applicationRefs:
  - namePattern: "*"
    labelSelectors: {matchLabels: {team: web}}
    useAnnotations: true
"""
    annotated = {
        "image-list": "w=reg.test/acme/web:~1.0", "write-back-method": "git",
        "write-back-target": "kustomization",
    }  # fmt: skip
    web = application("web", "web", annotated).replace(
        "  namespace: argocd\n", "  namespace: argocd\n  labels: {team: web}\n"
    )
    written, skipped = run(
        {"apps/up.yaml": updater, "apps/web.yaml": web, "web/kustomization.yaml": KUSTOMIZATION}
    )
    assert skipped == []
    assert written["web/kustomization.yaml"].decode() == KUSTOMIZATION.replace("1.0.0", "1.0.1")


def test_digest_strategy_on_a_bare_tag_says_what_to_write() -> None:
    app = application("web", "web", {
        "image-list": "w=reg.test/acme/web:1.0.0", "w.update-strategy": "digest",
        "write-back-method": "git", "write-back-target": "kustomization",
    })  # fmt: skip
    written, skipped = run({"apps/web.yaml": app, "web/kustomization.yaml": KUSTOMIZATION})
    assert written == {}
    assert len(skipped) == 1 and "the digest strategy writes <tag>@<digest>" in skipped[0]


def test_override_entry_starts_from_the_tag_a_manifest_runs() -> None:
    app = application(
        "web", "web", {"image-list": "reg.test/acme/web:~1.0", "write-back-method": "git"}
    )
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
        "    spec:\n      containers:\n      - name: web\n        image: reg.test/acme/web:1.0.0\n"
    )
    files = {
        "apps/web.yaml": app,
        "web/kustomization.yaml": "resources: [deploy.yaml]\n",
        "web/deploy.yaml": deployment,
    }
    written, skipped = run(files)
    assert skipped == []
    assert written == {
        "web/.argocd-source-web.yaml": b"kustomize:\n  images:\n  - reg.test/acme/web:1.0.1\n"
    }
    del files["web/deploy.yaml"]
    written, skipped = run(files)
    assert written == {}
    assert len(skipped) == 1 and "current tag of reg.test/acme/web is not in the repo" in skipped[0]
