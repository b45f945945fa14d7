"""fluxcd/flux (v1, fluxd) ``pkg/policy`` and ``pkg/update`` tests, ported.

A pattern "matches" a tag when the tag is eligible under the Flux v1 policy
(``parse_policy(..., flux_v1=True)``): offered alone, it wins. fluxd orders glob and
regex candidates by build time, so candidates carry one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

import policies
from automator.errors import AutomatorError
from automator.manifests import scan_files
from automator.model import Change, Skip
from automator.plan import decide
from automator.reference import ImageRef, parse_reference
from policies import Candidate, parse_policy, select_tag

COMMITS = {
    "pkg/policy/pattern_test.go": "07b3d3d608dc53738d9778d6dd23355e8f50e550",
    "pkg/policy/policy_test.go": "afdf5f1e614f649db12419c4a5f860a7fa76eb38",
    "pkg/update/images_test.go": "afdf5f1e614f649db12419c4a5f860a7fa76eb38",
}
BUILT = datetime(2020, 1, 1, tzinfo=UTC)


def matches(pattern: str, tag: str) -> bool:
    policy = parse_policy(pattern, flux_v1=True)
    return select_tag(policy, [Candidate(tag, BUILT)], None).tag == tag


PATTERNS = [
    # (upstream test/name, pattern, true tags, false tags)
    ("TestGlobPattern_Matches/all", "*", ["1", "foo"], []),
    ("TestGlobPattern_Matches/all prefixed", "glob:*", ["1", "foo"], []),
    ("TestGlobPattern_Matches/prefix", "master-*", ["master-", "master-foo"], ["foo-master"]),
    (
        "TestSemverPattern_Matches/all",
        "semver:*",
        ["1", "1.0", "v1.0.3"],
        ["latest", "2.0.1-alpha.1"],
    ),
    (
        "TestSemverPattern_Matches/semver",
        "semver:~1",
        ["v1", "1", "1.2", "1.2.3"],
        ["latest", "2.0.0"],
    ),
    (
        "TestSemverPattern_Matches/semver pre-release",
        "semver:2.0.1-alpha.1",
        ["2.0.1-alpha.1"],
        ["2.0.1"],
    ),
    ("TestRegexpPattern_Matches/all prefixed", "regexp:(.*?)", ["1", "foo"], []),
    (
        "TestRegexpPattern_Matches/regexp",
        "regexp:^([a-zA-Z]+)$",
        ["foo", "BAR", "fooBAR"],
        ["1", "foo-1"],
    ),
    (
        "TestRegexpPattern_Matches/regex",
        r"regex:^\w{7}(?:\w)?$",
        ["af14eb2", "bb73ed94", "946427ff"],
        ["1", "foo", "946427ff-foo"],
    ),
]
# The empty tag "" in upstream's tables is in DIFFERENCES.md: no registry lists one.


@pytest.mark.parametrize(
    ("pattern", "true", "false"),
    [case[1:] for case in PATTERNS],
    ids=[f"pattern_test.go::{case[0]}" for case in PATTERNS],
)
def test_pattern_matches(pattern: str, true: list[str], false: list[str]) -> None:
    assert [t for t in true if matches(pattern, t)] == true
    assert [t for t in false if matches(pattern, t)] == []


@pytest.mark.parametrize("pattern", ["*", "glob:*", "regexp:(.*?)"])
def test_the_empty_tag_of_upstream_tables_is_refused(pattern: str) -> None:
    """DIFFERENCES.md: upstream matches "" (a tag no registry can hold); we refuse it."""
    assert not matches(pattern, "")


def deployment(annotations: str) -> bytes:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  annotations:
    fluxcd.io/automated: "true"
{annotations}spec:
  template:
    spec:
      containers:
      - name: helloContainer
        image: reg.test/hello:v1
""".encode()


@pytest.mark.parametrize(
    ("annotations", "want"),
    [
        ("", "glob:*"),  # Nil policies / No match
        ('    fluxcd.io/tag.helloContainer: "glob:master-*"\n', "glob:master-*"),  # Match
    ],
    ids=["policy_test.go::Test_GetTagPattern/No match", "policy_test.go::Test_GetTagPattern/Match"],
)
def test_get_tag_pattern(annotations: str, want: str) -> None:
    (site,) = scan_files([("d.yaml", deployment(annotations))]).sites
    assert (site.policy, site.origin) == (want, "flux-v1")


class Registry:
    def __init__(self, tags: dict[str, datetime | None]) -> None:
        self.tags = tags

    def candidates(
        self, image: ImageRef, *, created: bool, platform: str | None, **_: object
    ) -> Sequence[policies.Candidate] | AutomatorError:
        return [Candidate(t, c) for t, c in self.tags.items()]

    def digest(self, image: ImageRef, tag: str) -> str:
        raise AssertionError("no digest is needed")


def test_images_test_TestDecanon() -> None:
    """The image written keeps the name as the manifest spells it (not canonical)."""
    (site,) = scan_files(
        [("d.yaml", deployment("").replace(b"reg.test/hello", b"weaveworks/helloworld"))]
    ).sites
    registry = Registry(
        {"v1": datetime(2020, 1, 1, tzinfo=UTC), "v2": datetime(2020, 2, 1, tzinfo=UTC)}
    )
    change = decide(site, registry)
    assert isinstance(change, Change)
    assert change.new == "weaveworks/helloworld:v2"


def test_images_test_TestAvail() -> None:
    (site,) = scan_files([("d.yaml", deployment(""))]).sites
    outcome = decide(site, Registry({}))
    assert isinstance(outcome, Skip)


def test_images_test_TestImageInfos_Filter_latest() -> None:
    listed = [Candidate("latest", BUILT), Candidate("v0", BUILT)]
    for pattern, want in (
        ("glob:latest", "latest"),
        ("latest", "latest"),
        ("glob:*", "v0"),
        ("*", "v0"),
    ):
        decision = select_tag(parse_policy(pattern, flux_v1=True), listed, None)
        assert decision.tag == want, pattern
        assert decision.eligible == 1, pattern


def test_images_test_TestImageInfos_Filter_semver() -> None:
    listed = ["latest", "v0.0.1", "1.0.0"]
    star = select_tag(parse_policy("semver:*", flux_v1=True), listed, None)
    assert (star.tag, star.eligible) == ("1.0.0", 2)
    tilde = select_tag(parse_policy("semver:~1", flux_v1=True), listed, None)
    assert (tilde.tag, tilde.eligible) == ("1.0.0", 1)


# -- issue 13: the two fluxd rules automator departed from ------------------------------


def test_an_automated_workload_never_moves_to_latest() -> None:
    """pkg/update/images.go matchWithLatest: only the pattern 'latest' picks latest."""
    (site,) = scan_files([("d.yaml", deployment(""))]).sites
    newer = datetime(2021, 1, 1, tzinfo=UTC)
    registry = Registry({"v1": BUILT, "latest": newer, "v2": datetime(2020, 6, 1, tzinfo=UTC)})
    change = decide(site, registry)
    assert isinstance(change, Change)
    assert change.new == "reg.test/hello:v2"


def test_unknown_build_time_of_the_current_tag_leaves_the_workload_alone() -> None:
    (site,) = scan_files([("d.yaml", deployment(""))]).sites
    skip = decide(site, Registry({"v1": None, "v2": BUILT}))
    assert isinstance(skip, Skip)
    assert "the build time of the current tag v1 could not be read" in skip.reason
    assert "fluxd leaves the workload alone (Flux v1)" in skip.reason
    assert parse_reference(str(site.image)).tag == "v1"
