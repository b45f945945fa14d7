"""build_plan: Sites + tags -> Changes, a reason for all left alone; splice applies them."""

from __future__ import annotations

from collections.abc import Sequence

import policies
from automator.errors import AutomatorError, RegistryError
from automator.model import Part, Site
from automator.plan import build_plan
from automator.reference import ImageRef, parse_reference
from automator.write import splice, unified_diff

DIGEST = "sha256:" + "ab" * 32


class Table:
    """A Catalog from a table: canonical name -> tags (or an error)."""

    def __init__(self, table: dict[str, list[str] | AutomatorError]) -> None:
        self.table = table
        self.digests_asked: list[str] = []

    def candidates(
        self, image: ImageRef, *, created: bool, platform: str | None, **_: object
    ) -> Sequence[policies.Candidate] | AutomatorError:
        found = self.table[image.canonical_name]
        if isinstance(found, AutomatorError):
            return found
        return [policies.Candidate(tag) for tag in found]

    def digest(self, image: ImageRef, tag: str) -> str:
        self.digests_asked.append(tag)
        return DIGEST


TEXT = 'spec:\n  image: "reg.test/acme/api:1.4.2"  # keep\n'


def site(policy: str = "semver:~1.4", image: str = "reg.test/acme/api:1.4.2") -> Site:
    start = TEXT.index('"')
    return Site(
        file="apps/api.yaml",
        line=2,
        start=start,
        end=TEXT.index("  #"),
        part=Part.REFERENCE,
        value=image,
        image=parse_reference(image),
        policy=policy,
        origin="annotation",
        workload="Deployment/api",
        container="api",
    )


def read(path: str) -> bytes:
    assert path == "apps/api.yaml"
    return TEXT.encode()


def test_change_keeps_quotes_and_comment() -> None:
    decided = build_plan([site()], Table({"reg.test/acme/api": ["1.4.2", "1.4.3", "1.5.0"]}))
    assert decided.files == {}  # the plan decides; the write stage edits
    plan = splice(decided, read)
    assert [c.new for c in plan.changes] == ["reg.test/acme/api:1.4.3"]
    assert plan.files["apps/api.yaml"] == b'spec:\n  image: "reg.test/acme/api:1.4.3"  # keep\n'
    assert plan.errors == ()
    diff = unified_diff(plan.files, read)
    assert '-  image: "reg.test/acme/api:1.4.2"  # keep\n' in diff
    assert '+  image: "reg.test/acme/api:1.4.3"  # keep\n' in diff


def test_up_to_date_is_not_a_change() -> None:
    plan = build_plan([site()], Table({"reg.test/acme/api": ["1.4.2", "1.5.0"]}))
    assert plan.empty and plan.skipped == ()


def test_registry_error_is_an_error_skip() -> None:
    error = RegistryError("reg.test/acme/api: cannot reach reg.test", transient=True)
    plan = build_plan([site()], Table({"reg.test/acme/api": error}))
    assert plan.empty
    assert [(s.where, s.reason, s.error) for s in plan.skipped] == [
        ("apps/api.yaml:2", "reg.test/acme/api: cannot reach reg.test", True)
    ]


def test_bad_policy_is_an_error_skip() -> None:
    plan = build_plan([site(policy="semver:")], Table({"reg.test/acme/api": ["1.4.3"]}))
    assert plan.empty
    assert plan.errors and "policy 'semver:'" in plan.errors[0].reason


def test_nothing_matching_is_reported_but_not_an_error() -> None:
    plan = build_plan([site(policy="semver:~2.0")], Table({"reg.test/acme/api": ["1.4.3"]}))
    assert plan.empty
    assert len(plan.skipped) == 1 and not plan.skipped[0].error


def test_pin_digest_writes_tag_and_digest() -> None:
    table = Table({"reg.test/acme/api": ["1.4.2", "1.4.3"]})
    plan = build_plan([site(policy="semver:~1.4;pin-digest")], table)
    assert [c.new for c in plan.changes] == [f"reg.test/acme/api:1.4.3@{DIGEST}"]
    assert table.digests_asked == ["1.4.3"]


def test_digest_policy_follows_a_moving_tag() -> None:
    image = "reg.test/acme/api:stable@sha256:" + "00" * 32
    table = Table({"reg.test/acme/api": ["stable", "1.0"]})
    text = f"spec:\n  image: {image}\n"
    one = Site(
        file="apps/api.yaml",
        line=2,
        start=text.index("reg"),
        end=len(text) - 1,
        part=Part.REFERENCE,
        value=image,
        image=parse_reference(image),
        policy="digest:stable",
        origin="annotation",
    )
    plan = splice(build_plan([one], table), lambda _: text.encode())
    assert [c.new for c in plan.changes] == [f"reg.test/acme/api:stable@{DIGEST}"]
    assert (
        plan.files["apps/api.yaml"]
        == f"spec:\n  image: reg.test/acme/api:stable@{DIGEST}\n".encode()
    )


def test_digest_already_current_is_no_change() -> None:
    image = f"reg.test/acme/api:stable@{DIGEST}"
    one = Site(
        "f.yaml",
        1,
        7,
        7 + len(image),
        Part.REFERENCE,
        image,
        parse_reference(image),
        "digest:stable",
        "annotation",
    )
    plan = build_plan([one], Table({"reg.test/acme/api": ["stable"]}))
    assert plan.empty and plan.skipped == ()
