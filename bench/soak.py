"""Soak: the daemon against a faulty registry and a Git remote that races and goes away.

    PYTHONPATH=. python -m bench.soak --seconds 600

``automator run`` (a subprocess, interval 1s) watches one image behind
``testing/proxy.py``, which injects resets, 429s and 5xx at random, while a
new tag arrives every ``--tag-every`` seconds, a person pushes to the same branch,
and the ``git daemon`` is stopped and started again on the same port. At the end
the remote must hold the last tag, every update must be committed at most once, and
the daemon's RSS must stay flat. Prints duration, updates, faults, commits and RSS.
The scenario is ``testing/soak.py``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testing.soak import run_soak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--tag-every", type=float, default=1.5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        report = run_soak(args.seconds, Path(tmp), args.tag_every)
    print(report)
    ok = report.landed == report.last_tag and max(report.commits.values(), default=0) <= 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
