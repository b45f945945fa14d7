"""Regular expressions and tags that try to make a tag filter slow.

``tests/hostile/test_fuzz.py`` proves what policies do with them (refuse them, or finish
every match within ``policies.filters``' own per-match timeout);
``bench/bench_policies.py`` prints how long they take.
"""

from __future__ import annotations

from policies.filters import MAX_TAG_CHARS

# shapes policies accept, and tags (up to the OCI length limit) that are worst for them
ACCEPTED = [r"^v(\d+)\.(\d+)\.(\d+)$", r"^main-[a-f0-9]+-(?P<ts>[0-9]+)$", r"(a++)+$",
            r"^(foo|bar)+$", r"(\d{1,3}\.){3}\d{1,3}", r"a*a*b"]  # fmt: skip
WORST_TAGS = ["a" * (MAX_TAG_CHARS - 1) + "!", "1." * 63 + "!", "foo" * 42 + "!",
              "main-" + "a" * 120]  # fmt: skip

# shapes ``re`` needs seconds or minutes for (40 s for the first); valid tags for them
POLYNOMIAL = [r"\d*\d*\d*\d*\d*y", r".*.*.*.*.*x", r"(.*a){5}b"]
POLYNOMIAL_TAGS = ["1" * (MAX_TAG_CHARS - 1) + "z", "a" * MAX_TAG_CHARS, "1.0.0"]

# backreferences: slow in any backtracking engine, so only the timeout stops it
SLOW = r"^(.*)(.*)(.*)(.*)(.*)\5\4\3\2\1$"
SLOW_TAG = "a" * (MAX_TAG_CHARS - 1) + "b"
