"""The SSRF rule: every address that is not plainly public is refused."""

from __future__ import annotations

import ipaddress

import pytest

from koppel_notifier.domain.address_policy import refusal_reason

BLOCKED = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",  # noqa: S104 - an address under test, not a bind
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "192.0.2.10",  # documentation
    "198.18.0.1",  # benchmarking
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.1.2.3",
    "::ffff:169.254.169.254",
    "2002:7f00:0001::1",  # 6to4 wrapping 127.0.0.1
    "2002:c0a8:0101::1",  # 6to4 wrapping 192.168.1.1
    "2001:db8::1",  # documentation
    "64:ff9b:1::1",  # local-use NAT64
]

ALLOWED = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_the_reason_names_the_address_and_the_kind() -> None:
    assert refusal_reason(ipaddress.ip_address("::ffff:127.0.0.1")) == "::ffff:7f00:1 is loopback"
