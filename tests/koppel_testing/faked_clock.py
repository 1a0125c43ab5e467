"""The wall clock of a service process, set by the test: libfaketime (Debian's package,
installed by deploy/local/faketime.sh) preloaded into the process reads an offset from a
file at every clock call, so the test moves the process's time while it runs; monotonic
time stays real, so timeouts and sleeps are unaffected.

Only set it into the past of the real clock, or less than an hour ahead: the records the
process produces carry its faked time, and Kafka brokers refuse timestamps more than
`log.message.timestamp.after.max.ms` (one hour) in the future.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")

needs_libfaketime = pytest.mark.skipif(
    not LIBFAKETIME.exists() and not os.environ.get("CI"),
    reason="no libfaketime: run deploy/local/faketime.sh (CI installs it and runs this)",
)


class FakedClock:
    """The offset file of processes started with `environment()`."""

    def __init__(self, path: Path, moment: datetime) -> None:
        self._path = path
        self.set(moment)

    def set(self, moment: datetime) -> None:
        """From now on the processes' clocks read `moment`, and run on from there."""
        offset = round((moment - datetime.now(UTC)).total_seconds())
        staged = self._path.with_suffix(".staged")
        staged.write_text(f"{offset:+d}\n")
        staged.replace(self._path)  # a process never reads half a file

    def environment(self) -> dict[str, str]:
        """The variables that make a process read its clock from this file."""
        return {
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME_TIMESTAMP_FILE": str(self._path),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }
