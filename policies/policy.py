"""Policies: what a policy string means, read once into a ``Policy`` value.

Kinds (aliases from Flux v1 and Argo CD Image Updater in brackets):

    semver[:<range>]           highest version in a Masterminds range; bare = "*" (Argo)
    regex:<re> [regexp:]       tags the regex finds, newest by ``order=`` (default semver)
    glob:<pat>                 tags the glob matches whole, newest by ``order=``
    alphabetical[:asc|desc]    [name]  Flux: asc picks the greatest, desc the smallest
    numerical[:asc|desc]       Flux: every candidate must be a number
    newest-build               [latest]  the most recent image build time
    digest:<tag>               follow one mutable tag by digest (always pins)

Options: ``filter=<re>``, ``extract=<template>``, ``ignore=<glob>`` (repeatable),
``exclude=<re>`` (repeatable; a tag the regex finds anywhere is refused: Flux's
ImageRepository ``exclusionList``), ``prerelease``, ``strict``, ``min-age=<duration>``,
``age-from=build|first-seen`` (what ``min-age`` is measured from: the image's own build
time, or when automator first saw the tag, which the caller records and passes in),
``pin-digest``, ``reflect-digest=never|if-not-present|always`` (Flux's
``digestReflectionPolicy``; ``always`` is ``pin-digest``), ``platform=<os>/<arch>[/<variant>]``,
``allow-downgrade``, ``order=<ordering>``, ``verify=cosign`` (adopt a tag only when the
caller's verifier accepts its digest), ``promote-from=<path or Kind/name>`` with
``after=<duration>`` (take only the tag another Site has carried for that long; the
caller reads how long, from the config repo's history), ``variants=on|off``.

Flux v1 (``flux_v1=True``): a tag spelled ``latest`` (any case) is never picked unless the
pattern is exactly ``latest`` (fluxd's ``matchWithLatest``), and under a build-time ordering
a workload whose current tag has no known build time is left alone (fluxd skips it).

Version parsing (a decision): tags are read loosely, like Argo and Flux v1 (Masterminds
``NewVersion``: ``v1.2``, ``1.2``, ``2023.01.05`` count). ``strict`` switches to Flux v2's
reading (one ``v`` stripped, then strict SemVer 2.0); policies derived from a Flux
ImagePolicy should carry it so that both tools pick the same tag.

Variants (``policies.variants``): on by default for ``semver:`` (``variants=off`` turns
them off; ``variants=on`` turns them on for ``regex:``/``glob:`` with semver ordering),
off under ``strict`` and Flux v1, whose tools read ``-alpine`` as a prerelease.

Prereleases: with semver ordering (``semver:``, or ``regex:``/``glob:`` with the default
order) a prerelease tag counts only when the range mentions a prerelease (Masterminds'
rule) or the policy says ``prerelease``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import regex

from policies.constraints import Constraints, parse_constraint
from policies.errors import PolicyError
from policies.filters import (
    MAX_PATTERN_CHARS,
    Pattern,
    backtracking_problem,
    compile_pattern,
    glob_to_regex,
    tag_problem,
    template_names,
)
from policies.grammar import Part, policy_error, split_policy

KINDS: Final = {
    "semver": "semver",
    "regex": "regex",
    "regexp": "regex",
    "glob": "glob",
    "alphabetical": "alphabetical",
    "name": "alphabetical",
    "numerical": "numerical",
    "newest-build": "newest-build",
    "latest": "newest-build",
    "digest": "digest",
}
ORDERS: Final = ("semver", "alphabetical", "numerical", "newest-build")
FLAGS: Final = frozenset({"prerelease", "strict", "pin-digest", "allow-downgrade"})
VALUED: Final = frozenset(
    {
        "filter",
        "extract",
        "ignore",
        "exclude",
        "min-age",
        "age-from",
        "platform",
        "order",
        "reflect-digest",
        "verify",
        "variants",
        "promote-from",
        "after",
    }
)
REPEATABLE: Final = frozenset({"ignore", "exclude"})
REFLECT: Final = ("never", "if-not-present", "always")
VERIFIERS: Final = ("cosign",)
SWITCH: Final = ("on", "off")
AGE_FROM: Final = ("build", "first-seen")
_DURATION: Final = re.compile(r"(?:[0-9]+[smhdw])+")
_DURATION_PART: Final = re.compile(r"([0-9]+)([smhdw])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PLATFORM: Final = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?")


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy. ``order`` is the ordering that picks the winner."""

    text: str
    kind: str
    order: str
    descending: bool = False
    constraints: Constraints | None = None
    match: Pattern | None = None
    filter: Pattern | None = None
    extract: str | None = None
    ignore: tuple[str, ...] = ()
    ignore_patterns: tuple[Pattern, ...] = ()
    prerelease: bool = False
    strict: bool = False
    min_age: timedelta | None = None
    pin_digest: bool = False
    platform: str | None = None
    allow_downgrade: bool = False
    digest_tag: str | None = None
    needs_created: bool = False
    exclude: tuple[Pattern, ...] = ()
    reflect_digest: str | None = None  # never | if-not-present | always; None: pin_digest says
    fluxd: bool = False  # Flux v1 rules: no ``latest`` unless asked; unknown current build time
    verify: str | None = None  # "cosign": every winner must pass the caller's verifier
    variants: bool = False  # keep the current tag's suffix family and precision (variants.py)
    promote_from: str | None = None  # a file or Kind/name whose tag this Site takes, soaked
    promote_after: timedelta = timedelta(0)  # how long that tag must have run there
    age_from: str = "build"  # min-age from the build time, or from when automator first saw it


def parse_policy(text: str, *, flux_v1: bool = False, age_from: str = "build") -> Policy:
    """Read a policy string; raise ``PolicyError`` naming the column on any mistake.

    ``flux_v1=True`` reads a ``fluxcd.io/tag.<container>`` value: no prefix means
    ``glob:``, and ``glob:``/``regex:`` pick the newest build, as fluxd did.
    ``age_from`` is what ``min-age`` is measured from when the policy has no ``age-from=``
    (automator.yaml's ``min_age_from``).
    """
    if flux_v1 and text.split(":", 1)[0].strip() not in ("semver", "glob", "regex", "regexp"):
        text = "glob:" + text
    head, parts = split_policy(text)
    kind = KINDS.get(head.name)
    if kind is None:
        raise policy_error(text, head.name_at, f"a policy name ({', '.join(sorted(KINDS))})")
    options = _options(text, parts)
    flags = {name for name in options if name in FLAGS}
    fields: dict[str, object] = {name.replace("-", "_"): True for name in flags}
    fields.update(_head_fields(text, kind, head, include_prerelease="prerelease" in flags))
    order = str(fields.setdefault("order", "semver" if kind in ("regex", "glob") else kind))
    if "order" in options:
        if kind not in ("regex", "glob"):
            raise policy_error(
                text, options["order"][0].name_at, "order= only after regex: or glob:"
            )
        order = fields["order"] = _one_of(text, options["order"][0], ORDERS)
    elif flux_v1 and kind in ("regex", "glob"):
        order = fields["order"] = "newest-build"
    if order != "semver" and flags & {"prerelease", "strict"}:
        raise policy_error(text, len(text), "prerelease and strict only with semver ordering")
    fields.update(_filter_fields(text, kind, options, fields.get("match")))
    if "min-age" in options:
        fields["min_age"] = _duration(text, options["min-age"][0])
    if "age-from" in options:
        if "min-age" not in options:
            raise policy_error(text, options["age-from"][0].name_at, "age-from= only with min-age=")
        age_from = _one_of(text, options["age-from"][0], AGE_FROM)
    if "min_age" in fields:
        fields["age_from"] = age_from
    if "platform" in options:
        fields["platform"] = _platform(text, options["platform"][0])
    if "exclude" in options:
        fields["exclude"] = tuple(_regex(text, part) for part in options["exclude"])
    if "reflect-digest" in options:
        reflect = fields["reflect_digest"] = _one_of(text, options["reflect-digest"][0], REFLECT)
        fields["pin_digest"] = reflect == "always"
    if "verify" in options:
        fields["verify"] = _one_of(text, options["verify"][0], VERIFIERS)
    if "promote-from" in options:
        fields["promote_from"] = options["promote-from"][0].value
    if "after" in options:
        if "promote-from" not in options:
            raise policy_error(text, options["after"][0].name_at, "after= only with promote-from=")
        fields["promote_after"] = _duration(text, options["after"][0])
    if kind == "digest":
        fields["pin_digest"] = True
    fields["fluxd"] = flux_v1
    fields["variants"] = _variants(text, kind, order, options, strict="strict" in flags or flux_v1)
    if order == "semver" and kind != "semver":
        fields["constraints"] = parse_constraint("*", include_prerelease="prerelease" in flags)
    by_build = "min_age" in fields and fields["age_from"] == "build"
    fields["needs_created"] = order == "newest-build" or by_build
    return Policy(text=text, kind=kind, **fields)  # type: ignore[arg-type]


def _options(text: str, parts: tuple[Part, ...]) -> dict[str, list[Part]]:
    options: dict[str, list[Part]] = {}
    for part in parts:
        if part.name not in FLAGS | VALUED:
            known = ", ".join(sorted(FLAGS | VALUED))
            raise policy_error(text, part.name_at, f"an option name ({known}), not {part.name!r}")
        if part.name in FLAGS and part.value is not None:
            raise policy_error(
                text, part.value_at - 1, f"';' or the end: {part.name} takes no value"
            )
        if part.name in VALUED and not part.value:
            raise policy_error(text, part.value_at, f"a value: {part.name}=<value>")
        if part.name in options and part.name not in REPEATABLE:
            raise policy_error(text, part.name_at, f"{part.name} at most once")
        options.setdefault(part.name, []).append(part)
    return options


def _head_fields(
    text: str, kind: str, head: Part, *, include_prerelease: bool
) -> dict[str, object]:
    value = head.value
    if kind in ("regex", "glob", "digest") and not value:
        example = {"regex": "regex:^v1\\.", "glob": "glob:1.*", "digest": "digest:stable"}[kind]
        raise policy_error(text, head.value_at, f"a value after '{head.name}:', e.g. {example}")
    if kind in ("newest-build",) and head.value is not None:
        raise policy_error(text, head.value_at - 1, f"';' or the end: {head.name} takes no value")
    if kind == "semver":
        return {"constraints": _constraints(text, head, value, include_prerelease)}
    if kind == "regex":
        return {"match": _regex(text, head)}
    if kind == "glob":
        assert value is not None
        return {"match": glob_to_regex(value)}
    if kind == "digest":
        assert value is not None
        if tag_problem(value):
            raise policy_error(text, head.value_at, f"a tag after 'digest:', not {value!r}")
        return {"digest_tag": value}
    if value is not None:  # alphabetical / numerical direction
        return {"descending": _one_of(text, head, ("asc", "desc")) == "desc"}
    return {}


def _constraints(text: str, head: Part, value: str | None, include: bool) -> Constraints:
    if value is None:
        value = "*"  # Argo: a bare semver strategy takes any version
    try:
        return parse_constraint(value, include_prerelease=include)
    except PolicyError as exc:
        raise policy_error(text, head.value_at, f"a semver range: {exc}") from exc


def _regex(text: str, part: Part) -> Pattern:
    value = part.value or ""
    if len(value) > MAX_PATTERN_CHARS:
        raise policy_error(text, part.value_at, f"a pattern of at most {MAX_PATTERN_CHARS} chars")
    try:
        compiled = compile_pattern(value)
    except regex.error as exc:
        raise policy_error(text, part.value_at, f"a regular expression: {exc}") from exc
    if problem := backtracking_problem(value):
        raise policy_error(
            text, part.value_at, f"a pattern without {problem}; use a possessive (a++) or rewrite"
        )
    return compiled


def _filter_fields(
    text: str, kind: str, options: dict[str, list[Part]], match: object
) -> dict[str, object]:
    fields: dict[str, object] = {}
    if kind == "digest" and options.keys() & {"filter", "extract", "ignore"}:
        raise policy_error(text, len(text), "no filter=, extract= or ignore= after digest:")
    pattern = None
    if "filter" in options:
        pattern = fields["filter"] = _regex(text, options["filter"][0])
    elif kind == "regex" and isinstance(match, regex.Pattern):
        pattern = match
    if "extract" in options:
        part = options["extract"][0]
        if pattern is None:
            raise policy_error(text, part.name_at, "filter=<regex> before extract=")
        for name in template_names(part.value or ""):
            known = name in pattern.groupindex or (name.isdigit() and int(name) <= pattern.groups)
            if not known:
                raise policy_error(text, part.value_at, f"a group of the filter, not ${name}")
        fields["extract"] = part.value
    ignores = tuple(p.value or "" for p in options.get("ignore", []))
    fields["ignore"] = ignores
    fields["ignore_patterns"] = tuple(glob_to_regex(g) for g in ignores)
    return fields


def _variants(
    text: str, kind: str, order: str, options: dict[str, list[Part]], *, strict: bool
) -> bool:
    """On by default for ``semver:``; off for Flux (``strict``, Flux v1) and on request."""
    if "variants" not in options:
        return kind == "semver" and not strict
    part = options["variants"][0]
    wanted = _one_of(text, part, SWITCH) == "on"
    if wanted and (order != "semver" or strict):
        raise policy_error(
            text, part.name_at, "variants=on only with semver ordering and without strict"
        )
    return wanted


def _one_of(text: str, part: Part, allowed: tuple[str, ...]) -> str:
    if part.value not in allowed:
        raise policy_error(text, part.value_at, f"one of {', '.join(allowed)}")
    return str(part.value)


def _duration(text: str, part: Part) -> timedelta:
    value = part.value or ""
    if not _DURATION.fullmatch(value):
        raise policy_error(text, part.value_at, "a duration such as 30m, 24h, 7d or 1h30m")
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(value))
    return timedelta(seconds=seconds)


def _platform(text: str, part: Part) -> str:
    if not _PLATFORM.fullmatch(part.value or ""):
        raise policy_error(text, part.value_at, "a platform such as linux/arm64 or linux/arm/v7")
    return part.value or ""
