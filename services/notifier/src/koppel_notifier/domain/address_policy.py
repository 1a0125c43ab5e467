"""Which network addresses a webhook may reach (the SSRF guard's rule, without any I/O)."""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def refusal_reason(address: IPAddress) -> str | None:
    """Why a webhook must not connect to `address`, or None when it is a public address.

    IPv6 forms that embed an IPv4 address (mapped, 6to4, Teredo) are judged by that address
    too, so `::ffff:127.0.0.1` is as loopback as `127.0.0.1`.
    """
    for candidate in _with_embedded(address):
        for name, flag in (
            ("unspecified", candidate.is_unspecified),
            ("loopback", candidate.is_loopback),
            ("link-local", candidate.is_link_local),
            ("multicast", candidate.is_multicast),
            ("private", candidate.is_private),
            ("reserved", candidate.is_reserved),
        ):
            if flag:
                return f"{address} is {name}"
        if not candidate.is_global:
            return f"{address} is not a global address"
    return None


def _with_embedded(address: IPAddress) -> list[IPAddress]:
    if not isinstance(address, ipaddress.IPv6Address):
        return [address]
    if address.ipv4_mapped is not None:
        # A mapped address is that IPv4 address: judge it, not the ::ffff:0:0/96 wrapper.
        return [address.ipv4_mapped]
    found: list[IPAddress] = [address]
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found
