"""Which addresses a guarded request may reach: public ones only."""

from __future__ import annotations

import ipaddress

import pytest

from automator.http.address import PrivateAddress, non_public, public_address, public_only


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # an IPv4-mapped IPv6 address is its IPv4 one
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT: not private, not global
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private"),  # reserved, and Python counts it private first
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_non_public(address: str, kind: str | None) -> None:
    assert non_public(ipaddress.ip_address(address)) == kind


def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    with public_only("listing tags"), pytest.raises(PrivateAddress) as info:
        public_address("localhost", 80)
    assert str(info.value).startswith("listing tags: refused localhost: it resolves to ")
    assert info.value.kind == "loopback"
