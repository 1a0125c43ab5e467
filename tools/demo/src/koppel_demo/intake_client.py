"""PUTs the demo's consultants and assignments to the intake API, a few at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from koppel.contract import Assignment, ConsultantProfile

_RETRIED_STATUSES = {429, 502, 503, 504}


@dataclass
class LoadResult:
    """What intake accepted: wall-clock acceptance time per id, and what it refused."""

    accepted_at: dict[str, float] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


class Pacer:
    """Spaces requests `1 / rate` seconds apart; without a rate, does not hold anyone back."""

    def __init__(self, rate: float | None = None) -> None:
        self._interval = 1 / rate if rate else 0.0
        self._next: float | None = None

    async def wait(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        slot = now if self._next is None else max(now, self._next)
        self._next = slot + self._interval
        await asyncio.sleep(slot - now)


def token_from(spec: str) -> str:
    """The token of the first `name:token` pair of an `INTAKE_API_TOKENS` value."""
    first = spec.split(",", 1)[0]
    _name, _, token = first.partition(":")
    if not token.strip():
        raise ValueError("INTAKE_API_TOKENS must hold name:token pairs")
    return token.strip()


async def put_all(
    client: httpx.AsyncClient,
    kind: str,
    items: Sequence[ConsultantProfile] | Sequence[Assignment],
    *,
    concurrency: int,
    on_done: Callable[[], None],
    result: LoadResult,
    attempts: int = 5,
    rate: float | None = None,
) -> None:
    """PUT every item to `/v1/<kind>/<id>`, at most `rate` a second when given.

    Answers that say "try again" are retried.
    """
    pacer = Pacer(rate)
    pending: asyncio.Queue[ConsultantProfile | Assignment] = asyncio.Queue()
    for item in items:
        pending.put_nowait(item)

    async def worker() -> None:
        while not pending.empty():
            item = pending.get_nowait()
            await pacer.wait()
            result_text = await _put(client, f"/v1/{kind}/{item.id}", item, attempts)
            if result_text is None:
                result.accepted_at[item.id] = time.time()
            else:
                result.refused[item.id] = result_text
            on_done()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _put(
    client: httpx.AsyncClient, path: str, item: ConsultantProfile | Assignment, attempts: int
) -> str | None:
    """None when accepted (202), else why not."""
    body = item.model_dump(mode="json")
    problem = "not sent"
    for attempt in range(attempts):
        try:
            response = await client.put(path, json=body)
        except httpx.TransportError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 202:
                return None
            problem = f"HTTP {response.status_code}: {response.text[:300]}"
            if response.status_code not in _RETRIED_STATUSES:
                return problem
        await asyncio.sleep(0.2 * 2**attempt)
    return problem
