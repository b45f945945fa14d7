"""Ported: registry-scanner/pkg/image/version_test.go and registry-scanner/pkg/tag/tag_test.go.

Upstream's ``GetNewestVersionFromTags`` and ``ImageTagList`` sorting become
``policies.select_tag`` under ``policies.from_argo``. Differences:
tests/compat/DIFFERENCES-argo.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import policies
from tests.compat.argo import HEAD, SCANNER, case

VERSION = SCANNER + "version_test.go"
TAG = "registry-scanner/pkg/tag/tag_test.go"
LATEST = "Test_LatestVersion/"
TAGS = ["0.1", "0.5.1", "0.9", "1.0", "1.0.1", "1.1.2", "2.0.3"]
NAMES = ["zz", "bb", "yy", "cc", "yy", "aa", "ll"]


def dated(names: list[str], step: int = 5) -> list[policies.Candidate]:
    """Upstream's newImageTagListWithDate: the i-th tag built at i*step seconds."""
    return [
        policies.Candidate(n, datetime.fromtimestamp(i * step, UTC)) for i, n in enumerate(names)
    ]


@pytest.mark.parametrize(
    ("strategy", "constraint", "tags", "current", "expected"),
    [
        case(VERSION, LATEST + "Find the latest version without any constraint", HEAD,
             "semver", None, TAGS, "1.0", "2.0.3"),
        case(VERSION, LATEST + "Find the latest version with a semver constraint on major", HEAD,
             "semver", "^1.0", TAGS, "1.0", "1.1.2"),
        case(VERSION, LATEST + "Find the latest version with a semver constraint on patch", HEAD,
             "semver", "~1.0", TAGS, "1.0", "1.0.1"),
        case(VERSION, LATEST + "Find the latest version with a non-semver current tag and semver"
             " constraint", HEAD, "semver", "^1.0", TAGS, "latest", "1.1.2"),
        case(VERSION, LATEST + "Find the latest version with a non-semver current tag without any"
             " constraint", HEAD, "semver", None, TAGS, "latest", "2.0.3"),
        case(VERSION, LATEST + "Find the latest version without any constraint excludes pre-release"
             " versions", HEAD, "semver", None, ["v2.2.0", "v2.3.0-rc.0.18.g1abb7b5dd-ppc64le"],
             "v2.2.0", "v2.2.0"),
        case(VERSION, LATEST + "Find the latest version with a semver constraint that has no match",
             HEAD, "semver", "~1.0", ["0.1", "0.5.1", "0.9", "2.0.3"], "1.0", None),
        case(VERSION, LATEST + "Find the latest version with no tags returns nil", HEAD,
             "semver", "~1.0", [], "1.0", None),
        case(VERSION, LATEST + "Find the latest version using latest sortmode", HEAD,
             "newest-build", None, dated(NAMES), "bb", "ll"),
        case(VERSION, LATEST + "Find the latest version using semver sortmode with invalid tags"
             " returns nil", HEAD, "semver", None, dated(NAMES), "bb", None),
        case(VERSION, LATEST + "Find the latest version using VersionConstraint"
             " StrategyAlphabetical", HEAD, "alphabetical", None, dated(NAMES), "bb", "zz"),
        case(VERSION, LATEST + "Find the latest version using VersionConstraint StrategyDigest",
             HEAD, "digest", "latest",
             [policies.Candidate("latest", datetime.fromtimestamp(6, UTC), "sha256:" + "ab" * 32)],
             "latest", "latest"),
        case(TAG, "Test_SortableImageTagList/Sort by name", HEAD, "alphabetical", None,
             ["wohoo", "bazar", "alpha", "jesus", "zebra"], None, "zebra"),
        case(TAG, "Test_SortableImageTagList/Sort by semver", HEAD, "semver", None,
             ["v2.0.2", "v1.0", "v2.0.0", "v1.0.1", "v2.0.3", "v2.0"], None, "v2.0.3"),
        case(TAG, "Test_SortableImageTagList/Sort by date", HEAD, "newest-build", None,
             [policies.Candidate(n, datetime.fromtimestamp(d, UTC)) for n, d in
              zip(["v2.0.2", "v1.0", "v1.0.1", "v2.0.3", "v2.0"], [4, 1, 0, 3, 2], strict=True)],
             None, "v2.0.2"),
    ],
)  # fmt: skip
def test_newest_version(
    strategy: str,
    constraint: str | None,
    tags: list[str | policies.Candidate],
    current: str | None,
    expected: str | None,
) -> None:
    policy = policies.from_argo(strategy, constraint)
    assert policies.select_tag(policy, tags, current).tag == expected


@pytest.mark.parametrize(
    "constraint",
    [case(VERSION, LATEST + "Find the latest version with a semver constraint that is invalid",
          HEAD, "latest")],
)  # fmt: skip
def test_invalid_constraint_is_an_error(constraint: str) -> None:
    with pytest.raises(policies.PolicyError):
        policies.from_argo("semver", constraint)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        case(VERSION, "Test_UpdateStrategy_String/StrategySemVer", HEAD, "semver", "semver"),
        case(VERSION, "Test_UpdateStrategy_String/StrategyNewestBuild", HEAD, "newest-build",
             "newest-build"),
        case(VERSION, "Test_UpdateStrategy_String/StrategyAlphabetical", HEAD, "alphabetical",
             "alphabetical"),
        case(VERSION, "Test_UpdateStrategy_String/StrategyDigest", HEAD, "digest", "digest"),
        case(VERSION, "Test_NewVersionConstraint", HEAD, "", "semver"),
    ],
)  # fmt: skip
def test_strategy_names(name: str, kind: str) -> None:
    constraint = "stable" if name == "digest" else None
    assert policies.from_argo(name or "semver", constraint).kind == kind


@pytest.mark.parametrize(
    ("ignore", "tag", "ignored"),
    [
        case(VERSION, f"Test_VersionConstraint_IsTagIgnored/{tag}", HEAD, ignore, tag, ignored)
        for ignore, tag, ignored in (
            (("tag1", "tag2"), "tag1", True),
            (("tag1", "tag2"), "tag2", True),
            (("tag1", "tag2"), "tag3", False),
            (("tag?", "foo"), "tag1", True),
            (("tag?", "foo"), "foo", True),
            (("tag?", "foo"), "tag10", False),
        )
    ],
)  # fmt: skip
def test_ignored_tags(ignore: tuple[str, ...], tag: str, ignored: bool) -> None:
    policy = policies.from_argo("alphabetical", ignore_tags=ignore)
    assert (policies.select_tag(policy, [tag], None).tag is None) is ignored


@pytest.mark.parametrize(
    ("strategy", "needs_created"),
    [
        case(VERSION, f"Test_UpdateStrategy_NeedsMetadata/{s}", HEAD, s, s == "newest-build")
        for s in ("semver", "newest-build", "alphabetical", "digest")
    ],
)  # fmt: skip
def test_which_strategies_need_build_times(strategy: str, needs_created: bool) -> None:
    policy = policies.from_argo(strategy, "stable" if strategy == "digest" else None)
    assert policy.needs_created is needs_created


@pytest.mark.parametrize(
    "strategy",
    [
        case(VERSION, f"{test}/{s}", HEAD, s)
        for test in ("Test_UpdateStrategy_NeedsVersionConstraint",
                     "Test_UpdateStrategy_WantsOnlyConstraintTag")
        for s in ("semver", "newest-build", "alphabetical", "digest")
    ],
)  # fmt: skip
def test_only_digest_needs_and_follows_the_constraint_tag(strategy: str) -> None:
    if strategy != "digest":
        assert policies.from_argo(strategy).digest_tag is None
        return
    with pytest.raises(policies.PolicyError, match="needs the tag to follow"):
        policies.from_argo(strategy)
    assert policies.from_argo(strategy, "stable").digest_tag == "stable"


@pytest.mark.parametrize(
    ("candidates", "count"),
    [
        case(TAG, "Test_AppendToImageTagList/Append single entry to ImageTagList", HEAD,
             ["v1.0.0"], 1),
        case(TAG, "Test_AppendToImageTagList/Append two same entries to ImageTagList", HEAD,
             ["v1.0.0", "v1.0.0"], 1),
        case(TAG, "Test_AppendToImageTagList/Append two distinct entries to ImageTagList", HEAD,
             ["v1.0.0", "v1.0.1"], 2),
        case(TAG, "Test_TagsFromTagList/Get list of tags from ImageTagList", HEAD,
             ["wohoo", "bazar", "alpha", "jesus", "zebra"], 5),
    ],
)  # fmt: skip
def test_tag_lists_hold_each_tag_once(candidates: list[str], count: int) -> None:
    decision = policies.select_tag(policies.from_argo("alphabetical"), candidates, None)
    assert decision.considered == count


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        case(TAG, "Test_ImageTagEqual/Versions are similar", HEAD, ("v1.0.0", None),
             ("v1.0.0", None), True),
        case(TAG, "Test_ImageTagEqual/Digests and versions are similar", HEAD,
             ("v1.0.0", "abcdef"), ("v1.0.0", "abcdef"), True),
        case(TAG, "Test_ImageTagEqual/Versions are not similar", HEAD, ("v1.0.0", None),
             ("v1.0.1", None), False),
        case(TAG, "Test_ImageTagEqual/Versions are not similar because digest is different", HEAD,
             ("v1.0.0", "abc"), ("v1.0.0", "def"), False),
        case(TAG, "Test_ImageTagEqual/Versions are not similar because digest is missing", HEAD,
             ("v1.0.0", "abc"), ("v1.0.0", None), False),
    ],
)  # fmt: skip
def test_tag_equality(a: tuple[str, str | None], b: tuple[str, str | None], equal: bool) -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    first, second = (policies.Candidate(tag, when, digest) for tag, digest in (a, b))
    assert (first == second) is equal and (second == first) is equal


@pytest.mark.parametrize(
    "name",
    [case(TAG, "Test_NewImageTag/New image tag from valid Time type", HEAD, "v1.0.0")],
)  # fmt: skip
def test_new_tag_keeps_name_and_time(name: str) -> None:
    when = datetime.now(UTC)
    candidate = policies.Candidate(name, when)
    assert (candidate.tag, candidate.created) == (name, when)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        case(TAG, "Test_SortableImageTagList/Sort by date with same dates", HEAD,
             ["v2.0.2", "v1.0", "v1.0.1", "v2.0.3", "v2.0"], "v1.0"),
    ],
)  # fmt: skip
def test_equal_build_times(names: list[str], expected: str) -> None:
    """A documented difference: upstream's tie goes to the greatest name (v2.0.3)."""
    policy = policies.from_argo("newest-build")
    assert policies.select_tag(policy, dated(names, step=0), None).tag == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        case(TAG, "Test_ImageTagEqual/Digests are similar but version is not", HEAD,
             ("v1.0.0", "abcdef"), ("v1.0.0-variant2", "abcdef")),
    ],
)  # fmt: skip
def test_tags_with_one_digest_stay_two_tags(
    a: tuple[str, str | None], b: tuple[str, str | None]
) -> None:
    """A documented difference: upstream calls them equal; automator writes tags, not digests."""
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert policies.Candidate(a[0], when, a[1]) != policies.Candidate(b[0], when, b[1])
