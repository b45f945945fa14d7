"""Every Masterminds/semver vector in data/semver/ (see its README for provenance)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policies.constraints import parse_comparator, parse_constraint, rewrite_range
from policies.errors import PolicyError, VersionError
from policies.semver import (
    Version,
    parse_flux,
    parse_strict,
    parse_version,
    validate_metadata,
    validate_prerelease,
)

DATA = Path(__file__).parent / "data" / "semver"


def _load(name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return rows


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [str(i) for i in range(len(rows))]


CONSTRAINTS = _load("masterminds_constraints.json")
VERSIONS = _load("masterminds_versions.json")
PARSE = _load("masterminds_constraint_parse.json")
EXTRA = _load("masterminds_oracle_extra.json")

PARSERS: dict[str, Callable[[str], Version]] = {
    "NewVersion": parse_version,
    "StrictNewVersion": parse_strict,
    "flux.ParseVersion": parse_flux,
    "NewVersion[CoerceNewVersion=false]": lambda t: parse_version(t, coerce=False),
    "NewVersion[CoerceNewVersion=false,DetailedNewVersionErrors=false]": lambda t: parse_version(
        t, coerce=False, detailed_errors=False
    ),
}


def test_vector_counts() -> None:
    assert (len(CONSTRAINTS), len(VERSIONS), len(PARSE), len(EXTRA)) == (409, 271, 66, 7984)


@pytest.mark.parametrize("row", CONSTRAINTS, ids=_ids(CONSTRAINTS))
def test_constraint_match(row: dict[str, Any]) -> None:
    text, include = row["constraint"], row["include_prerelease"]
    if row["new_constraint_valid"]:
        cs = parse_constraint(text, include_prerelease=include)
    else:
        with pytest.raises(PolicyError):
            parse_constraint(text)
        cs = parse_constraint("*", include_prerelease=include)  # parseConstraint("") is "*"
        assert parse_comparator(text).reason(parse_version(row["version"])) is None
    v = parse_version(row["version"])
    assert cs.check(v) is row["match"]
    ok, errors = cs.validate(v)
    assert ok is row["match"]
    if "validate_first_error" in row:
        assert errors[0] == row["validate_first_error"]
    if "validate_errors" in row:
        assert list(errors) == row["validate_errors"]


def _check_parse_row(row: dict[str, Any], parse: Callable[[str], Version]) -> None:
    if not row["valid"]:
        with pytest.raises(VersionError) as info:
            parse(row["input"])
        if row.get("error", "").startswith("Err"):
            assert info.value.code == row["error"]
        return
    v = parse(row["input"])
    if "string" in row:
        assert str(v) == row["string"]
    for name, attr in [("major",) * 2, ("minor",) * 2, ("patch",) * 2, ("prerelease",) * 2]:
        if name in row:
            assert getattr(v, attr) == row[name]
    if "metadata" in row:
        assert v.metadata == row["metadata"]
    assert v.original == row.get("original", row["input"])


_OPS: dict[str, Callable[[Version, Version], object]] = {
    "Compare": Version.compare,
    "LessThan": Version.__lt__,
    "LessThanEqual": Version.__le__,
    "GreaterThan": Version.__gt__,
    "GreaterThanEqual": Version.__ge__,
    "Equal": Version.__eq__,
}


@pytest.mark.parametrize("row", VERSIONS, ids=_ids(VERSIONS))
def test_version_vector(row: dict[str, Any]) -> None:
    kind = row["kind"]
    if kind == "parse":
        _check_parse_row(row, PARSERS[row["parser"]])
    elif kind == "compare":
        a, b = parse_version(row["a"]), parse_version(row["b"])
        assert _OPS[row["op"]](a, b) == row["expected"]
    elif kind == "inc":
        v = parse_version(row["input"])
        bumped = {"patch": v.inc_patch, "minor": v.inc_minor, "major": v.inc_major}[row["how"]]()
        assert (str(bumped), bumped.original) == (row["string"], row["original"])
    elif kind in ("validate_prerelease", "validate_metadata"):
        check = validate_prerelease if kind == "validate_prerelease" else validate_metadata
        if row["valid"]:
            check(row["input"])
        else:
            with pytest.raises(VersionError) as info:
                check(row["input"])
            assert info.value.code == row["error"]
    elif kind == "sort":
        parsed = sorted(map(PARSERS[row["parser"]], row["input"]))
        assert [str(v) for v in parsed] == row["expected_strings"]
    else:
        pytest.fail(f"unknown kind {kind}")


@pytest.mark.parametrize("row", PARSE, ids=_ids(PARSE))
def test_constraint_parse_vector(row: dict[str, Any]) -> None:
    kind, text = row["kind"], row["input"]
    if kind == "rewriteRange":
        assert rewrite_range(text) == row["rewritten"]
    elif kind == "parseConstraint":
        if not row["valid"]:
            with pytest.raises(PolicyError):
                parse_comparator(text)
            return
        c = parse_comparator(text)
        assert str(c.con) == row["constraint_version"]
        assert _OPERATOR_FUNCS[c.op] == row["operator_func"]
    elif not row["valid"]:
        with pytest.raises(PolicyError):
            parse_constraint(text)
    else:
        cs = parse_constraint(text)
        if kind == "String":
            assert str(cs) == row["string"]
        elif "or_groups" in row:
            assert len(cs.groups) == row["or_groups"]
            assert len(cs.groups[0]) == row["first_group_and_count"]


_OPERATOR_FUNCS = {
    "": "constraintTildeOrEqual",
    "=": "constraintTildeOrEqual",
    "!=": "constraintNotEqual",
    ">": "constraintGreaterThan",
    "<": "constraintLessThan",
    ">=": "constraintGreaterThanEqual",
    "=>": "constraintGreaterThanEqual",
    "<=": "constraintLessThanEqual",
    "=<": "constraintLessThanEqual",
    "~": "constraintTilde",
    "~>": "constraintTilde",
    "^": "constraintCaret",
}

_EXTRA_PARSE = [r for r in EXTRA if r["kind"] == "parse"]
_EXTRA_CPARSE = [r for r in EXTRA if r["kind"] == "constraint_parse"]
_EXTRA_MATCH = [r for r in EXTRA if r["kind"] == "match"]
_EXTRA_COMPARE = [r for r in EXTRA if r["kind"] == "compare"]


def test_extra_kinds_are_all_covered() -> None:
    covered = len(_EXTRA_PARSE) + len(_EXTRA_CPARSE) + len(_EXTRA_MATCH) + len(_EXTRA_COMPARE)
    assert covered == len(EXTRA) == 7984


@pytest.mark.parametrize("row", _EXTRA_PARSE, ids=_ids(_EXTRA_PARSE))
@pytest.mark.parametrize("parser", ["NewVersion", "StrictNewVersion", "flux.ParseVersion"])
def test_extra_parse(row: dict[str, Any], parser: str) -> None:
    expected = dict(row[parser], input=row["input"])
    expected.pop("error", None)  # upstream prose, not a sentinel name
    _check_parse_row(expected, PARSERS[parser])


@pytest.mark.parametrize("row", _EXTRA_CPARSE, ids=_ids(_EXTRA_CPARSE))
def test_extra_constraint_parse(row: dict[str, Any]) -> None:
    if not row["valid"]:
        with pytest.raises(PolicyError) as info:
            parse_constraint(row["input"])
        assert str(info.value).split(":")[0] == row["error"].split(":")[0]
        return
    cs = parse_constraint(row["input"])
    assert str(cs) == row["string"]
    assert [len(g) for g in cs.groups] == row["and_counts"]


def test_extra_match_matrix() -> None:
    """6,864 rows in one test (one parametrized case each would dominate the run time)."""
    cache: dict[tuple[str, bool], Any] = {}
    wrong = []
    for row in _EXTRA_MATCH:
        key = (row["constraint"], row["include_prerelease"])
        if key not in cache:
            cache[key] = parse_constraint(key[0], include_prerelease=key[1])
        if cache[key].check(parse_version(row["version"])) is not row["match"]:
            wrong.append(row)
    assert len(_EXTRA_MATCH) == 6864
    assert wrong == []


def test_extra_compare_pairs() -> None:
    wrong = [
        r
        for r in _EXTRA_COMPARE
        if parse_version(r["a"]).compare(parse_version(r["b"])) != r["expected"]
    ]
    assert len(_EXTRA_COMPARE) == 946
    assert wrong == []
