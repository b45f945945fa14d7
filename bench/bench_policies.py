"""Benchmark select_tag on 100,000 generated tags; prints figures (not a test).

Run from the repository root: ``python bench/bench_policies.py``. Each figure is the
median of 5 runs. The baselines do less work than select_tag (no refusal reasons, no
Masterminds range semantics), so the ratio is the price of explaining every decision.
Then the adversarial patterns of ``testing/patterns.py`` on their worst tags, next to
the per-match timeout (``MATCH_SECONDS``) that ``tests/hostile/test_fuzz.py`` proves
they stay under.
"""

from __future__ import annotations

import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import semver

from policies import parse_policy, select_tag
from policies.filters import MATCH_SECONDS
from testing.patterns import ACCEPTED, POLYNOMIAL, POLYNOMIAL_TAGS, SLOW, SLOW_TAG, WORST_TAGS

N = 100_000
RUNS = 5


def generate_tags(n: int, seed: int = 7) -> list[str]:
    """Registry-like tags: versions (some prerelease, some v-prefixed), CI builds, junk."""
    rnd = random.Random(seed)
    tags: set[str] = set()
    while len(tags) < n:
        roll = rnd.random()
        major, minor, patch = rnd.randrange(4), rnd.randrange(60), rnd.randrange(60)
        if roll < 0.55:
            tags.add(f"{major}.{minor}.{patch}")
        elif roll < 0.65:
            tags.add(f"v{major}.{minor}.{patch}")
        elif roll < 0.75:
            tags.add(f"{major}.{minor}.{patch}-rc.{rnd.randrange(20)}")
        elif roll < 0.95:
            tags.add(f"main-{rnd.getrandbits(28):07x}-{1_700_000_000 + rnd.randrange(10**7)}")
        else:
            tags.add(f"sha256-{rnd.getrandbits(64):016x}.sig")
    return sorted(tags, key=lambda _: rnd.random())


def median_seconds(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def baseline_semver_sort(tags: list[str]) -> str:
    """sorted() with python-semver's Version.parse as the key, keeping major 1."""
    parsed = []
    for tag in tags:
        try:
            v = semver.Version.parse(tag)
        except ValueError:
            continue
        if v.major == 1 and not v.prerelease:
            parsed.append((v, tag))
    return sorted(parsed)[-1][1]


def baseline_regex_loop(tags: list[str]) -> str:
    """A plain regex filter loop with int() as the key."""
    pattern = re.compile(r"^main-[a-f0-9]+-(?P<ts>[0-9]+)$")
    best, best_tag = -1, ""
    for tag in tags:
        m = pattern.search(tag)
        if m and int(m.group("ts")) > best:
            best, best_tag = int(m.group("ts")), tag
    return best_tag


def main() -> int:
    tags = generate_tags(N)
    cases = [
        ("semver:^1", baseline_semver_sort, "sorted() with semver.Version.parse key"),
        (
            "numerical;filter=^main-[a-f0-9]+-(?P<ts>[0-9]+)$;extract=$ts",
            baseline_regex_loop,
            "plain regex filter loop",
        ),
    ]
    print(f"{N:,} tags, median of {RUNS} runs, Python {sys.version.split()[0]}")
    for text, baseline, label in cases:
        policy = parse_policy(text)
        decision = select_tag(policy, tags, None)
        assert decision.tag == baseline(tags), (decision.tag, baseline(tags))
        ours = median_seconds(lambda p=policy: select_tag(p, tags, "1.0.0"))
        base = median_seconds(lambda b=baseline: b(tags))
        print(f"  select_tag {text!r}: {ours:.3f} s (winner {decision.tag})")
        print(f"    baseline {label}: {base:.3f} s; ratio {ours / base:.1f}x")
    adversarial()
    return 0


def adversarial() -> None:
    """Slowest single match of each pattern on its worst tags, against the timeout."""
    print(f"adversarial patterns, slowest match (median of {RUNS}); timeout {MATCH_SECONDS} s")
    for pattern in ACCEPTED:
        compiled = parse_policy(f"regex:{pattern}").match
        assert compiled is not None, pattern
        worst = max(median_seconds(lambda t=t, c=compiled: c.search(t)) for t in WORST_TAGS)
        print(f"  accepted   {pattern!r}: {worst * 1e6:,.0f} us")
    for pattern in POLYNOMIAL:
        policy = parse_policy(f"regex:{pattern}")
        took = median_seconds(lambda p=policy: select_tag(p, POLYNOMIAL_TAGS, None))
        print(f"  polynomial {pattern!r}: {took * 1e6:,.0f} us for {len(POLYNOMIAL_TAGS)} tags")
    started = time.perf_counter()
    decision = select_tag(parse_policy(f"regex:{SLOW}"), ["1.0", SLOW_TAG, "2.0"], None)
    took = time.perf_counter() - started
    print(f"  too slow   {SLOW!r}: decision failed={decision.failed} after {took:.3f} s")


if __name__ == "__main__":
    raise SystemExit(main())
