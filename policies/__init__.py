"""policies: which tag should a workload run, and why were the others refused?

A pure library (no I/O, nothing from ``automator``): Masterminds/semver v3 versions
and ranges (``policies.semver``, ``policies.constraints``), the policy-string grammar
(``policies.grammar``, ``policies.policy``), tag filters (``policies.filters``) and
the selection itself (``policies.select``), which explains every refusal.

    >>> from policies import parse_policy, select_tag
    >>> select_tag(parse_policy("semver:~1.4"), ["1.4.2", "1.4.3", "1.5.0"], "1.4.2").tag
    '1.4.3'
"""

from policies.age import Seen
from policies.argo import ARGO_STRATEGIES, from_argo
from policies.constraints import Constraints, parse_constraint
from policies.decision import Candidate, Decision, Refusal, Verify, decision_table
from policies.errors import ConstraintError, PolicyError, VersionError
from policies.policy import Policy, parse_policy
from policies.select import admitter, awaiting_age, select_tag
from policies.semver import Version, parse_flux, parse_strict, parse_version

__all__ = [
    "ARGO_STRATEGIES",
    "Candidate",
    "ConstraintError",
    "Constraints",
    "Decision",
    "Policy",
    "PolicyError",
    "Refusal",
    "Seen",
    "Verify",
    "Version",
    "VersionError",
    "admitter",
    "awaiting_age",
    "decision_table",
    "from_argo",
    "parse_constraint",
    "parse_flux",
    "parse_policy",
    "parse_strict",
    "parse_version",
    "select_tag",
]
