"""POSTs signed webhooks over the SSRF-guarded transport and says what came of it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import httpx

from koppel_notifier.adapters.guarded_network import GuardedBackend, GuardedTransport, TargetRefused
from koppel_notifier.adapters.webhook_signing import signature_headers
from koppel_notifier.domain.outcome import AttemptOutcome, Verdict, classify_http

MAX_RESPONSE_BYTES = 20 * 1024
USER_AGENT = "Koppel-Notifier/1 (+https://koppel.nl)"


class HttpWebhookSender:
    """One shared httpx client: no redirects, 5 s to connect, 15 s in all, 20 KB read at most."""

    def __init__(
        self,
        backend: GuardedBackend,
        clock: Callable[[], datetime],
        *,
        connect_timeout: float = 5.0,
        total_timeout: float = 15.0,
        max_connections: int = 256,
    ) -> None:
        self._clock = clock
        self._total_timeout = total_timeout
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(backend, limits=limits),
            follow_redirects=False,
            timeout=httpx.Timeout(total_timeout, connect=connect_timeout),
            headers={"user-agent": USER_AGENT},
        )

    async def send(self, url: str, secret: str, message_id: str, body: bytes) -> AttemptOutcome:
        """One attempt; signed with this attempt's timestamp and the stable `message_id`."""
        headers = signature_headers(secret, message_id, body, self._clock())
        headers["content-type"] = "application/json"
        try:
            async with asyncio.timeout(self._total_timeout):
                async with self._client.stream("POST", url, content=body, headers=headers) as reply:
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

    async def aclose(self) -> None:
        await self._client.aclose()


async def _read_at_most(reply: httpx.Response, limit: int) -> None:
    """Drain up to `limit` bytes so a hostile receiver cannot make us buffer megabytes."""
    read = 0
    async for chunk in reply.aiter_raw():
        read += len(chunk)
        if read >= limit:
            break
