"""OpenSSH ``sshd`` on a high port: a git-shell test user, a client key, known_hosts.

Needs root (a system user, and sshd's privilege separation). The repositories must
belong to the test user, so the fixture hands them over with ``chown``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from testing import MissingServer, free_port
from testing.process import spawn, stop_group, wait_listening

SSHD = "/usr/sbin/sshd"  # sshd re-execs itself, so it must be started by absolute path
USER = "automator-test"

_CONFIG = """Port {port}
ListenAddress 127.0.0.1
HostKey {dir}/ssh_host_ed25519_key
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
AllowUsers {user}
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
"""


def keygen(path: Path, comment: str = "test") -> Path:
    """An unencrypted Ed25519 key pair at ``path`` and ``path.pub``."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
    )
    return path


class Sshd:
    """sshd for one test user whose login shell is git-shell."""

    def __init__(self, run: Path, repos: Path) -> None:
        if not Path(SSHD).exists() or shutil.which("ssh-keygen") is None:
            raise MissingServer("sshd is not installed: apt-get install openssh-server")
        if os.geteuid() != 0:
            raise MissingServer("the sshd tests need root (a system user and privilege separation)")
        self.run = Path(run)
        self.repos = Path(repos)
        self.port = free_port()
        self.client_key = self.run / "client_key"
        self.host_key = self.run / "ssh_host_ed25519_key"
        self.known_hosts = self.run / "known_hosts"
        self._proc: subprocess.Popen[bytes] | None = None

    def url(self, repo: str) -> str:
        return f"ssh://{USER}@127.0.0.1:{self.port}{self.repos / repo}"

    def start(self) -> Sshd:
        _ensure_user()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        keygen(self.host_key, "host")
        keygen(self.client_key, "client")
        (self.run / "authorized_keys").write_text((self.run / "client_key.pub").read_text())
        host_pub = " ".join((self.run / "ssh_host_ed25519_key.pub").read_text().split()[:2])
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub}\n")
        config = self.run / "sshd_config"
        config.write_text(_CONFIG.format(port=self.port, dir=self.run, user=USER))
        subprocess.run([SSHD, "-t", "-f", str(config)], check=True, capture_output=True)
        user = pwd.getpwnam(USER)
        for path in [self.repos, *self.repos.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
        for path in {*self.run.parents, *self.repos.parents}:  # pytest's tmp dirs are 0700
            path.chmod(path.stat().st_mode | 0o001)
        self.run.chmod(0o755)
        log = self.run / "sshd.log"
        self._proc = spawn([SSHD, "-D", "-e", "-f", str(config)], log)
        wait_listening(self.port, [self._proc], log)
        return self

    def stop(self) -> None:
        if self._proc is not None:
            stop_group(self._proc)
            self._proc = None

    def __enter__(self) -> Sshd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _ensure_user() -> None:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--create-home", "--shell", "/usr/bin/git-shell", USER],
            check=True,
            capture_output=True,
        )
    # '*' = no password but not locked; sshd refuses a locked ('!') account even for keys.
    subprocess.run(["usermod", "-p", "*", USER], check=True, capture_output=True)
