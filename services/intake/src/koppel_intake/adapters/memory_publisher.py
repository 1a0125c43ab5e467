"""An in-memory `EventPublisher` for tests and local experiments: nothing leaves the process."""

from __future__ import annotations

from collections.abc import Sequence

from koppel_intake.service_layer.ports import OutgoingRecord, PublishError


class InMemoryPublisher:
    """Keeps what it 'acknowledged'; set `failing` to behave like an unreachable broker."""

    def __init__(self) -> None:
        self.records: list[OutgoingRecord] = []
        self.failing = False

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        if self.failing:
            raise PublishError("broker unavailable (in-memory publisher set to fail)")
        self.records.extend(records)

    async def ready(self) -> bool:
        return not self.failing
