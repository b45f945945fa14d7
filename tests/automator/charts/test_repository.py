"""Helm repositories over real nginx: Basic auth, a CA bundle, 304s, the allow-list, caps."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from automator.charts.repository import Access, HelmRepositories
from automator.errors import ChartError
from automator.http import HttpClient, Retry
from automator.secrets import Secret
from testing.helmrepo import PASSWORD, USER, Chart, HelmRepoServer, write_index

CHARTS = [Chart("web", v, home="https://example.test/web") for v in ("1.0.0", "1.1.0", "2.0.0")]


def publish(server: HelmRepoServer, *, private: bool = False) -> str:
    """A fresh repository directory under the server's root; its path below the root."""
    path = ("private/" if private else "") + f"repo-{uuid.uuid4().hex[:8]}"
    write_index(server.root / path, CHARTS)
    return path


def allow(server: HelmRepoServer, **access: object) -> dict[str, Access]:
    settings = Access(**access)  # type: ignore[arg-type]
    return {server.host: settings, server.tls_host: settings}


def repositories(
    table: dict[str, Access], cache_dir: Path | None = None, **kw: object
) -> HelmRepositories:
    def access(host: str) -> Access:
        if host not in table:
            raise ChartError(f"{host}: not listed under registries: in automator.yaml")
        return table[host]

    return HelmRepositories(HttpClient(), access, cache_dir=cache_dir, **kw)  # type: ignore[arg-type]


def test_second_read_is_a_304(helm_repo: HelmRepoServer, tmp_path: Path) -> None:
    path = publish(helm_repo)
    repos = repositories(allow(helm_repo, insecure=True), tmp_path / "cache")
    first = repos.read(helm_repo.url(path))
    assert first.status == 200 and first.size > 0
    assert [v.version for v in first.index.versions("web")] == ["1.0.0", "1.1.0", "2.0.0"]
    second = repos.read(helm_repo.url(path))
    assert second.status == 304 and second.index == first.index
    # a new process with the same cache directory starts warm
    third = repositories(allow(helm_repo, insecure=True), tmp_path / "cache").read(
        helm_repo.url(path)
    )
    assert third.status == 304 and third.index == first.index
    assert helm_repo.statuses(f"{path}/index.yaml") == [200, 304, 304]


def test_a_changed_index_is_read_again(helm_repo: HelmRepoServer) -> None:
    path = publish(helm_repo)
    repos = repositories(allow(helm_repo, insecure=True))
    repos.read(helm_repo.url(path))
    write_index(helm_repo.root / path, [*CHARTS, Chart("web", "2.1.0")])
    again = repos.read(helm_repo.url(path))
    assert again.status == 200
    assert again.index.versions("web")[-1].version == "2.1.0"


def test_basic_auth_and_ca_bundle_over_https(helm_repo: HelmRepoServer) -> None:
    path = publish(helm_repo, private=True)
    url = helm_repo.tls_url(path)
    table = allow(
        helm_repo, username=USER, password=Secret(PASSWORD), ca_bundle=str(helm_repo.ca_file)
    )
    assert repositories(table).read(url).index.versions("web")

    without = allow(helm_repo, ca_bundle=str(helm_repo.ca_file))
    with pytest.raises(ChartError, match=r"401 reading index\.yaml; check the credentials") as e:
        repositories(without).read(url)
    assert PASSWORD not in str(e.value)

    untrusted = allow(helm_repo, username=USER, password=Secret(PASSWORD))
    with pytest.raises(ChartError, match="CERTIFICATE_VERIFY_FAILED"):
        repositories(untrusted, retry=Retry(attempts=1)).read(url)


def test_unlisted_hosts_and_plain_http_send_nothing(helm_repo: HelmRepoServer) -> None:
    path = publish(helm_repo)
    with pytest.raises(ChartError, match="not listed under registries:"):
        repositories({}).read(helm_repo.url(path))
    with pytest.raises(ChartError, match="plain http; use https, or set insecure: true"):
        repositories(allow(helm_repo)).read(helm_repo.url(path))
    with pytest.raises(ChartError, match="a Helm repository URL is http"):
        repositories(allow(helm_repo)).read(f"ftp://{helm_repo.host}/{path}")
    assert helm_repo.statuses(f"{path}/index.yaml") == []


def test_a_body_past_the_limit_is_refused(helm_repo: HelmRepoServer) -> None:
    path = publish(helm_repo)
    with pytest.raises(ChartError, match=r"index\.yaml: answer of [0-9]+ bytes is over the 100-"):
        repositories(allow(helm_repo, insecure=True), limit=100).read(helm_repo.url(path))


def test_a_missing_index_names_the_repository(helm_repo: HelmRepoServer) -> None:
    url = helm_repo.url("no-such-repo")
    with pytest.raises(ChartError, match=f"{url}: 404 reading index.yaml"):
        repositories(allow(helm_repo, insecure=True)).read(url)
