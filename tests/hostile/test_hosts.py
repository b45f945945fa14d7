"""The config repo cannot aim automator at a host: an allow-list, and a redirect guard.

Whoever can commit to the config repo can write any image reference, and whoever
runs a registry can answer any redirect. Neither may make automator connect to a
host automator.yaml did not name: each target here is a ``CountingListener``, and
"never contacted" is counted at its socket.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from automator.errors import RegistryError
from automator.reference import parse_reference
from automator.registry import RegistryClient, RegistrySettings
from automator.secrets import Secret
from testing.gitserver import GitDaemon, make_bare_repo
from testing.hostile_registry import HostileRegistry
from testing.listener import CountingListener
from testing.tls import make_tls
from tests.hostile.conftest import Run, run_cli
from tests.hostile.test_registry import DEPLOYMENT

LOOPBACK = "it resolves to 127.0.0.1, a loopback address"


def config_for(tmp_path: Path, remote: str, extra: str = "") -> Path:
    config = tmp_path / "automator.yaml"
    config.write_text(
        f"sources:\n  - name: fleet\n    url: {remote}\n    paths: [apps]\n"
        f"state_dir: {tmp_path / 'state'}\n{extra}"
    )
    return config


def skipped(result: Run) -> list[str]:
    return [line for line in result.stderr.splitlines() if ": skipped " in line]


@pytest.fixture
def internal() -> CountingListener:
    with CountingListener() as listener:
        yield listener  # type: ignore[misc]


@pytest.fixture
def fleet(git_daemon: GitDaemon, internal: CountingListener) -> str:
    files = {"apps/scan.yaml": DEPLOYMENT.format(name="scan", image=f"{internal.host}/app")}
    make_bare_repo(git_daemon.base / "fleet.git", files)
    return git_daemon.url("fleet.git")


def test_an_unlisted_registry_is_skipped_in_one_line_and_never_contacted(
    tmp_path: Path, fleet: str, internal: CountingListener
) -> None:
    config = str(config_for(tmp_path, fleet))
    plan = run_cli("plan", "--config", config, cwd=tmp_path)
    assert plan.returncode != 0  # a person must act: list the host, or let it in
    assert skipped(plan) == [
        f"# fleet: skipped apps/scan.yaml:12: {internal.host}/app: registry {internal.host} is"
        " not listed under registries: in automator.yaml, so it was not contacted; list it"
        " there, or let it in with allow_unlisted_registries"
    ]
    check = run_cli("check", "--config", config, cwd=tmp_path)
    assert [line for line in check.stdout.splitlines() if "SKIPPED" in line] == [
        f"fleet: apps/scan.yaml:12  SKIPPED  {internal.host}/app: registry {internal.host} is"
        " not listed under registries: in automator.yaml, so it was not contacted; list it"
        " there, or let it in with allow_unlisted_registries"
    ]
    explain = run_cli(
        "explain", f"{internal.host}/app:1.4.2", "--policy", "semver:~1.4", "--config", config,
        cwd=tmp_path,
    )  # fmt: skip
    assert explain.returncode == 1
    assert explain.stderr.strip().splitlines() == [
        f"automator: error: {internal.host}/app: registry {internal.host} is not listed under"
        " registries: in automator.yaml, so it was not contacted; list it there, or let it"
        " in with allow_unlisted_registries"
    ]
    assert internal.accepted == 0


@pytest.mark.parametrize("opened", ["true", '["127.0.0.1:*"]'])
def test_a_host_let_in_unlisted_is_still_never_contacted_at_a_private_address(
    tmp_path: Path, fleet: str, internal: CountingListener, opened: str
) -> None:
    config = config_for(tmp_path, fleet, f"allow_unlisted_registries: {opened}\n")
    plan = run_cli("plan", "--config", str(config), cwd=tmp_path)
    assert plan.returncode != 0
    [line] = skipped(plan)
    assert f"{internal.host}/app: listing tags: refused 127.0.0.1: {LOOPBACK}" in line
    assert internal.accepted == 0


def test_a_listed_registry_is_contacted(
    tmp_path: Path, fleet: str, internal: CountingListener
) -> None:
    listed = f"registries:\n  - host: {internal.host}\n    insecure: true\n"
    config = config_for(tmp_path, fleet, listed)
    run_cli("plan", "--config", str(config), cwd=tmp_path)
    assert internal.accepted >= 1  # the counter counts: the tests above are not vacuous


def client(server: HostileRegistry, **settings: object) -> RegistryClient:
    base: dict[str, object] = {"insecure": True, "deadline": 10.0, "max_attempts": 1}
    return RegistryClient([RegistrySettings(server.host, **(base | settings))])  # type: ignore[arg-type]


def test_a_redirect_to_an_internal_address_is_not_followed(hostile: HostileRegistry) -> None:
    before = hostile.internal.accepted
    with pytest.raises(RegistryError) as info:
        client(hostile).list_tags(parse_reference(f"{hostile.host}/metadata/app"))
    assert str(info.value) == (
        f"{hostile.host}/metadata/app: listing tags: refused 127.0.0.1: {LOOPBACK}; only a"
        " registry listed under registries: may be private, and its redirects only with"
        " private_redirects: true"
    )
    assert hostile.internal.accepted == before
    # the registry's own opt-in lets it through: the guard, not chance, stopped it above
    with pytest.raises(RegistryError):
        client(hostile, private_redirects=True).list_tags(
            parse_reference(f"{hostile.host}/metadata/app")
        )
    assert hostile.internal.accepted > before


def test_plan_says_why_in_one_line(
    tmp_path: Path, hostile: HostileRegistry, git_daemon: GitDaemon
) -> None:
    files = {"apps/meta.yaml": DEPLOYMENT.format(name="meta", image=f"{hostile.host}/metadata/app")}
    make_bare_repo(git_daemon.base / "fleet.git", files)
    registries = f"registries:\n  - host: {hostile.host}\n    insecure: true\n"
    config = config_for(tmp_path, git_daemon.url("fleet.git"), registries)
    before = hostile.internal.accepted
    plan = run_cli("plan", "--config", str(config), cwd=tmp_path)
    assert skipped(plan) == [
        f"# fleet: skipped apps/meta.yaml:12: {hostile.host}/metadata/app: listing tags:"
        f" refused 127.0.0.1: {LOOPBACK}; only a registry listed under registries: may be"
        " private, and its redirects only with private_redirects: true"
    ]
    assert hostile.internal.accepted == before


def test_https_is_never_downgraded_by_a_redirect(tmp_path: Path) -> None:
    tls = make_tls(tmp_path, mutual=False)
    with HostileRegistry(tls=tls) as server:
        settings = RegistrySettings(server.host, ca_bundle=str(tls.ca), max_attempts=1)
        with pytest.raises(RegistryError, match="refused a redirect from HTTPS to plain HTTP"):
            RegistryClient([settings]).list_tags(parse_reference(f"{server.host}/downgrade/app"))
        assert server.count("/downgrade/") == 1  # the HTTPS request, and nothing after it


def test_a_name_is_judged_by_the_address_it_resolves_to(hostile: HostileRegistry) -> None:
    before = len(hostile.other.seen)
    asks = client(hostile, username="alice", password=Secret("pw"))  # it wants Basic first
    with pytest.raises(RegistryError, match="refused localhost: it resolves to"):
        asks.list_tags(parse_reference(f"{hostile.host}/redirect/app"))
    assert len(hostile.other.seen) == before  # the other host (localhost:P) saw nothing
