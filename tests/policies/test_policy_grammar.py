"""Reading policy strings: kinds, aliases, options, quoting and one-line errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policies import PolicyError, from_argo, parse_policy
from policies.grammar import quote, split_policy


@pytest.mark.parametrize(
    ("text", "kind", "order"),
    [
        ("semver:~1.4", "semver", "semver"),
        ("semver", "semver", "semver"),
        ("regex:^v1\\.", "regex", "semver"),
        ("regexp:^v1\\.", "regex", "semver"),
        ("glob:1.*", "glob", "semver"),
        ("alphabetical", "alphabetical", "alphabetical"),
        ("name", "alphabetical", "alphabetical"),
        ("numerical:desc", "numerical", "numerical"),
        ("newest-build", "newest-build", "newest-build"),
        ("latest", "newest-build", "newest-build"),
        ("digest:stable", "digest", "digest"),
        ("glob:*;order=newest-build", "glob", "newest-build"),
        ("regex:x;order=numerical", "regex", "numerical"),
    ],
)
def test_kinds_and_aliases(text: str, kind: str, order: str) -> None:
    policy = parse_policy(text)
    assert (policy.text, policy.kind, policy.order) == (text, kind, order)


def test_bare_semver_means_any_version() -> None:
    assert str(parse_policy("semver").constraints) == "*"


def test_descending() -> None:
    assert parse_policy("alphabetical:desc").descending
    assert not parse_policy("alphabetical:asc").descending


def test_all_options() -> None:
    policy = parse_policy(
        'semver:>=1.2 <2 || ^3;filter="^v(?P<v>[^;]+)$";extract=${v};ignore=*-rc*;'
        "ignore=*.debug;prerelease;strict;min-age=1h30m;pin-digest;platform=linux/arm/v7;"
        "allow-downgrade"
    )
    assert policy.filter is not None and policy.filter.pattern == "^v(?P<v>[^;]+)$"
    assert policy.extract == "${v}"
    assert policy.ignore == ("*-rc*", "*.debug")
    assert policy.prerelease and policy.strict and policy.pin_digest and policy.allow_downgrade
    assert policy.min_age == timedelta(hours=1, minutes=30)
    assert policy.platform == "linux/arm/v7"
    assert policy.needs_created
    assert str(policy.constraints) == ">=1.2 <2 || ^3"


@pytest.mark.parametrize(
    ("text", "needs"),
    [
        ("semver:^1", False),
        ("newest-build", True),
        ("semver:^1;min-age=7d", True),
        ("regex:.;order=newest-build", True),
        ("glob:*", False),
    ],
)
def test_needs_created(text: str, needs: bool) -> None:
    assert parse_policy(text).needs_created is needs


def test_digest_policy_pins() -> None:
    policy = parse_policy("digest:stable;platform=linux/arm64")
    assert (policy.digest_tag, policy.pin_digest, policy.platform) == (
        "stable",
        True,
        "linux/arm64",
    )


def test_quoted_values_hold_semicolons_and_escapes() -> None:
    policy = parse_policy(r'regex:"^a;b\"c\\d$" ; ignore = "x;y"')
    assert policy.match is not None and policy.match.pattern == '^a;b"c\\d$'
    assert policy.ignore == ("x;y",)


def test_other_backslashes_stay() -> None:
    policy = parse_policy(r'semver;filter="^v(\d+)\.x$";extract=$1')
    assert policy.filter is not None and policy.filter.pattern == r"^v(\d+)\.x$"


@pytest.mark.parametrize("value", ["plain", "a;b", '"q"', " pad ", "back\\slash", ""])
def test_quote_round_trips(value: str) -> None:
    head, _ = split_policy("regex:" + quote(value))
    assert head.value == value


@pytest.mark.parametrize(
    ("text", "column", "expected"),
    [
        ("", 1, "a policy name"),
        ("semverx:1", 1, "a policy name"),
        ("semver:>>1", 8, "a semver range"),
        ("semver:", 8, "a semver range"),
        ("regex:(", 7, "a regular expression"),
        ("regex:", 7, "a value after 'regex:'"),
        ("digest:", 8, "a value after 'digest:'"),
        ("digest:bad tag", 8, "a tag after 'digest:'"),
        ("alphabetical:up", 14, "one of asc, desc"),
        ("newest-build:x", 13, "takes no value"),
        ("semver:1;", 10, "an option name"),
        ("semver:1;foo=1", 10, "an option name"),
        ("semver:1;ignore", 16, "a value"),
        ("semver:1;prerelease=yes", 20, "takes no value"),
        ("semver:1;filter=a;filter=b", 19, "filter at most once"),
        ('semver;filter="a', 15, "a closing"),
        ('semver;filter="a"b', 18, "';' or the end after a quoted value"),
        ("semver;extract=$1", 8, "filter=<regex> before extract="),
        ("semver;filter=(a);extract=$x", 27, "a group of the filter"),
        ("semver;filter=(?P<v>a);extract=${w}", 32, "a group of the filter"),
        ("semver;min-age=1 day", 16, "a duration"),
        ("semver;platform=linux", 17, "a platform"),
        ("semver;order=numerical", 8, "order= only after regex: or glob:"),
        ("glob:*;order=size", 14, "one of semver"),
        ("alphabetical;prerelease", 24, "only with semver ordering"),
        ("digest:x;filter=a", 18, "no filter="),
        ("regex:" + "a" * 513, 7, "at most 512"),
    ],
)
def test_errors_name_column_and_expectation(text: str, column: int, expected: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    message = str(info.value)
    assert "\n" not in message
    assert f"column {column}: expected" in message
    assert expected in message


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)


@pytest.mark.parametrize(
    ("value", "kind", "order"),
    [
        ("1.*", "glob", "newest-build"),
        ("glob:1.*", "glob", "newest-build"),
        ("regexp:^1\\.", "regex", "newest-build"),
        ("semver:~1.4", "semver", "semver"),
    ],
)
def test_flux_v1_annotations(value: str, kind: str, order: str) -> None:
    policy = parse_policy(value, flux_v1=True)
    assert (policy.kind, policy.order) == (kind, order)


def test_from_argo() -> None:
    policy = from_argo(
        "semver", "1.x", allow_tags="regexp:^1\\.[0-9;]+$", ignore_tags=("*-rc",), platform=None
    )
    assert policy.kind == "semver" and str(policy.constraints) == "1.x"
    assert policy.filter is not None and policy.filter.pattern == "^1\\.[0-9;]+$"
    assert policy.ignore == ("*-rc",)
    assert from_argo("latest").kind == "newest-build"
    assert from_argo("name").kind == "alphabetical"
    assert from_argo("digest", "stable").digest_tag == "stable"
    assert from_argo("semver").constraints is not None
    assert from_argo("semver", allow_tags="any").filter is None


def test_promote_from_and_after() -> None:
    policy = parse_policy("semver:^1;promote-from=clusters/staging/api.yaml;after=24h")
    assert policy.promote_from == "clusters/staging/api.yaml"
    assert policy.promote_after == timedelta(hours=24)
    assert parse_policy("semver:^1;promote-from=Deployment/api").promote_after == timedelta(0)
    with pytest.raises(PolicyError, match="after= only with promote-from="):
        parse_policy("semver:^1;after=1d")
