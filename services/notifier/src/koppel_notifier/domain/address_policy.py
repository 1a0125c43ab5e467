"""Which network addresses a webhook may reach (the SSRF guard's rule, without any I/O).

Three tiers, judged in this order:

1. Always blocked, whatever is configured: unspecified, link-local (so cloud metadata at
   169.254.169.254), multicast, broadcast and reserved addresses, and ranges `ipaddress`
   counts as global although no receiver belongs there (`192.0.0.0/24`, `192.88.99.0/24`,
   `fec0::/10`, `3fff::/20`).
2. Allowed by configuration: the networks of `WEBHOOK_ALLOWED_NETWORKS`, plus the loopback
   and private ranges when `WEBHOOK_ALLOW_PRIVATE_TARGETS` is set.
3. Otherwise public (global) addresses only.

An IPv6 address that embeds an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, Teredo,
NAT64) is judged by that IPv4 address too, so `::ffff:169.254.169.254` is as blocked as
`169.254.169.254`. Refusals are codes, never the host or address: the code lands in
`last_error` and in `notification.failed`, which must not describe a consultant's receiver.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

BLOCKED = "webhook_target_blocked"
"""Code prefix: an always-blocked address (`webhook_target_blocked:link-local`)."""
NOT_ALLOWED = "webhook_target_not_allowed"
"""Code prefix: a non-public address outside the allow-list (`...:private`)."""


def _networks(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# IPv6's reserved blocks are `ipaddress`'s, less ::/8: that one holds ::1 and the forms that
# embed an IPv4 address, which are judged by the address they embed instead.
_RESERVED = _networks(
    "240.0.0.0/4", "100::/8", "200::/7", "400::/6", "800::/5", "1000::/4", "4000::/3",
    "6000::/3", "8000::/3", "a000::/3", "c000::/3", "e000::/4", "f000::/5", "f800::/6",
    "fe00::/9",
)  # fmt: skip

_ALWAYS_BLOCKED: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = (
    ("unspecified", _networks("0.0.0.0/8", "::/128")),
    ("link-local", _networks("169.254.0.0/16", "fe80::/10")),
    ("multicast", _networks("224.0.0.0/4", "ff00::/8")),
    ("broadcast", _networks("255.255.255.255/32")),
    ("reserved", _RESERVED),
    ("protocol-assignments", _networks("192.0.0.0/24")),
    ("6to4-relay", _networks("192.88.99.0/24")),
    ("site-local", _networks("fec0::/10")),
    ("documentation", _networks("3fff::/20")),
)

PRIVATE_NETWORKS = _networks(
    "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
    "100.64.0.0/10",
)  # fmt: skip
"""What `WEBHOOK_ALLOW_PRIVATE_TARGETS=true` allows: loopback and private ranges, no more."""

_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = _networks("64:ff9b::/96", "64:ff9b:1::/48")
_SIXTOFOUR = ipaddress.ip_network("2002::/16")


@dataclass(frozen=True)
class TargetPolicy:
    """The allow-list in force; everything else follows the tiers above."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def configured(cls, networks: Iterable[IPNetwork], *, allow_private: bool) -> TargetPolicy:
        """`networks` (WEBHOOK_ALLOWED_NETWORKS), plus PRIVATE_NETWORKS with `allow_private`."""
        return cls((*networks, *(PRIVATE_NETWORKS if allow_private else ())))

    def refusal(self, address: IPAddress) -> str | None:
        """The code saying why a webhook must not connect to `address`, or None if it may."""
        judged = _judged_forms(address)
        for candidate in judged:
            kind = always_blocked_kind(candidate)
            if kind is not None:
                return f"{BLOCKED}:{kind}"
        if self.allow_listed(address):
            return None
        for candidate in judged:
            kind = _non_public_kind(candidate)
            if kind is not None:
                return f"{NOT_ALLOWED}:{kind}"
        return None

    def allow_listed(self, address: IPAddress) -> bool:
        """Whether the allow-list names `address` (an IPv4-mapped address by its IPv4 form)."""
        forms: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            forms.append(address.ipv4_mapped)
        return any(form in network for form in forms for network in self.allowed)


def always_blocked_kind(address: IPAddress) -> str | None:
    """The always-blocked range `address` lies in ("link-local", ...), or None."""
    for kind, networks in _ALWAYS_BLOCKED:
        if any(address in network for network in networks):
            return kind
    return None


def parse_allowed_networks(text: str) -> tuple[IPNetwork, ...]:
    """The networks of a comma-separated CIDR list; ValueError for a bad or blocked one.

    An entry that overlaps an always-blocked range is refused rather than trimmed: the
    operator asked for something that will never be granted, and should hear it at start-up.
    """
    networks: list[IPNetwork] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry)
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not a network in CIDR form ({exc})") from None
        for kind, blocked in _blocked_with_embedded_forms():
            if network.version == blocked.version and network.overlaps(blocked):
                raise ValueError(f"{entry} overlaps {blocked} ({kind}), which is always blocked")
        networks.append(network)
    return tuple(networks)


def _blocked_with_embedded_forms() -> Iterable[tuple[str, IPNetwork]]:
    """Each always-blocked network, and for IPv4 ones the IPv6 prefixes that embed them."""
    for kind, networks in _ALWAYS_BLOCKED:
        for network in networks:
            yield kind, network
            if isinstance(network, ipaddress.IPv4Network):
                yield from ((kind, wrapped) for wrapped in _embedding_prefixes(network))


def _embedding_prefixes(network: ipaddress.IPv4Network) -> list[IPNetwork]:
    base, length = int(network.network_address), network.prefixlen
    return [
        ipaddress.IPv6Network((int(_MAPPED.network_address) | base, 96 + length)),
        ipaddress.IPv6Network((int(_SIXTOFOUR.network_address) | base << 80, 16 + length)),
        ipaddress.IPv6Network((int(_NAT64[0].network_address) | base, 96 + length)),
    ]


def _judged_forms(address: IPAddress) -> list[IPAddress]:
    """`address` and every IPv4 address it embeds; a mapped address is its IPv4 form only."""
    if not isinstance(address, ipaddress.IPv6Address):
        return [address]
    if address.ipv4_mapped is not None:
        # A mapped address is that IPv4 address: judge it, not the ::ffff:0:0/96 wrapper.
        return [address.ipv4_mapped]
    found: list[IPAddress] = [address]
    last_32_bits = ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    if address in _COMPATIBLE and int(address) > 1:  # ::a.b.c.d, but not :: or ::1
        found.append(last_32_bits)
    if any(address in prefix for prefix in _NAT64):
        found.append(last_32_bits)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def _non_public_kind(address: IPAddress) -> str | None:
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not-global", not address.is_global),
    ):
        if flag:
            return kind
    return None
