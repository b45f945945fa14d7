"""Flux ImageUpdateAutomation objects, read into what one automated update needs.

Fields read (image-automation-controller ``api/v1``): ``sourceRef`` (a GitRepository
in the repo gives the default branch through its ``spec.ref.branch``),
``git.checkout.ref.branch``, ``git.push.branch`` and ``refspec``,
``git.commit.author`` (``email`` required), ``signingKey``, ``messageTemplate``
and ``messageTemplateValues``, ``update.path`` and ``strategy`` (only ``Setters``),
``policySelector`` (``matchLabels`` and ``matchExpressions``; ImagePolicies in the
automation's namespace, as the controller lists them) and ``suspend``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from automator.errors import ManifestError
from automator.manifests.fluxv2 import FluxObject, FluxObjects, Key, lookup

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True, slots=True)
class Automation:
    """One ImageUpdateAutomation, as automator follows it."""

    namespace: str
    name: str
    checkout_branch: str
    push_branch: str
    refspec: str | None
    path: str  # repo-relative directory, "." for the root
    author: str  # "Name <email>"
    signing_secret: str | None  # spec.git.commit.signingKey.secretRef.name
    template: str | None
    values: tuple[tuple[str, str], ...]
    policies: frozenset[Key]  # the ImagePolicies its policySelector selects
    file: str = ""

    @property
    def where(self) -> str:
        return f"ImageUpdateAutomation {self.namespace}/{self.name}"


def automations(flux: FluxObjects, default_branch: str) -> list[Automation]:
    """Every non-suspended automation in ``flux``, in (namespace, name) order.

    Raises ManifestError naming the automation and the field on any invalid one.
    """
    found = []
    for key in sorted(flux.automations):
        obj = flux.automations[key]
        if str(obj.spec.get("suspend")).lower() == "true":  # scalars are read as strings
            continue
        found.append(read_automation(obj, flux, default_branch))
    return found


def read_automation(obj: FluxObject, flux: FluxObjects, default_branch: str) -> Automation:
    """``obj`` as an Automation; ManifestError names what is wrong and where."""
    where = f"ImageUpdateAutomation {obj.where} ({obj.file})"
    spec = obj.spec
    git = _mapping(spec.get("git"), f"{where}: spec.git")
    if not git:
        raise ManifestError(f"{where}: spec.git is required; add git.commit.author")
    update = _mapping(spec.get("update"), f"{where}: spec.update")
    strategy = update.get("strategy") or "Setters"
    if strategy != "Setters":
        raise ManifestError(f"{where}: update.strategy {strategy!r} is not Setters")
    path = str(update.get("path") or ".")
    clean = PurePosixPath(path.removeprefix("./") or ".")
    if clean.is_absolute() or ".." in clean.parts:
        raise ManifestError(f"{where}: update.path {path!r} must stay inside the repo")
    commit = _mapping(git.get("commit"), f"{where}: spec.git.commit")
    author = _mapping(commit.get("author"), f"{where}: spec.git.commit.author")
    if not author.get("email"):
        raise ManifestError(f"{where}: git.commit.author.email is required; add it")
    name = str(author.get("name") or "")
    signing = _mapping(commit.get("signingKey"), f"{where}: git.commit.signingKey")
    secret = _mapping(signing.get("secretRef"), f"{where}: signingKey.secretRef").get("name")
    checkout = _mapping(git.get("checkout"), f"{where}: git.checkout")
    ref = _mapping(checkout.get("ref"), f"{where}: git.checkout.ref")
    if ref and not ref.get("branch"):
        raise ManifestError(
            f"{where}: git.checkout.ref needs a branch (tags and commits cannot be pushed on)"
        )
    branch = str(ref.get("branch") or _source_branch(obj, flux) or default_branch)
    push = _mapping(git.get("push"), f"{where}: git.push")
    values = _mapping(commit.get("messageTemplateValues"), f"{where}: messageTemplateValues")
    return Automation(
        obj.namespace,
        obj.name,
        branch,
        str(push.get("branch") or branch),
        str(push["refspec"]) if push.get("refspec") else None,
        str(clean),
        f"{name or author['email']} <{author['email']}>",
        str(secret) if secret else None,
        str(commit["messageTemplate"]) if commit.get("messageTemplate") else None,
        tuple((str(k), str(v)) for k, v in values.items()),
        selected_policies(obj, flux, where),
        obj.file,
    )


def _source_branch(obj: FluxObject, flux: FluxObjects) -> str | None:
    """The branch of the GitRepository ``sourceRef`` names, when it is in the repo."""
    source = obj.spec.get("sourceRef")
    if not isinstance(source, dict) or not source.get("name"):
        return None
    repo = lookup(flux.sources, str(source.get("namespace") or obj.namespace), str(source["name"]))
    ref = repo.spec.get("ref") if repo is not None else None
    return str(ref["branch"]) if isinstance(ref, dict) and ref.get("branch") else None


def selected_policies(obj: FluxObject, flux: FluxObjects, where: str) -> frozenset[Key]:
    """The ImagePolicies in ``obj``'s namespace that its ``policySelector`` matches."""
    selector = _mapping(obj.spec.get("policySelector"), f"{where}: policySelector")
    labels = _mapping(selector.get("matchLabels"), f"{where}: policySelector.matchLabels")
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise ManifestError(f"{where}: policySelector.matchExpressions must be a list")
    for expression in expressions:
        if not isinstance(expression, dict) or expression.get("operator") not in _OPERATORS:
            raise ManifestError(
                f"{where}: policySelector.matchExpressions operator must be one of"
                f" {', '.join(_OPERATORS)}"
            )
    chosen = set()
    for key, policy in flux.policies.items():
        if policy.namespace not in ("", obj.namespace):
            continue
        if all(policy.labels.get(str(k)) == str(v) for k, v in labels.items()) and all(
            _matches(policy.labels, e) for e in expressions
        ):
            chosen.add((obj.namespace, policy.name) if not policy.namespace else key)
    return frozenset(chosen)


def _matches(labels: dict[str, str], expression: dict[str, Any]) -> bool:
    key, operator = str(expression.get("key")), expression["operator"]
    values = [str(v) for v in expression.get("values") or []]
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    if operator == "In":
        return labels.get(key) in values
    return labels.get(key) not in values


def _mapping(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ManifestError(f"{where} must be a mapping")
    return value
