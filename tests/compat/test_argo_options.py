"""Ported: registry-scanner/pkg/image/options_test.go and matchfunc_test.go.

Upstream reads annotations with ``GetParameter*`` (v0.18.0) and match kinds with
``ParseMatch`` (HEAD); automator reads the same annotations into an ``Image`` whose
policy string ``policies`` parses. Differences: tests/compat/DIFFERENCES-argo.md.
"""

from __future__ import annotations

import pytest

import policies
from automator.errors import ManifestError
from tests.compat.argo import HEAD, SCANNER, V0_18, case, image

OPTIONS = SCANNER + "options_test.go"
MATCH = SCANNER + "matchfunc_test.go"


@pytest.mark.parametrize(
    ("item", "annotations", "expected"),
    [
        case(OPTIONS, "Test_GetHelmOptions/Get Helm parameter for configured application", V0_18,
             "dummy=foo/bar:1.12",
             {"dummy.helm.image-name": "release.name", "dummy.helm.image-tag": "release.tag",
              "dummy.helm.image-spec": "release.image"},
             ("release.name", "release.tag", "release.image")),
        case(OPTIONS, "Test_GetHelmOptions/Get Helm parameter for non-configured application",
             V0_18, "foo=foo/bar:1.12",
             {"dummy.helm.image-name": "release.name", "dummy.helm.image-tag": "release.tag",
              "dummy.helm.image-spec": "release.image"},
             ("image.name", "image.tag", "")),  # upstream "" means: the defaults apply
        case(OPTIONS,
             "Test_GetHelmOptions/Get Helm parameter for configured application with normalized"
             " name", V0_18, "foo/dummy=foo/bar:1.12",
             {"foo_dummy.helm.image-name": "release.name",
              "foo_dummy.helm.image-tag": "release.tag",
              "foo_dummy.helm.image-spec": "release.image"},
             ("release.name", "release.tag", "release.image")),
    ],
)  # fmt: skip
def test_helm_options(item: str, annotations: dict[str, str], expected: tuple[str, ...]) -> None:
    found = image(annotations, item)
    assert (found.helm_name, found.helm_tag, found.helm_spec) == expected


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        case(OPTIONS, "Test_GetKustomizeOptions/configured application", V0_18,
             "dummy=foo/bar:1.12", "argoproj/argo-cd"),
        case(OPTIONS, "Test_GetKustomizeOptions/other alias", V0_18, "dummy2=foo2/bar2:1.12", ""),
    ],
)  # fmt: skip
def test_kustomize_options(item: str, expected: str) -> None:
    found = image({"dummy.kustomize.image-name": "argoproj/argo-cd"}, item)
    assert found.kustomize_name == expected


SORT = "Test_GetSortOption/"


@pytest.mark.parametrize(
    ("annotations", "kind"),
    [
        case(OPTIONS, SORT + "Get update strategy semver for configured application", V0_18,
             {"dummy.update-strategy": "semver"}, "semver"),
        case(OPTIONS, SORT + "Use update strategy newest-build for configured application", V0_18,
             {"dummy.update-strategy": "newest-build"}, "newest-build"),
        case(OPTIONS, SORT + "Get update strategy date for configured application", V0_18,
             {"dummy.update-strategy": "latest"}, "newest-build"),
        case(OPTIONS, SORT + "Get update strategy name for configured application", V0_18,
             {"dummy.update-strategy": "name"}, "alphabetical"),
        case(OPTIONS, SORT + "Use update strategy alphabetical for configured application", V0_18,
             {"dummy.update-strategy": "alphabetical"}, "alphabetical"),
        case(OPTIONS, SORT + "Get update strategy option configured application because of option"
             " not set", V0_18, {}, "semver"),
        case(OPTIONS, SORT + "Prefer update strategy option from image-specific annotation", V0_18,
             {"dummy.update-strategy": "alphabetical", "update-strategy": "newest-build"},
             "alphabetical"),
        case(OPTIONS, SORT + "Get update strategy option from application-wide annotation", V0_18,
             {"update-strategy": "newest-build"}, "newest-build"),
        case(OPTIONS, SORT + "Get update strategy option digest from application-wide annotation",
             V0_18, {"update-strategy": "digest"}, "digest"),
    ],
)  # fmt: skip
def test_update_strategy(annotations: dict[str, str], kind: str) -> None:
    # digest needs the tag to follow: upstream's image is foo/bar:1.12, so the constraint is 1.12
    assert policies.parse_policy(image(annotations).policy).kind == kind


@pytest.mark.parametrize(
    "annotations",
    [
        case(OPTIONS, SORT + "Get update strategy option configured application because of invalid"
             " option", V0_18, {"dummy.update-strategy": "invalid"}),
    ],
)  # fmt: skip
def test_invalid_strategy_is_refused(annotations: dict[str, str]) -> None:
    """A documented difference: upstream falls back to semver, automator refuses."""
    with pytest.raises(ManifestError, match="update-strategy 'invalid' is not one of"):
        image(annotations)


GET_MATCH = "Test_GetMatchOption/"


@pytest.mark.parametrize(
    ("annotations", "accepted", "refused"),
    [
        case(OPTIONS, GET_MATCH + "Get regexp match option for configured application", V0_18,
             {"dummy.allow-tags": "regexp:a-z"}, ["a-z"], ["abc"]),
        case(OPTIONS, GET_MATCH + "No match option for configured application", V0_18,
             {}, ["", "1.0"], []),
        case(OPTIONS, GET_MATCH + "Prefer match option from image-specific annotation", V0_18,
             {"dummy.allow-tags": "regexp:^[0-9]", "allow-tags": "regexp:^v"},
             ["0.0.1"], ["v0.0.1"]),
        case(OPTIONS, GET_MATCH + "Get match option from application-wide annotation", V0_18,
             {"allow-tags": "regexp:^v"}, ["v0.0.1"], ["0.0.1"]),
    ],
)  # fmt: skip
def test_allow_tags(annotations: dict[str, str], accepted: list[str], refused: list[str]) -> None:
    policy = policies.parse_policy(image(annotations).policy)
    for tag in accepted:
        assert policy.filter is None or policy.filter.search(tag), tag
    for tag in refused:
        assert policy.filter is not None and not policy.filter.search(tag), tag


@pytest.mark.parametrize(
    ("annotations", "match"),
    [
        case(OPTIONS, GET_MATCH + "Get regexp match option for configured application with"
             " invalid expression", V0_18, {"dummy.allow-tags": "regexp:/foo\\"}, "regular expr"),
        case(OPTIONS, GET_MATCH + "Get invalid match option for configured application", V0_18,
             {"dummy.allow-tags": "invalid"}, "neither 'any' nor"),
    ],
)  # fmt: skip
def test_invalid_allow_tags_is_refused(annotations: dict[str, str], match: str) -> None:
    """Upstream matches no tag (fail closed); automator refuses the image with the reason."""
    with pytest.raises(ManifestError, match=match):
        image(annotations)


PARSE = "Test_ContainerImage_ParseMatch"
PARSE_V0 = "Test_ContainerImage_ParseMatchfunc"


@pytest.mark.parametrize(
    ("value", "tag", "matches"),
    [
        *(
            case(OPTIONS, f"{test}/{value}", commit, value, tag, matches)
            for test, commit in ((PARSE, HEAD), (PARSE_V0, V0_18))
            for value, tag, matches in (
                ("any", "MatchFuncAny any tag name", True),
                ("ANY", "MatchFuncAny any tag name", True),
                ("regexp:[aA-zZ]", "MatchFuncRegexp-tag-name", True),
                ("RegExp:[aA-zZ]", "MatchFuncRegexp-tag-name", True),
            )
        ),
        case(MATCH, "Test_MatchFuncAny", HEAD, "any", "whatever", True),
        case(MATCH, "Test_MatchFuncRegexp/Test with valid expression", HEAD, "regexp:[a-z]+",
             "lemon", True),
        case(MATCH, "Test_MatchFuncRegexp/Test with valid expression (31337)", HEAD,
             "regexp:[a-z]+", "31337", False),
    ],
)  # fmt: skip
def test_match_kinds(value: str, tag: str, matches: bool) -> None:
    policy = policies.from_argo("alphabetical", allow_tags=value)
    found = policy.filter is None or policy.filter.search(tag) is not None
    assert found is matches


@pytest.mark.parametrize(
    "value",
    [
        *(
            case(OPTIONS, f"{test}/{value}", commit, value)
            for test, commit in ((PARSE, HEAD), (PARSE_V0, V0_18))
            for value in ("other", "not-regexp:a-z", "regexp:[aA-zZ")
        ),
        case(MATCH, "Test_MatchFuncNone", HEAD, "none"),
    ],
)  # fmt: skip
def test_match_kinds_that_match_nothing_are_refused(value: str) -> None:
    """Upstream's MatchFuncNone (no tag ever matches): automator refuses the setting."""
    with pytest.raises(policies.PolicyError):
        policies.from_argo("alphabetical", allow_tags=value)


IGNORE = "Test_GetIgnoreTags/"


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        case(OPTIONS, IGNORE + "Get list of tags to ignore from image-specific annotation", V0_18,
             {"dummy.ignore-tags": "tag1, ,tag2,  tag3  , tag4"}, ("tag1", "tag2", "tag3", "tag4")),
        case(OPTIONS, IGNORE + "No tags to ignore from image-specific annotation", V0_18, {}, ()),
        case(OPTIONS, IGNORE + "Prefer list of tags to ignore from image-specific annotation",
             V0_18, {"dummy.ignore-tags": "tag1, tag2", "ignore-tags": "tag3, tag4"},
             ("tag1", "tag2")),
        case(OPTIONS, IGNORE + "Get list of tags to ignore from application-wide annotation",
             V0_18, {"ignore-tags": "tag3, tag4"}, ("tag3", "tag4")),
    ],
)  # fmt: skip
def test_ignore_tags(annotations: dict[str, str], expected: tuple[str, ...]) -> None:
    assert policies.parse_policy(image(annotations).policy).ignore == expected


FORCE = "Test_HasForceUpdateOptionAnnotation/"


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        case(OPTIONS, FORCE + "Get force-update option from image-specific annotation", V0_18,
             {"dummy.force-update": "true"}, True),
        case(OPTIONS, FORCE + "Prefer force-update option from image-specific annotation", V0_18,
             {"dummy.force-update": "true", "force-update": "false"}, True),
        case(OPTIONS, FORCE + "Get force-update option from application-wide annotation", V0_18,
             {"force-update": "false"}, False),
    ],
)  # fmt: skip
def test_force_update(annotations: dict[str, str], expected: bool) -> None:
    assert image(annotations).force is expected


PLATFORMS = "Test_GetPlatformOptions/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *(
            case(OPTIONS, PLATFORMS + name, commit, value, expected)
            for commit in (V0_18, HEAD)
            for name, value, expected in (
                ("Single platform without variant requested", "linux/arm64/v8", "linux/arm64/v8"),
                ("Single platform with variant requested", "linux/arm/v6", "linux/arm/v6"),
            )
        ),
    ],
)  # fmt: skip
def test_platforms(value: str, expected: str) -> None:
    policy = policies.parse_policy(image({"dummy.platforms": value}).policy)
    assert policy.platform == expected


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        case(OPTIONS, PLATFORMS + "Empty platform options without restriction", commit, {}, None)
        for commit in (V0_18, HEAD)
    ],
)  # fmt: skip
def test_no_platform_means_any(annotations: dict[str, str], expected: None) -> None:
    assert policies.parse_policy(image(annotations).policy).platform is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        case(OPTIONS, PLATFORMS + "Multiple platforms requested", commit,
             "linux/arm/v6, linux/amd64", "linux/arm/v6")
        for commit in (V0_18, HEAD)
    ],
)  # fmt: skip
def test_several_platforms_use_the_first(value: str, expected: str) -> None:
    """A documented difference: upstream wants any of them; automator reads the first."""
    assert policies.parse_policy(image({"dummy.platforms": value}).policy).platform == expected


@pytest.mark.parametrize(
    "value",
    [case(OPTIONS, PLATFORMS + "Invalid platform requested", c, "invalid") for c in (V0_18, HEAD)],
)  # fmt: skip
def test_invalid_platform_is_refused(value: str) -> None:
    """A documented difference: upstream matches no platform; automator refuses the image."""
    with pytest.raises(ManifestError, match="platform"):
        image({"dummy.platforms": value})
