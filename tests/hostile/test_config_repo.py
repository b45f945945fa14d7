"""A hostile config repo: symlinks out, binary and bomb YAML; the good file still updates.

Written against the public API and the CLI end to end, so it holds for the skeleton
scanner and for the real one in ``automator/manifests/``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.hostile_registry import HostileRegistry
from tests.e2e.test_skeleton import write_config
from tests.hostile.conftest import run_cli
from tests.hostile.test_registry import DEPLOYMENT

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
DEEP = "[" * 50_000 + "]" * 50_000 + "\n"


def test_hostile_files_are_skipped_and_the_good_one_still_updates(
    tmp_path: Path, hostile: HostileRegistry, git_daemon: GitDaemon
) -> None:
    image = f"{hostile.host}/evil/app"
    good = DEPLOYMENT.format(name="good", image=image)
    remote = make_bare_repo(
        git_daemon.base / "fleet.git",
        {
            "apps/good.yaml": good,
            "apps/laughs.yaml": LAUGHS,
            "apps/deep.yaml": DEEP,
            "apps/binary.yaml": bytes(range(256)) * 64,
            "apps/template.yaml": "image: {{ .Values.image }}\n" + good,
            "outside/secret.yaml": DEPLOYMENT.format(name="outside", image=image),
        },
    )
    # symlinks to /etc/passwd and to a file outside the source paths, as blobs of mode 120000
    work = tmp_path / "work"
    git("clone", "-q", str(remote), str(work))
    (work / "apps" / "passwd.yaml").symlink_to("/etc/passwd")
    (work / "apps" / "escape.yaml").symlink_to("../outside/secret.yaml")
    (work / "apps" / "up").symlink_to("..")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "hostile links", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    config = write_config(tmp_path / "automator.yaml", git_daemon.url("fleet.git"), hostile.host)
    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path, timeout=60)
    assert result.returncode in (0, 1), (result.returncode, result.stderr[-2000:])  # no crash
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.peak_rss_mb < 300, result.peak_rss_mb
    assert "root:" not in result.stderr + result.stdout  # /etc/passwd was never read
    changed = git("diff", "--name-only", "HEAD~1", "main", cwd=remote).split()
    assert changed == ["apps/good.yaml"]
    assert git("show", "main:apps/good.yaml", cwd=remote) == good.replace(":1.4.2", ":1.4.3")
    assert git("show", "main:outside/secret.yaml", cwd=remote).count(":1.4.2") == 1


def test_a_200_mb_yaml_file_is_reported_and_never_read(
    tmp_path: Path, hostile: HostileRegistry, git_daemon: GitDaemon
) -> None:
    image = f"{hostile.host}/evil/app"
    good = DEPLOYMENT.format(name="good", image=image)
    remote = make_bare_repo(git_daemon.base / "fleet.git", {"apps/good.yaml": good})
    work = tmp_path / "work"
    git("clone", "-q", str(remote), str(work))
    # stream 200 MB of valid YAML straight into the object database: no 200 MB file on disk
    writer = subprocess.Popen(
        ["git", "-c", "safe.directory=*", "hash-object", "-w", "--stdin"],
        cwd=work, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert writer.stdin is not None and writer.stdout is not None
    line = b"- image: " + image.encode() + b":1.4.2  # automator: semver:~1.4\n"
    chunk = line * ((1 << 20) // len(line) + 1)
    for _ in range(200):
        writer.stdin.write(chunk[: 1 << 20])
    writer.stdin.close()
    oid = writer.stdout.read().decode().strip()
    assert writer.wait() == 0
    git("update-index", "--add", "--cacheinfo", f"100644,{oid},apps/huge.yaml", cwd=work)
    git("commit", "-qm", "a 200 MB values file", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    config = write_config(tmp_path / "automator.yaml", git_daemon.url("fleet.git"), hostile.host)
    result = run_cli("check", "--config", str(config), cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "apps/huge.yaml  SKIPPED  209715200 bytes, over the 5242880-byte limit" in result.stdout
    assert "apps/good.yaml:" in result.stdout
    assert result.peak_rss_mb < 150, result.peak_rss_mb
    run = run_cli("run", "--once", "--config", str(config), cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.peak_rss_mb < 150, run.peak_rss_mb
    assert git("show", "main:apps/good.yaml", cwd=remote) == good.replace(":1.4.2", ":1.4.3")
    assert git("diff", "--name-only", "HEAD~1", "main", cwd=remote).split() == ["apps/good.yaml"]
