"""build_plan: Sites + tags -> Changes, and a reason for everything left alone."""

from __future__ import annotations

from automator.errors import RegistryError
from automator.model import Part, Site
from automator.plan import build_plan, unified_diff
from automator.reference import parse_reference

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
    plan = build_plan([site()], {"reg.test/acme/api": ["1.4.2", "1.4.3", "1.5.0"]}, read)
    assert [c.new for c in plan.changes] == ["reg.test/acme/api:1.4.3"]
    assert plan.files["apps/api.yaml"] == b'spec:\n  image: "reg.test/acme/api:1.4.3"  # keep\n'
    assert plan.errors == ()
    diff = unified_diff(plan, read)
    assert '-  image: "reg.test/acme/api:1.4.2"  # keep\n' in diff
    assert '+  image: "reg.test/acme/api:1.4.3"  # keep\n' in diff


def test_up_to_date_is_not_a_change() -> None:
    plan = build_plan([site()], {"reg.test/acme/api": ["1.4.2", "1.5.0"]}, read)
    assert plan.empty and plan.skipped == ()


def test_registry_error_is_an_error_skip() -> None:
    error = RegistryError("reg.test/acme/api: cannot reach reg.test", transient=True)
    plan = build_plan([site()], {"reg.test/acme/api": error}, read)
    assert plan.empty
    assert [(s.where, s.reason, s.error) for s in plan.skipped] == [
        ("apps/api.yaml:2", "reg.test/acme/api: cannot reach reg.test", True)
    ]


def test_bad_policy_is_an_error_skip() -> None:
    plan = build_plan([site(policy="semver:")], {"reg.test/acme/api": ["1.4.3"]}, read)
    assert plan.empty
    assert plan.errors and "policy 'semver:'" in plan.errors[0].reason


def test_nothing_matching_is_reported_but_not_an_error() -> None:
    plan = build_plan([site(policy="semver:~2.0")], {"reg.test/acme/api": ["1.4.3"]}, read)
    assert plan.empty
    assert len(plan.skipped) == 1 and not plan.skipped[0].error
