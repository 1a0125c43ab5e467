"""The system clock, behind the `Clock` port."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """The wall clock of the machine (`ports.Clock`)."""

    def now(self) -> datetime:
        return datetime.now(UTC)
