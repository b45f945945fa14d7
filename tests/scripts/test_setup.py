"""``scripts/setup`` on Debian's own python3 (PEP 668), with only /usr/bin:/bin on PATH.

The test runs the real script on a copy of the checkout. So that it does not
download and install every dependency a second time, the copy's ``.venv`` is made
beforehand by Debian's python3 with one ``.pth`` line that puts this test run's
site-packages on its path: pip then finds every requirement installed and only
builds the copy itself. What is proved is the script's path: it picks ``.venv``
because the interpreter is externally managed, keeps the venv it finds, and
installs the package there so that ``.venv/bin/automator`` runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = Path("/usr/bin/python3")


def _copy_checkout(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _ask(
    python: Path, code: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    """What ``python -c code`` prints."""
    run = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, cwd=cwd, env=env
    )
    return run.stdout.strip()


def _managed(python: Path) -> bool:
    stdlib = "import sysconfig; print(sysconfig.get_path('stdlib'))"
    return Path(_ask(python, stdlib), "EXTERNALLY-MANAGED").exists()


@pytest.mark.slow
def test_setup_with_debian_python_first_on_path(tmp_path: Path) -> None:
    if not DEBIAN_PYTHON.exists() or not _managed(DEBIAN_PYTHON):
        message = "needs Debian's own /usr/bin/python3: apt-get install python3 python3-venv"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    checkout = tmp_path / "automator"
    _copy_checkout(checkout)
    subprocess.run([DEBIAN_PYTHON, "-m", "venv", checkout / ".venv"], check=True)
    venv_python = checkout / ".venv" / "bin" / "python"
    purelib = _ask(venv_python, "import sysconfig; print(sysconfig.get_path('purelib'))")
    shared = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    Path(purelib, "shared-test-deps.pth").write_text("".join(f"{p}\n" for p in sorted(shared)))

    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
    }
    result = subprocess.run(
        ["bash", "scripts/setup"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    version = subprocess.run(
        [checkout / ".venv/bin/automator", "version"], capture_output=True, text=True, env=env
    )
    assert version.returncode == 0, version.stderr
    elsewhere = tmp_path / "elsewhere"  # not beside the copy: import what was installed
    elsewhere.mkdir()
    where = _ask(venv_python, "import automator; print(automator.__file__)", cwd=elsewhere, env=env)
    assert where == str(checkout / "automator" / "__init__.py")
