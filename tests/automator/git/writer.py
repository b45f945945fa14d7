"""One automator process for the race and crash tests: bump api to 1.4.3, print the result.

Usage: writer.py URL CACHE_DIR [BARRIER_FD]

With BARRIER_FD (the read end of a pipe it inherits), it prints ``ready`` once it can
write and waits until the pipe's write end is closed, so that several writers start
together.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from automator.git import GitRepo, Identity, NewCommit, Snapshot

PATH = "clusters/prod/api.yaml"


def render(snapshot: Snapshot) -> NewCommit | None:
    text = snapshot.read(PATH)
    if b"api:1.4.3" in text:
        return None
    return NewCommit(
        {PATH: text.replace(b"api:1.4.2", b"api:1.4.3")}, "Update ghcr.io/acme/api to 1.4.3\n"
    )


def main(argv: list[str]) -> int:
    url, cache = argv[0], Path(argv[1])
    repo = GitRepo(url, "main", cache, backoff_s=0.2, max_attempts=8)
    if len(argv) > 2:
        print("ready", flush=True)
        os.read(int(argv[2]), 1)  # b"" once every write end is closed
    result = repo.write(render, author=Identity.parse("automator <bot@example.test>"))
    print(json.dumps({"commit": result.commit, "attempts": result.attempts}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
