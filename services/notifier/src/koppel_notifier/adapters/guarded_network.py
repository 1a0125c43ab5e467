"""The SSRF guard: an aiohttp resolver that hands the connector only addresses it checked.

aiohttp resolves and connects inside its connector, so checking a URL's host beforehand
would leave a second DNS lookup free to answer differently (DNS rebinding). Here the
connector's one lookup is ours: every answer must be a public address, and the connector
connects to exactly the addresses it was handed. Its DNS cache must stay off
(`use_dns_cache=False`), so each new connection looks up, and checks, afresh. TLS still
verifies the certificate against, and sends SNI for, the original hostname, because aiohttp
takes `server_hostname` from the URL, not from the resolved address.

aiohttp connects to an IP-literal host without asking any resolver, so the sender checks
literals itself with `check_literal` before each request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

from aiohttp.abc import AbstractResolver, ResolveResult

from koppel_notifier.domain.address_policy import IPAddress, refusal_reason

Lookup = Callable[[str, int], Awaitable[list[IPAddress]]]
"""Answers every address of a host, like getaddrinfo; injectable for tests."""

# A resolved address is handed over as a number: the connector must not look it up again.
_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


class TargetRefused(Exception):  # noqa: N818 - reads as "the target was refused"
    """The webhook host is, or resolves to, an address we must not connect to."""


async def system_lookup(host: str, port: int) -> list[IPAddress]:
    """Every address getaddrinfo gives for `host` (TCP), in its order, without duplicates."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = (ipaddress.ip_address(info[4][0]) for info in infos)
    return list(dict.fromkeys(found))


def looks_like_ip_literal(host: str) -> bool:
    """aiohttp's own test for a host it connects to without a lookup (helpers.is_ip_address).

    Kept as wide as aiohttp's: whatever aiohttp would not resolve must be judged here.
    """
    return ":" in host or host.replace(".", "").isdigit()


class GuardedResolver(AbstractResolver):
    """Looks a host up once, refuses it if any answer is not public, else returns the answers.

    `allow_private` (WEBHOOK_ALLOW_PRIVATE_TARGETS) lifts the refusal for local runs and tests.
    """

    def __init__(self, *, allow_private: bool, lookup: Lookup = system_lookup) -> None:
        self._allow_private = allow_private
        self._lookup = lookup

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The connector's lookup; `family` is left to the connector, which filters by it."""
        addresses = await self._lookup(host, port)
        if not addresses:
            raise OSError(f"{host!r} has no addresses")
        for address in addresses:
            self._check(host, address)
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=_NUMERIC,
            )
            for address in addresses
        ]

    def check_literal(self, host: str) -> None:
        """Refuse an IP-literal host that is not public; hostnames are left to `resolve`.

        A host aiohttp takes for a literal but `ipaddress` cannot read (`127.1`,
        `2130706433`: legacy forms the socket layer would still map to an address) is refused
        outright.
        """
        if not looks_like_ip_literal(host):
            return
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            if self._allow_private:
                return
            raise TargetRefused(f"webhook host {host!r} is not a canonical IP address") from None
        self._check(host, address)

    def _check(self, host: str, address: IPAddress) -> None:
        if self._allow_private:
            return
        reason = refusal_reason(address)
        if reason is not None:
            raise TargetRefused(f"webhook host {host!r} refused: {reason}")

    async def close(self) -> None:
        return None
