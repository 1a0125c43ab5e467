"""The SSRF guard: an aiohttp resolver that hands the connector only addresses it checked.

aiohttp resolves and connects inside its connector, so checking a URL's host beforehand
would leave a second DNS lookup free to answer differently (DNS rebinding). Here the
connector's one lookup is ours: every answer must pass the `TargetPolicy` (see
domain/address_policy), and the connector connects to exactly the addresses it was handed.
Its DNS cache must stay off (`use_dns_cache=False`), so each new connection looks up, and
checks, afresh. TLS still verifies the certificate against, and sends SNI for, the original
hostname, because aiohttp takes `server_hostname` from the URL, not from the resolved address.

aiohttp connects to an IP-literal host without asking any resolver, so the sender checks
literals itself with `check_literal` before each request.

Plain `http` goes only to allow-listed receivers (local runs, tests): the sender keeps a
second connector for it whose resolver, `for_plaintext()`, also refuses every address the
allow-list does not name. The scheme is thus decided by the same lookup that connects.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

from aiohttp.abc import AbstractResolver, ResolveResult

from koppel_notifier.domain.address_policy import BLOCKED, IPAddress, TargetPolicy

Lookup = Callable[[str, int], Awaitable[list[IPAddress]]]
"""Answers every address of a host, like getaddrinfo; injectable for tests."""

# A resolved address is handed over as a number: the connector must not look it up again.
_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


NOT_HTTPS = "webhook_url_not_https"
"""Code: plain http to an address the allow-list does not name."""
NON_CANONICAL = f"{BLOCKED}:non-canonical-literal"
"""Code: an IP-literal host only the socket layer reads (`127.1`, `2130706433`)."""


class TargetRefused(Exception):  # noqa: N818 - reads as "the target was refused"
    """The webhook host is, or resolves to, an address we must not connect to.

    `code` (also the message) names the rule, never the host or the address.
    """

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


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
    """Looks a host up once, refuses it if any answer breaks `policy`, else returns the answers.

    With `plaintext` (see `for_plaintext`) every answer must also be allow-listed.
    """

    def __init__(
        self, policy: TargetPolicy, *, lookup: Lookup = system_lookup, plaintext: bool = False
    ) -> None:
        self._policy = policy
        self._lookup = lookup
        self._plaintext = plaintext

    def for_plaintext(self) -> GuardedResolver:
        """The same guard for plain http: allow-listed addresses only."""
        return GuardedResolver(self._policy, lookup=self._lookup, plaintext=True)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The connector's lookup; `family` is left to the connector, which filters by it."""
        addresses = await self._lookup(host, port)
        if not addresses:
            raise OSError("the webhook host has no addresses")
        for address in addresses:
            self._check(address)
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
        """Refuse an IP-literal host the policy refuses; hostnames are left to `resolve`.

        A host aiohttp takes for a literal but `ipaddress` cannot read (`127.1`,
        `2130706433`: legacy forms the socket layer would still map to an address) is refused
        outright, allow-list or not.
        """
        if not looks_like_ip_literal(host):
            return
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            raise TargetRefused(NON_CANONICAL) from None
        self._check(address)

    def _check(self, address: IPAddress) -> None:
        code = self._policy.refusal(address)
        if code is None and self._plaintext and not self._policy.allow_listed(address):
            code = NOT_HTTPS
        if code is not None:
            raise TargetRefused(code)

    async def close(self) -> None:
        return None
