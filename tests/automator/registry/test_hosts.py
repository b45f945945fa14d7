"""How ``allow_unlisted_registries`` patterns match ``host[:port]``."""

from __future__ import annotations

import pytest

from automator.registry.hosts import EVERY_HOST, RegistryHosts, host_matches


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("ghcr.io", "ghcr.io", True),
        ("GHCR.io", "ghcr.IO", True),
        ("ghcr.io", "ghcr.io:443", False),  # no port in the pattern: the default port only
        ("ghcr.io", "evil-ghcr.io", False),
        ("*.gcr.io", "eu.gcr.io", True),
        ("*.gcr.io", "gcr.io", False),
        ("*.gcr.io", "eu.gcr.io:8443", False),
        ("*", "quay.io", True),
        ("*", "127.0.0.1:5000", False),
        ("*:*", "127.0.0.1:5000", True),
        ("*:*", "[::1]:5000", True),
        ("*", "[::1]", True),
        ("registry.corp:5000", "registry.corp:5000", True),
        ("registry.corp:5000", "registry.corp:5001", False),
        ("registry.corp:50?0", "registry.corp:5010", True),
        ("registry.corp:*", "registry.corp", True),
        ("docker.io", "index.docker.io", True),  # Docker Hub's spellings fold to docker.io
        ("index.docker.io", "docker.io", True),
        ("ghcr.io", "ghcr.io.evil.test", False),
    ],
)
def test_host_patterns(pattern: str, host: str, matches: bool) -> None:
    assert host_matches(pattern, host) is matches


def test_listed_hosts_and_patterns() -> None:
    hosts = RegistryHosts.of(["Registry.Corp:5000", "docker.io"], ["*.gcr.io"])
    assert hosts.is_listed("registry.corp:5000") and hosts.admits("registry-1.docker.io")
    assert hosts.admits("eu.gcr.io") and not hosts.is_listed("eu.gcr.io")
    assert not hosts.admits("127.0.0.1:5000")
    assert RegistryHosts.of([], EVERY_HOST).admits("127.0.0.1:5000")
    assert not RegistryHosts().admits("ghcr.io")  # the default: nothing unlisted
