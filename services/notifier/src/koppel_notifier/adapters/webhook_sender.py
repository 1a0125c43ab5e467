"""POSTs signed webhooks over the SSRF-guarded transport and says what came of it."""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict
from collections.abc import Callable
from datetime import datetime

import httpx

from koppel_notifier.adapters.guarded_network import GuardedBackend, GuardedTransport, TargetRefused
from koppel_notifier.adapters.webhook_signing import signature_headers
from koppel_notifier.domain.outcome import AttemptOutcome, Verdict, classify_http

MAX_RESPONSE_BYTES = 20 * 1024
USER_AGENT = "Koppel-Notifier/1 (+https://koppel.nl)"


class HttpWebhookSender:
    """No redirects, 5 s to connect, 15 s in all, 20 KB read at most.

    One small httpx client per origin (scheme, host, port): httpcore scans its whole pool
    for every request, so a single pool holding connections to many receivers costs time
    in proportion to all of them. Idle clients beyond `max_origins` are closed.
    """

    def __init__(
        self,
        backend: GuardedBackend,
        clock: Callable[[], datetime],
        *,
        connect_timeout: float = 5.0,
        total_timeout: float = 15.0,
        connections_per_origin: int = 8,
        max_origins: int = 256,
    ) -> None:
        self._backend = backend
        self._clock = clock
        self._connect_timeout = connect_timeout
        self._total_timeout = total_timeout
        self._connections = connections_per_origin
        self._max_origins = max_origins
        self._clients: OrderedDict[str, httpx.AsyncClient] = OrderedDict()
        self._busy: Counter[str] = Counter()

    async def send(
        self,
        url: str,
        secret: str,
        message_id: str,
        body: bytes,
        *,
        traceparent: str | None = None,
    ) -> AttemptOutcome:
        """One attempt; signed with this attempt's timestamp and the stable `message_id`.

        `traceparent` (the match event's W3C trace context) goes along as a header, so a
        receiver that traces can continue the trace that began at intake.
        """
        headers = signature_headers(secret, message_id, body, self._clock())
        headers["content-type"] = "application/json"
        if traceparent is not None:
            headers["traceparent"] = traceparent
        try:
            origin = _origin(url)
        except httpx.InvalidURL as exc:
            return AttemptOutcome(Verdict.REFUSED, f"invalid webhook URL: {exc}")
        client = await self._client(origin)
        self._busy[origin] += 1
        try:
            async with asyncio.timeout(self._total_timeout):
                async with client.stream("POST", url, content=body, headers=headers) as reply:
                    await _read_at_most(reply, MAX_RESPONSE_BYTES)
                    return classify_http(
                        reply.status_code, reply.headers.get("retry-after"), self._clock()
                    )
        except TargetRefused as exc:
            return AttemptOutcome(Verdict.REFUSED, str(exc))
        except (TimeoutError, httpx.TimeoutException):
            return AttemptOutcome(Verdict.THROTTLED, "timed out")
        except httpx.InvalidURL as exc:
            return AttemptOutcome(Verdict.REFUSED, f"invalid webhook URL: {exc}")
        except httpx.HTTPError as exc:
            return AttemptOutcome(Verdict.RETRY, f"{type(exc).__name__}: {exc}")
        finally:
            self._busy[origin] -= 1

    async def _client(self, origin: str) -> httpx.AsyncClient:
        client = self._clients.get(origin)
        if client is not None:
            self._clients.move_to_end(origin)
            return client
        limits = httpx.Limits(
            max_connections=self._connections, max_keepalive_connections=self._connections
        )
        client = httpx.AsyncClient(
            transport=GuardedTransport(self._backend, limits=limits),
            follow_redirects=False,
            timeout=httpx.Timeout(self._total_timeout, connect=self._connect_timeout),
            headers={"user-agent": USER_AGENT},
        )
        self._clients[origin] = client
        await self._evict_idle()
        return client

    async def _evict_idle(self) -> None:
        for origin in list(self._clients):
            if len(self._clients) <= self._max_origins:
                return
            if self._busy[origin] <= 0:
                del self._busy[origin]
                await self._clients.pop(origin).aclose()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port or ''}"


async def _read_at_most(reply: httpx.Response, limit: int) -> None:
    """Drain up to `limit` bytes so a hostile receiver cannot make us buffer megabytes."""
    read = 0
    async for chunk in reply.aiter_raw():
        read += len(chunk)
        if read >= limit:
            break
