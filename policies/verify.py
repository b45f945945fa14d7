"""The ``verify=`` gate: the best candidate a caller's verifier accepts.

``select_tag`` ranks the candidates; ``gate`` asks the verifier about the best one;
when it is refused (``unsigned``), the next best candidate that passed every other
step, and so on, never below the current tag, at most ``MAX_VERIFIED`` a decision
(the rest are ``unverified``), so a repository of unsigned tags costs a bounded
number of checks. The current tag, when it is the best left, is checked too: an
unsigned running tag is reported, not kept as "already newest". A verify= policy
without a verifier fails.
"""

from __future__ import annotations

from typing import Final

from policies.decision import Refusal, Verify, refusal
from policies.keys import Key
from policies.policy import Policy

MAX_VERIFIED: Final = 10  # candidates a verify= policy checks per decision, best first
Ranked = tuple[Key, str, bool, int]  # key, tag, has build metadata, place in the refusals


def best(policy: Policy, ranked: list[Ranked], current: str | None) -> Ranked:
    best = (min if policy.descending else max)(item[0] for item in ranked)  # type: ignore[type-var]
    ties = [item for item in ranked if item[0] == best]
    return min(ties, key=lambda item: (item[1] != current, item[2], item[1]))


def gate(
    policy: Policy,
    ranked: list[Ranked],
    places: list[Refusal | None],
    current: str | None,
    verify: Verify | None,
) -> tuple[Ranked | None, str | None, list[Refusal]]:
    """The best candidate ``verify`` accepts, its digest, and the better ones it refused,
    best first. Each refusal also goes into ``places``; without ``verify``, the best."""
    if verify is None:
        return best(policy, ranked, current), None, []
    left = list(ranked)
    gated: list[Refusal] = []
    for _ in range(MAX_VERIFIED):
        if not left:
            return None, None, gated
        win = best(policy, left, current)
        verdict = verify(win[1])
        if isinstance(verdict, str):
            return win, verdict, gated
        places[win[3]] = verdict
        gated.append(verdict)
        left.remove(win)
    why = f"not checked: verify= checks at most {MAX_VERIFIED} candidates a decision"
    for item in left:
        places[item[3]] = refusal(item[1], "unverified", why)
    return None, None, gated
