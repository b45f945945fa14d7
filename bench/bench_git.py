"""Incremental cost of one update on a 50,000-file repo: automator vs the git CLI.

    python bench/bench_git.py [--files 50000] [--runs 7]

Both paths push to the same ``git daemon`` remote. automator: fetch, build the
commit of one changed file from the object database, push (persistent bare clone,
warmed once). CLI: clone, checkout, edit, commit, push, as a fresh-clone updater
(Flux, Argo CD Image Updater) does. Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from automator.git import GitRepo, Identity, NewCommit, Snapshot
from testing.gitserver import GitDaemon, git

BOT = Identity.parse("automator <bot@example.test>")
TARGET = "apps/app-00042/deployment.yaml"


def seed(bare: Path, files: int) -> None:
    """A bare repo whose main holds ``files`` small YAML files, made with fast-import."""
    git("init", "-q", "--bare", str(bare))
    lines = ["commit refs/heads/main", "committer Seed <seed@example.test> 1700000000 +0000"]
    lines += ["data 5", "seed", ""]
    stream = "\n".join(lines).encode()
    chunks = [stream]
    for i in range(files):
        body = f"image: ghcr.io/acme/app-{i % 500}:1.0.{i}\n".encode()
        path = f"apps/app-{i // 100:05d}/file-{i % 100:03d}.yaml"
        if i == 42 * 100:
            path = TARGET
        chunks.append(f"M 100644 inline {path}\ndata {len(body)}\n".encode() + body + b"\n")
    git("fast-import", "--quiet", cwd=bare, input=b"".join(chunks))
    git("gc", "-q", cwd=bare)


def automator_update(repo: GitRepo, n: int) -> float:
    def render(snapshot: Snapshot) -> NewCommit:
        text = snapshot.read(TARGET)
        return NewCommit({TARGET: text + f"# run {n}\n".encode()}, f"Update app to run {n}\n")

    started = time.perf_counter()
    result = repo.write(render, author=BOT)
    elapsed = time.perf_counter() - started
    assert result.pushed and result.attempts == 1
    return elapsed


def cli_update(url: str, work: Path, n: int) -> float:
    started = time.perf_counter()
    git("clone", "-q", "--branch", "main", url, str(work))
    target = work / TARGET
    target.write_text(target.read_text() + f"# cli run {n}\n")
    git("commit", "-qam", f"Update app, cli run {n}", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-git-") as tmp:
        base = Path(tmp)
        (base / "remotes").mkdir()
        started = time.perf_counter()
        seed(base / "remotes" / "fleet.git", args.files)
        print(f"seeded {args.files} files in {time.perf_counter() - started:.1f} s")
        with GitDaemon(base / "remotes") as daemon:
            url = daemon.url("fleet.git")
            repo = GitRepo(url, "main", base / "cache")
            started = time.perf_counter()
            repo.fetch()
            print(f"automator first clone (once per source): {time.perf_counter() - started:.2f} s")
            ours, theirs = [], []
            for n in range(args.runs):
                ours.append(automator_update(repo, n))
                theirs.append(cli_update(url, base / f"cli-{n}", n))
                subprocess.run(["rm", "-rf", str(base / f"cli-{n}")], check=True)
        fast, slow = statistics.median(ours), statistics.median(theirs)
        print(f"runs: {args.runs}, files: {args.files}")
        print(f"automator update (fetch, commit 1 file, push): median {fast:.3f} s"
              f"  [{min(ours):.3f} .. {max(ours):.3f}]")  # fmt: skip
        print(f"git CLI (clone, checkout, edit, commit, push):  median {slow:.3f} s"
              f"  [{min(theirs):.3f} .. {max(theirs):.3f}]")  # fmt: skip
        print(f"ratio: {slow / fast:.1f}x faster (targets: < 0.5 s, >= 5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
