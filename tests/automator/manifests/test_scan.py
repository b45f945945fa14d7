"""What scan_files finds: annotations, markers, Flux objects, and every skip with its reason."""

from __future__ import annotations

import pytest

from automator.manifests import check_report, is_manifest_path, scan_files
from automator.model import Part

POD_SPEC = """\
      containers:
        - name: api
          image: ghcr.io/acme/api:1.4.2
        - name: sidecar
          image: ghcr.io/acme/side:2.0
      initContainers:
        - name: init
          image: busybox:1.36
"""


def workload(kind: str, annotations: str, spec_path: str = "spec.template.spec") -> bytes:
    head = f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: w\n  annotations:\n{annotations}"
    body = ""
    for depth, key in enumerate(spec_path.split(".")):
        body += "  " * depth + f"{key}:\n"
    indent = "  " * len(spec_path.split(".")) + "  " * 0
    pod = "".join(indent + line[6:] + "\n" for line in POD_SPEC.splitlines())
    return (head + body + pod).encode()


def scan_one(data: bytes, path: str = "w.yaml"):  # type: ignore[no-untyped-def]
    return scan_files([(path, data)])


@pytest.mark.parametrize(
    ("kind", "spec_path"),
    [
        ("Deployment", "spec.template.spec"),
        ("StatefulSet", "spec.template.spec"),
        ("DaemonSet", "spec.template.spec"),
        ("ReplicaSet", "spec.template.spec"),
        ("Job", "spec.template.spec"),
        ("ReplicationController", "spec.template.spec"),
        ("Rollout", "spec.template.spec"),
        ("CronJob", "spec.jobTemplate.spec.template.spec"),
        ("Pod", "spec"),
    ],
)
def test_annotations_on_every_pod_template_kind(kind: str, spec_path: str) -> None:
    data = workload(
        kind,
        '    automator.dev/policy: "glob:*"\n    automator.dev/policy.api: "semver:~1.4"\n',
        spec_path,
    )
    result = scan_one(data)
    assert result.skipped == ()
    got = [(s.container, s.policy, s.origin, str(s.image), s.workload) for s in result.sites]
    assert got == [
        ("api", "semver:~1.4", "annotation", "ghcr.io/acme/api:1.4.2", f"{kind}/w"),
        ("sidecar", "glob:*", "annotation", "ghcr.io/acme/side:2.0", f"{kind}/w"),
        ("init", "glob:*", "annotation", "busybox:1.36", f"{kind}/w"),
    ]
    site = result.sites[0]
    text = data.decode()
    assert text[site.start : site.end] == "ghcr.io/acme/api:1.4.2"
    assert site.part is Part.REFERENCE
    assert site.where == f"w.yaml:{text.count(chr(10), 0, site.start) + 1}"


@pytest.mark.parametrize("prefix", ["fluxcd.io", "flux.weave.works"])
def test_flux_v1_annotations(prefix: str) -> None:
    data = workload(
        "Deployment",
        f'    {prefix}/automated: "true"\n    {prefix}/tag.api: semver:~1.4\n'
        f"    {prefix}/tag.init: 1.*\n",
    )
    result = scan_one(data)
    got = [(s.container, s.policy, s.origin) for s in result.sites]
    assert got == [
        ("api", "semver:~1.4", "flux-v1"),
        ("sidecar", "glob:*", "flux-v1"),
        ("init", "glob:1.*", "flux-v1"),
    ]


def test_flux_v1_locked_and_stray_annotations_are_reported() -> None:
    locked = workload(
        "Deployment", '    fluxcd.io/automated: "true"\n    fluxcd.io/locked: "true"\n'
    )
    result = scan_one(locked)
    assert result.sites == ()
    assert {s.reason for s in result.skipped} == {
        "Deployment/w: workload locked by fluxcd.io/locked"
    }
    stray = workload(
        "Deployment",
        '    automator.dev/policy.nope: "semver:*"\n    fluxcd.io/tag.api: "semver:*"\n',
    )
    reasons = [s.reason for s in scan_one(stray).skipped]
    assert reasons == [
        "automator.dev/policy.nope names no container of this workload",
        'fluxcd.io/tag.api has no effect without fluxcd.io/automated: "true"',
    ]


HELM_RELEASE = b"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
spec:
  values:
    image:
      registry: ghcr.io
      repository: acme/api
      tag: 1.4.2 # automator: semver:~1.4
      digest: ""
    other:
      image: docker.io/acme/web:2.0  # automator: semver:>=2 <3 (reference)
    name: {repository: acme/x, tag: v1}  # automator: glob:v* (tag)
    repo: ghcr.io/acme/y  # automator: glob:* (name)
    note: "# automator: not a marker"
# automator: semver:* on a line of its own
"""


def test_inline_markers_resolve_images_from_siblings() -> None:
    result = scan_one(HELM_RELEASE, "release.yaml")
    got = [(s.part, s.value, str(s.image), s.policy, s.origin) for s in result.sites]
    assert got == [
        (Part.TAG, "1.4.2", "ghcr.io/acme/api:1.4.2", "semver:~1.4", "marker"),
        (
            Part.REFERENCE,
            "docker.io/acme/web:2.0",
            "docker.io/acme/web:2.0",
            "semver:>=2 <3",
            "marker",
        ),
        (Part.TAG, "v1", "acme/x:v1", "glob:v*", "marker"),
        (Part.NAME, "ghcr.io/acme/y", "ghcr.io/acme/y", "glob:*", "marker"),
    ]
    assert [(s.where, s.reason) for s in result.skipped] == [
        ("release.yaml:15", "marker is not on the same line as a scalar value")
    ]


FLUX_OBJECTS = b"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: podinfo, namespace: flux-system}
spec: {image: ghcr.io/stefanprodan/podinfo, interval: 5m}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: podinfo, namespace: flux-system}
spec:
  imageRepositoryRef: {name: podinfo}
  policy: {semver: {range: 5.0.x}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: main, namespace: flux-system}
spec:
  imageRepositoryRef: {name: podinfo}
  digestReflectionPolicy: IfNotPresent
  filterTags:
    pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+); "x"'
    extract: '$ts'
  policy: {numerical: {order: desc}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: alpha}
spec:
  imageRepositoryRef: {name: podinfo, namespace: flux-system}
  policy: {alphabetical: {}}
"""

MARKED = b"""\
images:
- name: podinfo
  newName: ghcr.io/stefanprodan/podinfo # {"$imagepolicy": "flux-system:podinfo:name"}
  newTag: 5.0.0 # {"$imagepolicy": "flux-system:podinfo:tag"}
spec:
  image: ghcr.io/stefanprodan/podinfo:main-abc-1 # {"$imagepolicy": "flux-system:main"}
  tag: 'x' # {"$imagepolicy": "apps:alpha:tag"}
  bad: v1 # {"$imagepolicy": "flux-system:missing:tag"}
  worse: v1 # {"$imagepolicy": "flux-system:podinfo:bogus"}
"""


NEVER = "reflect-digest=never"  # Flux's default digestReflectionPolicy


def test_flux_v2_markers_resolve_against_objects_in_other_files() -> None:
    result = scan_files([("apps/marked.yaml", MARKED), ("flux/policies.yaml", FLUX_OBJECTS)])
    got = [(s.line, s.part, str(s.image), s.policy) for s in result.sites]
    assert got == [
        (3, Part.NAME, "ghcr.io/stefanprodan/podinfo:5.0.0", f"semver:5.0.x;strict;{NEVER}"),
        (4, Part.TAG, "ghcr.io/stefanprodan/podinfo:5.0.0", f"semver:5.0.x;strict;{NEVER}"),
        (
            6,
            Part.REFERENCE,
            "ghcr.io/stefanprodan/podinfo:main-abc-1",
            'numerical:desc;filter="^main-[a-f0-9]+-(?P<ts>[0-9]+); \\"x\\""'
            ";extract=$ts;reflect-digest=if-not-present",
        ),
        (7, Part.TAG, "ghcr.io/stefanprodan/podinfo:x", f"alphabetical:asc;{NEVER}"),
    ]
    assert [(s.where, s.reason) for s in result.skipped] == [
        (
            "apps/marked.yaml:8",
            "$imagepolicy flux-system:missing: ImagePolicy flux-system/missing is not in the repo",
        ),
        (
            "apps/marked.yaml:9",
            "$imagepolicy 'flux-system:podinfo:bogus': field must be tag, name or digest",
        ),
    ]
    assert result.files_scanned == 2


BOMB = b"# automator\nb0: &b0 [x, x]\n" + b"".join(
    b"b%d: &b%d [*b%d, *b%d]\n" % (i, i, i - 1, i - 1) for i in range(1, 40)
)


def test_files_that_cannot_be_scanned_are_skipped_with_a_reason() -> None:
    files = [
        ("chart/templates/d.yaml", b"image: {{ .Values.image }} # automator: glob:*\n"),
        ("t.yaml", b"- {{x}}: 1 # automator: glob:*\n"),
        ("bad.yml", b"a: [1\n# automator: x\n"),
        ("big.yaml", b"# automator: x\n" + b"a: 1\n" * 5000),
        ("bin.yaml", b"\x00\x01automator"),
        ("latin.yaml", b"# automator: caf\xe9\n"),
        ("/abs.yaml", b""),
        ("a/../b.yaml", b""),
        ("README.md", b"automator"),
        ("plain.yaml", b"image: nginx:1.0\n"),
        ("deep.yaml", b"# automator\n" + b"[" * 5000 + b"]" * 5000),
        ("bomb.yaml", BOMB),
    ]
    result = scan_files(files, max_bytes=20_000)
    assert result.sites == ()
    assert result.files_scanned == 9
    assert [line for line in check_report(result)] == [
        "/abs.yaml  SKIPPED  not a repo-relative path; refused",
        "a/../b.yaml  SKIPPED  not a repo-relative path; refused",
        "bad.yml:3  SKIPPED  invalid YAML: did not find expected ',' or ']'",
        "big.yaml  SKIPPED  larger than 20000 bytes",
        "bin.yaml  SKIPPED  binary content (NUL byte)",
        "bomb.yaml  SKIPPED  more than 200000 nodes through aliases",
        "chart/templates/d.yaml:1  SKIPPED  a mapping used as a key;"
        " a Helm/Go template ({{ }}) is not YAML",
        "deep.yaml  SKIPPED  nesting deeper than 1000 levels",
        "latin.yaml  SKIPPED  not UTF-8 (byte 16)",
        "t.yaml:1  SKIPPED  a mapping used as a key; a Helm/Go template ({{ }}) is not YAML",
    ]


def test_check_report_lists_sites_and_skips_in_file_order() -> None:
    data = workload("Deployment", '    automator.dev/policy.api: "semver:~1.4"\n')
    lines = check_report(scan_files([("b.yaml", data), ("a.yaml", HELM_RELEASE)]))
    assert lines[0] == "a.yaml:8  ghcr.io/acme/api:1.4.2  semver:~1.4  (marker)"
    assert lines[4] == "a.yaml:15  SKIPPED  marker is not on the same line as a scalar value"
    assert lines[5] == "b.yaml:12  ghcr.io/acme/api:1.4.2  semver:~1.4  (annotation)"


def test_a_marker_wins_over_an_annotation_at_the_same_scalar() -> None:
    data = workload("Deployment", '    automator.dev/policy: "glob:*"\n').replace(
        b"api:1.4.2", b"api:1.4.2  # automator: semver:~1"
    )
    sites = scan_one(data).sites
    got = [(s.container, s.workload, s.policy, s.origin) for s in sites]
    assert got[0] == ("api", "Deployment/w", "semver:~1", "marker")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.yaml", True),
        ("dir/b.YML", True),
        ("k/kustomization", True),
        ("k/Kustomization", True),
        ("a.json", False),
        ("/etc/a.yaml", False),
        ("../a.yaml", False),
        ("a/../../b.yaml", False),
        ("", False),
        ("a\\b.yaml", False),
    ],
)
def test_is_manifest_path(path: str, expected: bool) -> None:
    assert is_manifest_path(path) is expected
