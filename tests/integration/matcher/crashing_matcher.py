"""The matcher as `koppel-matcher` runs it, but killing itself in the middle of a commit.

    python tests/integration/matcher/crashing_matcher.py N

The process SIGKILLs itself right after its N-th database commit of a transaction that
published match events, before that transaction's Kafka commit: the one window where the
database is ahead of Kafka. An external SIGKILL rarely lands exactly there, so the crash
tests open it on purpose, through the unit-of-work class `bootstrap.serve` accepts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from koppel.settings import settings_from_environment
from koppel_matcher.adapters.unit_of_work import KafkaPostgresUnitOfWork, OpenTransaction
from koppel_matcher.bootstrap import serve
from koppel_matcher.settings import Settings as MatcherSettings


class CrashingUnitOfWork(KafkaPostgresUnitOfWork):
    """Counts the database commits of every shard of the process, and dies at the last."""

    commits_left = 1

    async def commit_database(self, txn: OpenTransaction) -> None:
        await super().commit_database(txn)
        if txn.events:
            CrashingUnitOfWork.commits_left -= 1
            if CrashingUnitOfWork.commits_left <= 0:
                os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    CrashingUnitOfWork.commits_left = int(sys.argv[1])
    settings = settings_from_environment(MatcherSettings, "koppel-matcher")
    asyncio.run(serve(settings, unit_of_work=CrashingUnitOfWork))


if __name__ == "__main__":
    main()
