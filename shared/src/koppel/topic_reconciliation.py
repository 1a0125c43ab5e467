"""Making the broker's topics agree with `koppel.topics.TOPICS`: `python -m koppel.topics`.

It creates missing topics and sets the config keys Koppel manages on existing ones, leaving
every other override an operator made alone; it is safe to run at every deploy (the compose
job, the Kubernetes Job, `make up`, tests). It never changes a partition count unless asked
(`--add-partitions`), and never on the keyed, compacted state topics, where new partitions
would move keys (see docs/operations.md, "Partitions").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

from koppel import kafka_clients
from koppel.kafka_clients import KafkaConnection
from koppel.settings import kafka_from_environment
from koppel.topics import KEY_PINNED, TOPICS, TopicSpec

# DescribeConfigs' config_source for a value set on the topic itself (kafka-configs --alter).
_DYNAMIC_TOPIC_CONFIG = 1


class PartitionsRefusedError(Exception):
    """`--add-partitions` was asked for a topic whose keys must not move."""


@dataclass(frozen=True)
class Reconciliation:
    """What one run did, and what it saw but left to the operator."""

    created: tuple[str, ...] = ()
    reconfigured: tuple[str, ...] = ()
    partitions_added: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def merged_config(current: Mapping[str, str], managed: Mapping[str, str]) -> dict[str, str] | None:
    """The topic's whole dynamic config with Koppel's keys set; None when nothing changes.

    Kafka's AlterConfigs (the only config call aiokafka 0.14 has; no IncrementalAlterConfigs)
    replaces the topic's entire dynamic config, so the operator's own overrides are read
    first and sent back unchanged.
    """
    merged = {**current, **managed}
    return None if merged == dict(current) else merged


def partition_warning(topic: str, actual: int, wanted: int, *, adding: bool) -> str | None:
    """What to tell the operator about a partition count that differs from the spec."""
    if actual == wanted:
        return None
    if actual > wanted:
        message = (
            f"warning: {topic} has {actual} partitions, the spec {wanted}; Kafka cannot remove "
            "partitions and Koppel works with more."
        )
        if topic in KEY_PINNED:
            message += (
                " If partitions were added after records were written, keys have moved: a "
                "consultant or assignment can be held by two matcher shards at once. See "
                "docs/operations.md, section Partitions."
            )
        return message
    if topic in KEY_PINNED:
        return (
            f"warning: {topic} has {actual} partitions, the spec {wanted}; not changed: new "
            "partitions would move keys between matcher shards. If the topic is empty, delete "
            "it and run this again; otherwise migrate (docs/operations.md, section Partitions)."
        )
    if adding:
        return None
    return (
        f"warning: {topic} has {actual} partitions, the spec {wanted}; not changed. Run with "
        "--add-partitions to add them (per-key order holds only for records written after)."
    )


async def reconcile_topics(
    kafka: KafkaConnection | str,
    *,
    replication_factor: int = 1,
    specs: tuple[TopicSpec, ...] = TOPICS,
    add_partitions: bool = False,
) -> Reconciliation:
    """Create missing topics, set Koppel's config keys on the others, check partition counts."""
    admin = kafka_clients.admin(kafka, client_id="koppel-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        present = [spec for spec in specs if spec.name in existing]
        counts = await _partition_counts(admin, [spec.name for spec in present]) if present else {}
        if add_partitions:
            refused = [
                spec.name
                for spec in present
                if spec.name in KEY_PINNED and counts[spec.name] < spec.partitions
            ]
            if refused:
                raise PartitionsRefusedError(
                    f"refusing to add partitions to {', '.join(refused)}: keys would move "
                    "between matcher shards (docs/operations.md, section Partitions); "
                    "nothing was changed"
                )
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
        reconfigured = await _reconcile_configs(admin, [s for s in present if s.config])
        grow = {
            spec.name: NewPartitions(total_count=spec.partitions)
            for spec in present
            if add_partitions and counts[spec.name] < spec.partitions
        }
        if grow:
            await admin.create_partitions(grow)
        warnings = [
            warning
            for spec in present
            if (
                warning := partition_warning(
                    spec.name, counts[spec.name], spec.partitions, adding=add_partitions
                )
            )
        ]
        return Reconciliation(
            created=tuple(spec.name for spec in missing),
            reconfigured=tuple(reconfigured),
            partitions_added=tuple(grow),
            warnings=tuple(warnings),
        )
    finally:
        await admin.close()


async def ensure_topics(
    kafka: KafkaConnection | str,
    *,
    replication_factor: int = 1,
    specs: tuple[TopicSpec, ...] = TOPICS,
) -> list[str]:
    """Create missing topics and reconcile the config of all; return the names created."""
    done = await reconcile_topics(kafka, replication_factor=replication_factor, specs=specs)
    return list(done.created)


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Partitions per topic; a topic created a moment ago has none in metadata yet, so wait."""
    counts: dict[str, int] = {}
    for _ in range(50):
        described = await admin.describe_topics(names)
        counts = {
            topic["topic"]: len(topic["partitions"])
            for topic in described
            if not topic["error_code"] and topic["partitions"]
        }
        if len(counts) == len(set(names)):
            return counts
        await asyncio.sleep(0.1)
    unknown = sorted(set(names) - set(counts))
    raise RuntimeError(f"no partition metadata for {', '.join(unknown)} after 5 s")


async def _reconcile_configs(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> list[str]:
    """Set each spec's keys on its topic, keeping the other dynamic overrides; names changed."""
    if not specs:
        return []
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, spec.name) for spec in specs]
    )
    current: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.to_object()["resources"]:
            _raise_for(resource, "describe")
            current[resource["resource_name"]] = _dynamic_config(resource)
    changes = [
        (spec.name, merged)
        for spec in specs
        if (merged := merged_config(current.get(spec.name, {}), spec.config)) is not None
    ]
    if changes:
        for response in await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, config) for name, config in changes]
        ):
            for resource in response.to_object()["resources"]:
                _raise_for(resource, "alter")
    return [name for name, _ in changes]


def _dynamic_config(resource: dict[str, Any]) -> dict[str, str]:
    config: dict[str, str] = {}
    for entry in resource["config_entries"]:
        if entry["config_source"] != _DYNAMIC_TOPIC_CONFIG:
            continue
        if entry["config_value"] is None:
            # A sensitive value is not returned, so it could not be written back.
            raise RuntimeError(
                f"{resource['resource_name']}: {entry['config_names']} is a sensitive topic "
                "override that cannot be read back; set Koppel's keys with kafka-configs instead"
            )
        config[entry["config_names"]] = entry["config_value"]
    return config


def _raise_for(resource: dict[str, Any], action: str) -> None:
    if resource["error_code"]:
        error = for_code(resource["error_code"])
        raise error(f"{action} config of {resource['resource_name']}: {resource['error_message']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m koppel.topics", description="Create or reconcile Koppel's Kafka topics."
    )
    parser.add_argument(
        "--bootstrap-servers",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
    )
    parser.add_argument("--replication-factor", type=int, default=1)
    parser.add_argument(
        "--add-partitions",
        action="store_true",
        help="add partitions to topics that have fewer than the spec (never to "
        + ", ".join(sorted(KEY_PINNED))
        + ")",
    )
    args = parser.parse_args()
    try:
        done = asyncio.run(
            reconcile_topics(
                kafka_from_environment("koppel.topics", args.bootstrap_servers),
                replication_factor=args.replication_factor,
                add_partitions=args.add_partitions,
            )
        )
    except PartitionsRefusedError as refused:
        raise SystemExit(f"koppel.topics: {refused}") from None
    for warning in done.warnings:
        print(warning, file=sys.stderr)
    print(
        f"topics: {len(TOPICS)} reconciled, {len(done.created)} created, "
        f"{len(done.reconfigured)} reconfigured, {len(done.partitions_added)} given partitions"
    )
