"""Records webhook successes in batches: one transaction for many deliveries.

At hundreds of webhooks a second, a transaction per success would cost more than the HTTP
call. The first success of a batch waits here `max_wait_s` for others to join (at most
`max_batch` in one); the sending task awaits its own future, so its slot is held until the
row says `delivered`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

import structlog

from koppel_notifier.domain.model import Delivery
from koppel_notifier.service_layer.ports import SuccessStore

log = structlog.get_logger(__name__)

_Item = tuple[Delivery, Sequence[str], asyncio.Future[None]]


class SuccessBatcher:
    def __init__(
        self,
        store: SuccessStore,
        clock: Callable[[], datetime],
        *,
        max_batch: int = 200,
        max_wait_s: float = 0.005,
    ) -> None:
        self._store = store
        self._clock = clock
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()

    async def record(self, delivery: Delivery, match_ids: Sequence[str]) -> None:
        """Returns once the success is committed (raises if the write failed)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((delivery, match_ids, done))
        await done

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            # One timer per batch, not a wait_for (a task and a timer) per success.
            await asyncio.sleep(self._max_wait_s)
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._store.delivered_many(
                    [(delivery, ids) for delivery, ids, _ in batch], now=self._clock()
                )
            except Exception as exc:
                log.warning("recording successes failed", error=str(exc), count=len(batch))
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)
