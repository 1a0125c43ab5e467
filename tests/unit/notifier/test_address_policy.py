"""The SSRF rule: some ranges are blocked whatever is configured; others only when not allowed."""

from __future__ import annotations

import ipaddress

import pytest

from koppel_notifier.domain.address_policy import (
    PRIVATE_NETWORKS,
    TargetPolicy,
    parse_allowed_networks,
)

DEFAULT = TargetPolicy()
PRIVATE = TargetPolicy.configured([], allow_private=True)
LOOPBACK = TargetPolicy.configured(
    parse_allowed_networks("127.0.0.0/8,::1/128"), allow_private=False
)
BROAD = TargetPolicy.configured(
    parse_allowed_networks("10.0.0.0/8,2001:db8::/32,198.18.0.0/15"), allow_private=True
)
POLICIES = [DEFAULT, PRIVATE, LOOPBACK, BROAD]
POLICY_NAMES = ["default", "allow-private", "loopback-listed", "broad"]

ALWAYS_BLOCKED = {
    "169.254.169.254": "link-local",  # cloud metadata
    "169.254.0.1": "link-local",
    "fe80::1": "link-local",
    "0.0.0.0": "unspecified",  # noqa: S104 - an address under test, not a bind
    "0.1.2.3": "unspecified",
    "::": "unspecified",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "255.255.255.255": "broadcast",
    "240.0.0.1": "reserved",
    "4000::1": "reserved",
    "192.0.0.9": "protocol-assignments",  # `ipaddress` calls this one global
    "192.0.0.170": "protocol-assignments",
    "192.88.99.1": "6to4-relay",
    "fec0::1": "site-local",
    "3fff::1": "documentation",
    # IPv6 forms that embed a blocked IPv4 address are that address:
    "::ffff:169.254.169.254": "link-local",  # IPv4-mapped
    "::169.254.169.254": "link-local",  # IPv4-compatible
    "2002:a9fe:a9fe::1": "link-local",  # 6to4
    "64:ff9b::169.254.169.254": "link-local",  # NAT64, well-known prefix
    "64:ff9b:1::a9fe:a9fe": "link-local",  # NAT64, local-use prefix
    "2001:0:a9fe:a9fe::f7f7:f7f7": "link-local",  # Teredo, server 169.254.169.254
    "::ffff:0.0.0.0": "unspecified",
    "::ffff:224.0.0.1": "multicast",
    "2002:c000:0009::1": "protocol-assignments",
}


@pytest.mark.parametrize("policy", POLICIES, ids=POLICY_NAMES)
@pytest.mark.parametrize(("address", "kind"), ALWAYS_BLOCKED.items())
def test_always_blocked_ranges_are_refused_whatever_is_allowed(
    policy: TargetPolicy, address: str, kind: str
) -> None:
    assert policy.refusal(ipaddress.ip_address(address)) == f"webhook_target_blocked:{kind}"


NOT_PUBLIC = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "192.0.2.10",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "::ffff:127.0.0.1",
    "::ffff:10.1.2.3",
    "2002:7f00:0001::1",  # 6to4 wrapping 127.0.0.1
    "2002:c0a8:0101::1",  # 6to4 wrapping 192.168.1.1
    "2001:db8::1",  # documentation
    "64:ff9b::8.8.8.8",  # NAT64 of a public address: not allowed unless listed
    "64:ff9b:1::8.8.8.8",
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_are_refused_by_default(address: str) -> None:
    refusal = DEFAULT.refusal(ipaddress.ip_address(address))
    assert refusal is not None
    assert refusal.startswith("webhook_target_not_allowed:")


PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("policy", POLICIES, ids=POLICY_NAMES)
@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(policy: TargetPolicy, address: str) -> None:
    assert policy.refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "::1", "::ffff:127.0.0.1", "10.1.2.3", "172.31.0.1", "192.168.1.1",
     "fd00::5", "100.64.1.1", "::ffff:10.1.2.3"],
)  # fmt: skip
def test_allow_private_targets_allows_loopback_and_private_ranges(address: str) -> None:
    assert PRIVATE.refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "address", ["192.0.2.10", "198.18.0.1", "2001:db8::1", "64:ff9b::8.8.8.8", "2002:7f00:1::1"]
)
def test_allow_private_targets_allows_nothing_beyond_those_ranges(address: str) -> None:
    assert PRIVATE.refusal(ipaddress.ip_address(address)) is not None


def test_the_private_ranges_are_exactly_the_documented_ones() -> None:
    assert {str(network) for network in PRIVATE_NETWORKS} == {
        "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
        "fc00::/7", "100.64.0.0/10",
    }  # fmt: skip


def test_the_allow_list_allows_what_it_names_and_nothing_else() -> None:
    for allowed in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        assert LOOPBACK.refusal(ipaddress.ip_address(allowed)) is None, allowed
    assert LOOPBACK.refusal(ipaddress.ip_address("10.0.0.1")) == (
        "webhook_target_not_allowed:private"
    )
    # An embedding of an allowed address is a different address (a 6to4 relay's): refused.
    assert LOOPBACK.refusal(ipaddress.ip_address("2002:7f00:1::1")) is not None
    assert BROAD.refusal(ipaddress.ip_address("198.19.0.1")) is None
    assert BROAD.refusal(ipaddress.ip_address("2001:db8::1")) is None


def test_refusal_codes_name_neither_host_nor_address() -> None:
    refusal = DEFAULT.refusal(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert refusal == "webhook_target_not_allowed:loopback"


@pytest.mark.parametrize(
    "entry",
    ["169.254.0.0/16", "169.254.169.254/32", "169.0.0.0/8", "0.0.0.0/0", "::/0", "fe80::/64",
     "224.0.0.0/24", "255.255.255.255", "240.0.0.0/8", "192.0.0.0/24", "192.0.0.8/29",
     "192.88.99.0/24", "fec0::/10", "3fff::/24", "ff00::/8", "0.0.0.0/8", "::/128",
     "::ffff:169.254.0.0/112", "::ffff:0:0/96", "2002:a9fe::/32", "64:ff9b::/96"],
)  # fmt: skip
def test_an_allow_list_entry_overlapping_an_always_blocked_range_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="always blocked"):
        parse_allowed_networks(f"127.0.0.0/8, {entry}")


@pytest.mark.parametrize("entry", ["localhost", "10.0.0.1/8", "10.0.0.0/33", "::1/129"])
def test_an_allow_list_entry_that_is_no_network_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="not a network"):
        parse_allowed_networks(entry)


def test_the_allow_list_is_read_as_comma_separated_cidrs() -> None:
    networks = parse_allowed_networks(" 127.0.0.0/8 ,::1/128,, 10.1.0.0/16 ")
    assert [str(network) for network in networks] == ["127.0.0.0/8", "::1/128", "10.1.0.0/16"]
    assert parse_allowed_networks("") == ()
