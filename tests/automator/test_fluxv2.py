"""Flux v2 semantics through scan and plan: digest reflection, exclusionList, provider,
broken references, and the ImageUpdateAutomation reading (policySelector, branches)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import policies
from automator.config import parse_config
from automator.errors import AutomatorError, ConfigError, GitError, ManifestError
from automator.follow import follow_units
from automator.git import GitRepo
from automator.manifests import find_flux_objects, scan_files
from automator.manifests.automation import automations
from automator.model import Change, Skip
from automator.plan import build_plan
from automator.reference import ImageRef

OLD = "sha256:" + "aa" * 32
NEW = "sha256:" + "bb" * 32


class Registry:
    """reg.test/app holds 1.0.0 and 1.1.0; ``digest`` says where each points now."""

    def __init__(self, tags: Sequence[str] = ("1.0.0", "1.1.0"), digest: str = NEW) -> None:
        self.tags = list(tags)
        self.now = digest
        self.asked: list[str] = []

    def candidates(
        self, image: ImageRef, *, created: bool, platform: str | None, **_: object
    ) -> Sequence[policies.Candidate] | AutomatorError:
        assert image.name == "reg.test/app"
        return [policies.Candidate(tag) for tag in self.tags]

    def digest(self, image: ImageRef, tag: str) -> str:
        self.asked.append(tag)
        return self.now


def objects(reflect: str | None = None, repo_extra: str = "", policy_extra: str = "") -> bytes:
    line = f"  digestReflectionPolicy: {reflect}\n" if reflect else ""
    return f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: app, namespace: flux-system}}
spec:
  image: reg.test/app
{repo_extra}---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
  namespace: flux-system
{policy_extra}spec:
  imageRepositoryRef: {{name: app}}
{line}  policy: {{semver: {{range: 1.x}}}}
""".encode()


def plan_for(value: str, registry: Registry, **kwargs: str) -> Change | Skip | None:
    marked = f'image: {value} # {{"$imagepolicy": "flux-system:app"}}\n'.encode()
    scan = scan_files([("app.yaml", marked), ("flux.yaml", objects(**kwargs))])
    plan = build_plan(scan.sites, registry, skipped=scan.skipped)
    if plan.changes:
        return plan.changes[0]
    return plan.skipped[0] if plan.skipped else None


def new_value(outcome: Change | Skip | None) -> str | None:
    return outcome.new if isinstance(outcome, Change) else None


def test_never_writes_no_digest_and_drops_one_held() -> None:
    registry = Registry()
    assert new_value(plan_for("reg.test/app:1.0.0", registry)) == "reg.test/app:1.1.0"
    held = plan_for(f"reg.test/app:1.1.0@{OLD}", registry, reflect="Never")
    assert new_value(held) == "reg.test/app:1.1.0"
    assert registry.asked == []


def test_if_not_present_sets_the_digest_once_and_keeps_it_when_the_tag_is_repushed() -> None:
    registry = Registry()
    first = plan_for("reg.test/app:1.1.0", registry, reflect="IfNotPresent")
    assert new_value(first) == f"reg.test/app:1.1.0@{NEW}"
    repushed = plan_for(f"reg.test/app:1.1.0@{OLD}", registry, reflect="IfNotPresent")
    assert repushed is None
    assert registry.asked == ["1.1.0"]  # the held digest is not even looked up
    moved = plan_for(f"reg.test/app:1.0.0@{OLD}", registry, reflect="IfNotPresent")
    assert new_value(moved) == f"reg.test/app:1.1.0@{NEW}"


def test_always_resolves_the_digest_every_time() -> None:
    registry = Registry()
    repushed = plan_for(f"reg.test/app:1.1.0@{OLD}", registry, reflect="Always")
    assert new_value(repushed) == f"reg.test/app:1.1.0@{NEW}"
    assert plan_for(f"reg.test/app:1.1.0@{NEW}", registry, reflect="Always") is None
    assert registry.asked == ["1.1.0", "1.1.0"]


def test_an_unknown_reflection_policy_is_refused() -> None:
    outcome = plan_for("reg.test/app:1.0.0", Registry(), reflect="Sometimes")
    assert isinstance(outcome, Skip) and outcome.error
    assert "digestReflectionPolicy 'Sometimes' is not Never, IfNotPresent or Always" in (
        outcome.reason
    )


def test_exclusion_list_replaces_the_default_and_refuses_what_it_finds() -> None:
    registry = Registry(["1.0.0", "1.1.0", "1.2.0-rc.1", "1.1.1"])
    extra = "  exclusionList: ['^1\\.1\\.1$']\n"
    assert new_value(plan_for("reg.test/app:1.0.0", registry, repo_extra=extra)) == (
        "reg.test/app:1.1.0"
    )


@pytest.mark.parametrize("provider", ["generic", "aws", "gcp", "azure"])
def test_flux_providers_are_registry_providers(provider: str) -> None:
    registry = Registry(["1.0.0", "1.1.0"])
    extra = f"  provider: {provider}\n"
    outcome = plan_for("reg.test/app:1.0.0", registry, repo_extra=extra)
    assert new_value(outcome) == "reg.test/app:1.1.0"


def test_an_unknown_provider_is_refused() -> None:
    outcome = plan_for("reg.test/app:1.0.0", Registry(), repo_extra="  provider: oci\n")
    assert isinstance(outcome, Skip)
    assert outcome.reason.endswith(
        "ImageRepository flux-system/app: provider 'oci' is not one of generic, aws, gcp,"
        " azure; fix spec.provider"
    )


def test_a_policy_naming_a_missing_repository_is_an_error() -> None:
    marked = b'image: reg.test/app:1.0.0 # {"$imagepolicy": "flux-system:app"}\n'
    broken = objects().replace(b"imageRepositoryRef: {name: app}", b"imageRepositoryRef: {name: x}")
    (skip,) = scan_files([("app.yaml", marked), ("flux.yaml", broken)]).skipped
    assert skip.error
    assert skip.reason == (
        "$imagepolicy flux-system:app: ImagePolicy flux-system/app names ImageRepository"
        " flux-system/x, which is not in the repo; add it or fix spec.imageRepositoryRef"
    )


def automation(spec: str) -> bytes:
    return (
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\n"
        "metadata: {name: apps, namespace: flux-system}\nspec:\n" + spec
    ).encode()


GIT = "  git:\n    commit:\n      author: {email: bot@example.test}\n"
SOURCE = b"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {ref: {branch: production}}
"""


def test_automation_defaults_follow_the_git_repository_and_select_every_policy() -> None:
    spec = "  sourceRef: {kind: GitRepository, name: flux-system}\n" + GIT
    flux = find_flux_objects(
        [("a.yaml", automation(spec)), ("s.yaml", SOURCE), ("f.yaml", objects())]
    )
    (found,) = automations(flux, "main")
    assert (found.checkout_branch, found.push_branch, found.path) == ("production",) * 2 + (".",)
    assert found.author == "bot@example.test <bot@example.test>"
    assert found.policies == frozenset({("flux-system", "app")})


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        ("matchLabels: {env: prod}", True),
        ("matchLabels: {env: dev}", False),
        ("matchExpressions: [{key: env, operator: In, values: [prod, stage]}]", True),
        ("matchExpressions: [{key: env, operator: NotIn, values: [prod]}]", False),
        ("matchExpressions: [{key: team, operator: DoesNotExist}]", True),
        ("matchExpressions: [{key: team, operator: Exists}]", False),
    ],
)
def test_policy_selector(selector: str, selected: bool) -> None:
    spec = f"  policySelector: {{{selector}}}\n" + GIT
    labelled = objects(policy_extra="  labels: {env: prod}\n")
    flux = find_flux_objects([("a.yaml", automation(spec)), ("f.yaml", labelled)])
    (found,) = automations(flux, "main")
    assert bool(found.policies) is selected


def test_update_path_checkout_and_push_branches() -> None:
    spec = GIT + (
        "    checkout: {ref: {branch: dev}}\n"
        "    push: {branch: auto, refspec: 'HEAD:refs/heads/x'}\n"
        "  update: {path: ./apps/, strategy: Setters}\n"
    )
    (found,) = automations(find_flux_objects([("a.yaml", automation(spec))]), "main")
    assert (found.checkout_branch, found.push_branch, found.refspec, found.path) == (
        "dev", "auto", "HEAD:refs/heads/x", "apps",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("  interval: 5m\n", "spec.git is required"),
        ("  git: {commit: {author: {name: bot}}}\n", "git.commit.author.email is required"),
        (GIT + "  update: {strategy: Other}\n", "update.strategy 'Other' is not Setters"),
        (GIT + "  update: {path: ../x}\n", "update.path '../x' must stay inside the repo"),
        (GIT + "    checkout: {ref: {tag: v1}}\n", "git.checkout.ref needs a branch"),
        (GIT + "  policySelector: {matchExpressions: [{key: a, operator: Gt}]}\n", "operator"),
    ],
)
def test_invalid_automations_name_the_field(spec: str, message: str) -> None:
    with pytest.raises(ManifestError, match="ImageUpdateAutomation flux-system/apps") as caught:
        automations(find_flux_objects([("a.yaml", automation(spec))]), "main")
    assert message in str(caught.value)


def test_suspended_automations_are_not_followed() -> None:
    flux = find_flux_objects([("a.yaml", automation(GIT + "  suspend: true\n"))])
    assert automations(flux, "main") == []


def test_follow_units_refuse_a_signing_key_without_a_signer() -> None:
    spec = GIT.replace("author:", "signingKey: {secretRef: {name: gpg}}\n      author:")
    flux = find_flux_objects([("a.yaml", automation(spec))])
    with pytest.raises(ConfigError, match=r"configure write\.commit\.sign in automator\.yaml"):
        follow_units("fleet", "main", flux, None)


def test_follow_units_need_an_automation() -> None:
    with pytest.raises(ManifestError, match="holds none; add one or remove sources"):
        follow_units("fleet", "main", find_flux_objects([]), None)


def test_tag_and_name_setters_never_look_up_a_digest() -> None:
    registry = Registry()
    marked = (
        b'newName: reg.test/app # {"$imagepolicy": "flux-system:app:name"}\n'
        b'newTag: 1.0.0 # {"$imagepolicy": "flux-system:app:tag"}\n'
    )
    scan = scan_files([("k.yaml", marked), ("flux.yaml", objects(reflect="Always"))])
    plan = build_plan(scan.sites, registry)
    assert [c.new for c in plan.changes] == ["1.1.0"]
    assert registry.asked == []


def test_config_follow_accepts_only_image_update_automation() -> None:
    base: dict[str, Any] = {"sources": [{"name": "fleet", "url": "https://git.test/fleet.git"}]}
    base["sources"][0]["follow"] = "ImageUpdateAutomation"
    assert parse_config(base).sources[0].follow == "ImageUpdateAutomation"
    base["sources"][0]["follow"] = "Kustomization"
    with pytest.raises(ConfigError, match=r"sources\[0\]\.follow"):
        parse_config(base)


@pytest.mark.parametrize("refspec", ["+HEAD:refs/heads/x", "HEAD", "HEAD:refs/for/main", ":x"])
def test_unsupported_refspecs_are_refused_before_any_network(refspec: str, tmp_path: Path) -> None:
    repo = GitRepo("https://git.test/fleet.git", "main", tmp_path)
    with pytest.raises(GitError, match="only <src>:refs/heads/<branch> is supported"):
        repo.push_refspec("0" * 40, refspec)
    assert not any(tmp_path.iterdir())
