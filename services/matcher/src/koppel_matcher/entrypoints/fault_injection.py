"""A deliberate crash between the database commit and the Kafka commit, for the crash test.

`MATCHER_TEST_CRASH_AFTER_DB_COMMITS=n` makes the process SIGKILL itself right after its
n-th database commit of a batch that published something, before that batch's Kafka
transaction commits: the one window where the database is ahead of Kafka. An external
SIGKILL rarely lands exactly there, so the test opens it on purpose. Unset in production.
"""

from __future__ import annotations

import os
import signal


class CrashPoint:
    def __init__(self, after_commits: int) -> None:
        self._remaining = after_commits

    def database_committed(self) -> None:
        self._remaining -= 1
        if self._remaining <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
