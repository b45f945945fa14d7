"""HTTP basic auth, HTTPS with a private CA, SSH keys and known_hosts, timeouts, no leaks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

from automator.errors import GitError
from automator.git import GitAuth, GitRepo
from automator.secrets import Secret
from testing import githttp
from testing.drip import DripProxy
from testing.githttp import GitHttp
from testing.gitserver import GitDaemon, make_bare_repo
from testing.sshd import Sshd, keygen
from tests.automator.git.conftest import ROOT, SEED
from tests.automator.git.test_write import BOT, bump

TOKEN = Secret(githttp.PASSWORD)


def assert_no_secret(repo: GitRepo, *texts: str) -> None:
    config = (repo.path / "config").read_text()
    for text in (config, *texts):
        assert githttp.PASSWORD not in text


def test_http_basic_auth_fetch_and_push(git_http: GitHttp, tmp_path: Path) -> None:
    auth = GitAuth.token(TOKEN, username=githttp.USER)
    repo = GitRepo(git_http.url("fleet.git"), "main", tmp_path / "cache", auth=auth)
    assert repo.write(bump, author=BOT).commit is not None
    assert_no_secret(repo, repr(repo), repr(auth))


def test_password_in_url_is_used_but_never_stored_or_shown(
    git_http: GitHttp, tmp_path: Path
) -> None:
    url = git_http.url("fleet.git").replace("://", f"://{githttp.USER}:{githttp.PASSWORD}@")
    repo = GitRepo(url, "main", tmp_path / "cache")
    assert repo.write(bump, author=BOT).commit is not None
    assert_no_secret(repo, repo.url, repo.display_url, repr(repo))
    assert githttp.USER not in repo.display_url


def test_wrong_password_is_permanent_and_not_echoed(git_http: GitHttp, tmp_path: Path) -> None:
    wrong = "wrong-" + githttp.PASSWORD
    url = git_http.url("fleet.git").replace("://", f"://{githttp.USER}:{wrong}@")
    repo = GitRepo(url, "main", tmp_path / "cache")
    with pytest.raises(GitError, match="authentication failed") as caught:
        repo.fetch()
    assert caught.value.transient is False
    assert wrong not in str(caught.value) and wrong not in (repo.path / "config").read_text()


def test_https_trusts_the_configured_ca_only(git_http: GitHttp, tmp_path: Path) -> None:
    untrusted = GitRepo(
        git_http.tls_url("fleet.git"), "main", tmp_path / "c1", auth=GitAuth.token(TOKEN)
    )
    with pytest.raises(GitError, match="ca_file") as caught:
        untrusted.fetch()
    assert caught.value.transient is False
    auth = GitAuth(username=githttp.USER, password=TOKEN, ca_file=git_http.ca_file)
    repo = GitRepo(git_http.tls_url("fleet.git"), "main", tmp_path / "c2", auth=auth)
    assert repo.write(bump, author=BOT).commit is not None


def test_ssh_key_file_and_key_from_a_secret(sshd: Sshd, tmp_path: Path) -> None:
    by_file = GitAuth(ssh_key_file=sshd.client_key, known_hosts_file=sshd.known_hosts)
    repo = GitRepo(sshd.url("fleet.git"), "main", tmp_path / "c1", auth=by_file)
    assert repo.write(bump, author=BOT).commit is not None
    key = Secret(sshd.client_key.read_text())
    by_secret = GitAuth(ssh_key=key, known_hosts_file=sshd.known_hosts)
    again = GitRepo(sshd.url("fleet.git"), "main", tmp_path / "c2", auth=by_secret)
    assert again.fetch().read("clusters/prod/api.yaml").count(b"1.4.3") == 1
    assert "PRIVATE KEY" not in repr(by_secret)


def test_ssh_unknown_host_is_refused_unless_allowed(sshd: Sshd, tmp_path: Path) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    auth = GitAuth(ssh_key_file=sshd.client_key, known_hosts_file=empty)
    with pytest.raises(GitError, match="not in known_hosts") as caught:
        GitRepo(sshd.url("fleet.git"), "main", tmp_path / "c1", auth=auth).fetch()
    assert caught.value.transient is False
    allowed = GitAuth(
        ssh_key_file=sshd.client_key, known_hosts_file=empty, accept_unknown_hosts=True
    )
    assert GitRepo(sshd.url("fleet.git"), "main", tmp_path / "c2", auth=allowed).fetch()


def test_ssh_changed_host_key_is_refused_even_when_unknown_hosts_are_allowed(
    sshd: Sshd, tmp_path: Path
) -> None:
    other = keygen(tmp_path / "impostor")
    changed = tmp_path / "changed_known_hosts"
    pub = " ".join(Path(f"{other}.pub").read_text().split()[:2])
    changed.write_text(f"[127.0.0.1]:{sshd.port} {pub}\n")
    auth = GitAuth(
        ssh_key_file=sshd.client_key, known_hosts_file=changed, accept_unknown_hosts=True
    )
    with pytest.raises(GitError, match="does not match known_hosts") as caught:
        GitRepo(sshd.url("fleet.git"), "main", tmp_path / "c1", auth=auth).fetch()
    assert caught.value.transient is False


@pytest.fixture
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP server that accepts and never says a word: its port, the connections it took."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1], held
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize("scheme", ["git", "http"])
def test_a_silent_server_times_out_as_a_transient_error(
    silent_server: tuple[int, list[socket.socket]], scheme: str, tmp_path: Path
) -> None:
    port, accepted = silent_server
    url = f"{scheme}://127.0.0.1:{port}/fleet.git"
    repo = GitRepo(url, "main", tmp_path / "cache", timeout_s=1.0)
    with pytest.raises(GitError, match=r"fetch failed \(.*timed out\)") as caught:
        repo.fetch()
    assert caught.value.transient is True
    # the wait that timed out is ours (timeout_s, in ms), on one connection: no retry behind it
    assert pygit2.settings.server_timeout == pygit2.settings.server_connect_timeout == 1000
    for _ in range(500):  # the accepting thread may record the connection a moment late
        if accepted:
            break
        time.sleep(0.01)
    assert len(accepted) == 1


@pytest.mark.parametrize("removed_first", [False, True])
def test_a_process_removes_its_git_home_at_exit(tmp_path: Path, removed_first: bool) -> None:
    """libgit2's private home (known_hosts, CA bundle) is in TMPDIR only while we run."""
    remote = make_bare_repo(tmp_path / "fleet.git", SEED)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    script = f"""\
import shutil, sys
from pathlib import Path
from automator.git import GitRepo
GitRepo(sys.argv[1], "main", Path(sys.argv[2])).fetch()
homes = list(Path(sys.argv[3]).glob("automator-git-home-*"))
print(len(homes))
if {removed_first}:
    shutil.rmtree(homes[0])
"""
    child = subprocess.run(
        [sys.executable, "-c", script, str(remote), str(tmp_path / "cache"), str(tmpdir)],
        env={**os.environ, "TMPDIR": str(tmpdir), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (child.returncode, child.stderr) == (0, "")
    assert child.stdout.split() == ["1"]  # it connected through its own home
    assert list(tmpdir.glob("automator-git-home-*")) == []


def test_known_hosts_lines_plain_hashed_and_wildcard(tmp_path: Path) -> None:
    import base64
    import hashlib
    import hmac

    from automator.git.transport import is_known_host

    salt = b"0123456789abcdefghij"
    mac = hmac.new(salt, b"[10.0.0.9]:2222", hashlib.sha1).digest()
    hashed = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(mac).decode()}"
    known = tmp_path / "known_hosts"
    known.write_text(
        "# comment\n"
        "github.com,140.82.112.3 ssh-ed25519 AAAA\n"
        f"{hashed} ssh-ed25519 AAAA\n"
        "*.example.test ssh-ed25519 AAAA\n"
        "[127.0.0.1]:2200 ssh-ed25519 AAAA\n"
    )
    assert is_known_host(known, "github.com")
    assert is_known_host(known, "[10.0.0.9]:2222")
    assert is_known_host(known, "git.example.test")
    assert is_known_host(known, "[127.0.0.1]:2200")
    assert not is_known_host(known, "[127.0.0.1]:2201")
    assert not is_known_host(known, "gitlab.com")
    assert not is_known_host(tmp_path / "missing", "github.com")


def test_a_remote_that_drips_a_byte_at_a_time_is_cut_at_the_whole_call_deadline(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    with DripProxy(("127.0.0.1", git_daemon.port), every=0.05) as proxy:
        # every read gets a byte well within timeout_s; only the whole-call deadline ends it
        repo = GitRepo(proxy.url("fleet.git"), "main", tmp_path / "cache", deadline_s=1.0)
        with pytest.raises(GitError, match=r"fetch did not finish within its 1s deadline") as e:
            repo.fetch()
        assert e.value.transient is True
        for _ in range(500):  # the dripping thread sees the hang-up at its next byte
            if proxy.hung_up:
                break
            time.sleep(0.01)
        assert proxy.hung_up == 1  # we hung up on it...
        assert 0 < proxy.dripped < proxy.received  # ...before the server's answer got through
