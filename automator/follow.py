"""Sources that follow the repo's Flux ImageUpdateAutomation objects.

A source with ``follow: ImageUpdateAutomation`` names no paths, policies or commit
settings: each automation found on its branch says them (``update.path``, the
ImagePolicies its ``policySelector`` picks, ``git.checkout.ref.branch``,
``git.push.branch`` and ``refspec``, ``git.commit.author``, ``signingKey`` and
``messageTemplate``). ``follow_units`` checks every automation before anything is
written: one bad automation (an unrenderable template, an ImagePolicy whose
ImageRepository is missing) refuses the source with one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from automator.errors import ConfigError, ManifestError
from automator.git import Identity, Signer
from automator.manifests import FluxObjects
from automator.manifests.automation import Automation, automations
from automator.manifests.fluxv2 import lookup
from automator.model import Plan
from automator.write import CommitSettings
from automator.write.fluxmessage import check_message_template, flux_message
from automator.write.gotemplate import TemplateError

FOLLOW_AUTOMATIONS = "ImageUpdateAutomation"


@dataclass(frozen=True, slots=True)
class FollowUnit:
    """One automation's update: where to read, what to select, how to commit and push."""

    automation: Automation
    commit: CommitSettings
    signer: Signer | None
    push_branch: str | None  # None: push back to the checkout branch

    def flux(self) -> FluxObjects:
        """An empty object table that admits only this automation's ImagePolicies."""
        return FluxObjects(selected=self.automation.policies)


def follow_units(
    name: str, branch: str, flux: FluxObjects, signer: Signer | None, writing: bool = True
) -> list[FollowUnit]:
    """One FollowUnit per automation in ``flux`` (read from source ``name``'s ``branch``);
    raise on the first invalid one, before anything is written. Without ``writing``
    (``automator check``) a missing signer is not an error."""
    units = []
    found = automations(flux, branch)
    if not found:
        raise ManifestError(
            f"{name}: follows ImageUpdateAutomation, but branch {branch!r} holds"
            " none; add one or remove sources[].follow"
        )
    for automation in found:
        _check_policies(automation, flux)
        if automation.template is not None:
            try:
                check_message_template(automation.template)
            except TemplateError as exc:
                raise ConfigError(f"{automation.where}: messageTemplate: {exc}") from exc
        if writing and automation.signing_secret and signer is None:
            raise ConfigError(
                f"{automation.where} signs commits (signingKey secret"
                f" {automation.signing_secret!r}); configure write.commit.sign in automator.yaml"
            )
        units.append(_unit(automation, signer))
    return units


def _unit(automation: Automation, signer: Signer | None) -> FollowUnit:
    key = (automation.namespace, automation.name)
    values = dict(automation.values)

    def render(plan: Plan) -> str:
        try:
            return flux_message(plan, automation.template, key, values, automation.path)
        except TemplateError as exc:
            raise ConfigError(f"{automation.where}: messageTemplate: {exc}") from exc

    commit = CommitSettings(Identity.parse(automation.author), render=render)
    push = automation.push_branch
    return FollowUnit(
        automation,
        commit,
        signer if automation.signing_secret else None,
        push if push != automation.checkout_branch else None,
    )


def _check_policies(automation: Automation, flux: FluxObjects) -> None:
    """Every selected ImagePolicy must name an ImageRepository that is in the repo."""
    for namespace, name in sorted(automation.policies):
        policy = lookup(flux.policies, namespace, name)
        if policy is None:
            continue
        try:
            flux.repository_of(policy, namespace)
        except ManifestError as exc:
            raise ManifestError(f"{automation.where}: {exc}") from exc


@runtime_checkable
class RefspecPusher(Protocol):
    """A repository that can push a commit to a further branch (``GitRepo``)."""

    def push_refspec(self, commit: str, refspec: str) -> None: ...


def push_refspec(repo: object, commit: str, refspec: str) -> None:
    """Push ``commit`` along the automation's ``git.push.refspec`` too."""
    if not isinstance(repo, RefspecPusher):
        raise ConfigError(f"git.push.refspec {refspec!r}: this repository cannot push refspecs")
    repo.push_refspec(commit, refspec)
