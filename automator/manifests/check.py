"""What ``automator check`` prints: every Site and Skip, and the mistakes it refuses.

A mistake is something in the config repo a person meant to work and that does
nothing, or cannot: a policy that does not parse, an annotation on the pod
template, an annotation naming no container, a marker that governs no image.
Each is one line, ``file:line: what is wrong; what to do``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import policies
from automator.manifests.scan import ScanResult


def check_report(result: ScanResult, notes: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """``automator check``: one line per Site and per Skip, in file order; a Site's
    ``notes`` (by ``where``) follow its line, each as ``<where>  <note>``."""
    rows: list[tuple[str, int, str]] = []
    for site in result.sites:
        origin = site.governed_by if site.origin == "rule" else site.origin
        line = f"{site.where}  {site.image}  {site.policy}  ({origin})"
        if site.hold is not None:
            line += f"  HELD by {site.hold.by}: {site.hold.reason}"
        if site.promotion is not None:
            promo = site.promotion
            line += f"  PROMOTION {promo.problem or promo.chain()}"
        rows.append((site.file, site.line, line))
        rows.extend(
            (site.file, site.line, f"{site.where}  {n}") for n in (notes or {}).get(site.where, ())
        )
    for skip in result.skipped:
        rows.append((*_file_line(skip.where), f"{skip.where}  SKIPPED  {skip.reason}"))
    rows.sort(key=lambda row: (row[0], row[1]))  # stable: notes stay after their Site
    return [row[2] for row in rows]


def check_errors(result: ScanResult) -> list[str]:
    """Every mistake in ``result``, one line each, in file order."""
    rows: list[tuple[str, int, str]] = []
    for site in result.sites:
        try:
            policies.parse_policy(site.policy, flux_v1=site.origin == "flux-v1")
        except policies.PolicyError as exc:
            fix = "write a policy such as semver:~1.4 (docs/manifests.md lists them)"
            problem = policy_problem(site.policy, exc)
            rows.append((site.file, site.line, f"{site.where}: {problem}; {fix}"))
    for skip in result.skipped:
        if skip.fix:
            rows.append((*_file_line(skip.where), f"{skip.where}: {skip.reason}; {skip.fix}"))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [row[2] for row in rows]


def policy_problem(policy: str, exc: policies.PolicyError) -> str:
    """``policy 'x': <what is wrong>``, naming the policy once however the error was worded."""
    message = str(exc)
    prefix = f"policy {policy!r}: "
    return message if message.startswith(prefix) else prefix + message


def _file_line(where: str) -> tuple[str, int]:
    file, _, line = where.rpartition(":")
    return (file, int(line)) if line.isdigit() else (where, 0)
