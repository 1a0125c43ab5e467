"""The SSRF guard: an httpcore network backend that connects only to addresses it checked.

httpx resolves and connects inside httpcore, so checking a URL's host beforehand would
leave a second DNS lookup free to answer differently (DNS rebinding). Here the lookup
happens once, every answer must be a public address, and the socket is opened to exactly
the address that passed. TLS still verifies the certificate against, and sends SNI for, the
original hostname, because httpcore passes the URL's host to `start_tls`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import anyio
import httpcore
import httpx

from koppel_notifier.domain.address_policy import IPAddress, refusal_reason

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
"""Answers every address of a host, like getaddrinfo; injectable for tests."""


class TargetRefused(Exception):  # noqa: N818 - reads as "the target was refused"
    """The webhook host resolves to an address we must not connect to."""


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address getaddrinfo gives for `host` (TCP)."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({ipaddress.ip_address(info[4][0]) for info in infos}, key=str)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, refuses non-public answers (unless allowed), then connects to the checked IP."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def checked_address(self, host: str, port: int) -> IPAddress:
        """The one address to connect to; raises `TargetRefused` if any answer is not public."""
        literal = _literal(host)
        try:
            addresses = [literal] if literal is not None else await self._resolver(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host!r} has no addresses")
        if not self._allow_private:
            for address in addresses:
                reason = refusal_reason(address)
                if reason is not None:
                    raise TargetRefused(f"webhook host {host!r} refused: {reason}")
        return addresses[0]

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface passes it
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self.checked_address(host, port)
        return await self._inner.connect_tcp(
            str(address), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface passes it
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("webhooks never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool built on `GuardedBackend`.

    httpx takes no network backend argument, so the pool it builds is replaced by an
    equivalent one (same SSL context and limits) that uses ours.
    """

    def __init__(self, backend: GuardedBackend, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        ssl_context = httpx.create_ssl_context(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )
