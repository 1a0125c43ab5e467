"""Every Kafka topic Koppel owns, with its settings.

`python -m koppel.topics` makes the broker agree with `TOPICS` (creates missing topics,
sets the config keys Koppel manages); the code that does so is `koppel.topic_reconciliation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RAW = "koppel.intake.raw.v1"
ASSIGNMENTS = "koppel.assignments.v1"
CONSULTANTS = "koppel.consultants.v1"
MATCHES = "koppel.matches.v1"
NOTIFICATIONS = "koppel.notifications.v1"
RESPONSES = "koppel.responses.v1"


def dlq(topic: str) -> str:
    """The dead-letter topic of `topic`."""
    return f"{topic}.dlq"


_DAY_MS = 24 * 3600 * 1000


def _gone_within(days: int) -> dict[str, str]:
    """Delete-policy settings under which every record is gone `days` days after it was written.

    The broker deletes whole closed segments once their newest record is past `retention.ms`,
    so a record lives at most `segment.ms` + `retention.ms` (plus the broker's
    `log.retention.check.interval.ms`, 5 minutes by default). These topics carry personal
    data, so that bound is the time an erasure takes to reach them (DOMAIN.md section 5).
    """
    return {"retention.ms": str((days - 1) * _DAY_MS), "segment.ms": str(_DAY_MS)}


_COMPACTED = {
    "cleanup.policy": "compact",
    "min.compaction.lag.ms": str(60_000),
    # Erasure tombstones must stay long enough for every consumer to see them, then go.
    "delete.retention.ms": str(_DAY_MS),
    # Bound how long an erased profile can linger in the active segment before compaction.
    "max.compaction.lag.ms": str(_DAY_MS),
}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


DEFAULT_PARTITIONS = 6
# Keyed and compacted: a key's latest record must stay in one partition. New partitions
# send a key's next record elsewhere while the old one stays where it was (compaction works
# per partition), so two matcher shards would each hold a version of one consultant.
KEY_PINNED = frozenset({ASSIGNMENTS, CONSULTANTS, RESPONSES})

# Days after which a record of a delete-policy topic is gone, at the latest: the bound on
# how long personal data outlives an erasure there (docs/operations.md, "GDPR erasure").
# Raw events hold whole profiles with webhook secrets and are needed only until intake has
# routed them; a dead letter must be dealt with (or replayed) within its window.
RAW_DAYS = 4
EVENT_DAYS = 7
DEAD_LETTER_DAYS = 14

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(RAW, DEFAULT_PARTITIONS, _gone_within(RAW_DAYS)),
    TopicSpec(ASSIGNMENTS, DEFAULT_PARTITIONS, _COMPACTED),
    TopicSpec(CONSULTANTS, DEFAULT_PARTITIONS, _COMPACTED),
    TopicSpec(MATCHES, DEFAULT_PARTITIONS, _gone_within(EVENT_DAYS)),
    TopicSpec(NOTIFICATIONS, DEFAULT_PARTITIONS, _gone_within(EVENT_DAYS)),
    TopicSpec(RESPONSES, DEFAULT_PARTITIONS, _COMPACTED),
    *(
        TopicSpec(dlq(name), 1, _gone_within(DEAD_LETTER_DAYS))
        for name in (RAW, ASSIGNMENTS, CONSULTANTS, MATCHES, NOTIFICATIONS, RESPONSES)
    ),
)


if __name__ == "__main__":
    from koppel.topic_reconciliation import main

    main()
