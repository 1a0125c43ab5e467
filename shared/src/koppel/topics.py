"""Every Kafka topic Koppel owns, with its settings, and the command that reconciles them.

`python -m koppel.topics` creates missing topics and aligns the config of existing ones;
it is safe to run at every deploy (the compose job, the Kubernetes Job, `make up`, tests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

RAW = "koppel.intake.raw.v1"
ASSIGNMENTS = "koppel.assignments.v1"
CONSULTANTS = "koppel.consultants.v1"
MATCHES = "koppel.matches.v1"
NOTIFICATIONS = "koppel.notifications.v1"


def dlq(topic: str) -> str:
    """The dead-letter topic of `topic`."""
    return f"{topic}.dlq"


_DAY_MS = 24 * 3600 * 1000
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

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(RAW, DEFAULT_PARTITIONS, {"retention.ms": str(7 * _DAY_MS)}),
    TopicSpec(ASSIGNMENTS, DEFAULT_PARTITIONS, _COMPACTED),
    TopicSpec(CONSULTANTS, DEFAULT_PARTITIONS, _COMPACTED),
    TopicSpec(MATCHES, DEFAULT_PARTITIONS, {"retention.ms": str(30 * _DAY_MS)}),
    TopicSpec(NOTIFICATIONS, DEFAULT_PARTITIONS, {"retention.ms": str(30 * _DAY_MS)}),
    *(
        TopicSpec(dlq(name), 1, {"retention.ms": str(90 * _DAY_MS)})
        for name in (RAW, ASSIGNMENTS, CONSULTANTS, MATCHES, NOTIFICATIONS)
    ),
)


async def ensure_topics(
    bootstrap_servers: str, *, replication_factor: int = 1, specs: tuple[TopicSpec, ...] = TOPICS
) -> list[str]:
    """Create missing topics and reconcile the config of all; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="koppel-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        created: list[str] = []
        if missing:
            # A concurrent run may create them first; the config pass below still applies.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            name=spec.name,
                            num_partitions=spec.partitions,
                            replication_factor=replication_factor,
                            topic_configs=spec.config,
                        )
                        for spec in missing
                    ]
                )
            created = [spec.name for spec in missing]
        present = [spec for spec in specs if spec.name in existing and spec.config]
        if present:
            await admin.alter_configs(
                [
                    ConfigResource(ConfigResourceType.TOPIC, spec.name, spec.config)
                    for spec in present
                ]
            )
        return created
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Create or reconcile Koppel's Kafka topics.")
    parser.add_argument(
        "--bootstrap-servers",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
    )
    parser.add_argument("--replication-factor", type=int, default=1)
    args = parser.parse_args()
    created = asyncio.run(
        ensure_topics(args.bootstrap_servers, replication_factor=args.replication_factor)
    )
    print(f"topics: {len(TOPICS)} reconciled, {len(created)} created")


if __name__ == "__main__":
    main()
