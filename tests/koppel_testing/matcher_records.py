"""The matcher's inputs as its poll loop hands them over, for the matcher's unit tests:
records as the shard's Kafka consumer fetches them, handler calls with the domain specs the
dispatcher translates, and the loop's configuration without timers."""

from __future__ import annotations

import itertools
from typing import Any

from aiokafka import ConsumerRecord

from koppel.cloudevents import CloudEvent, encode, new_event
from koppel.contract import Assignment, ConsultantProfile
from koppel.event_types import EventType, Source
from koppel_matcher.entrypoints.kafka_consumer import ShardConsumerConfig
from koppel_matcher.entrypoints.translation import assignment_spec, profile_document, profile_spec
from koppel_matcher.service_layer.matching import Outgoing, ShardMatcher
from koppel_matcher.service_layer.ports import ShardRepository

_timestamps = itertools.count(1_700_000_000_000)


def config(**changes: Any) -> ShardConsumerConfig:
    """Commits only when something is published or the batches run out (no timer)."""
    values: dict[str, Any] = {
        "kafka": "127.0.0.1:9",
        "group_id": "unit",
        "instance_id": "unit-1",
        "fetch_max_wait_ms": 0,
        "fetch_min_bytes": 1,
        "commit_interval_seconds": 3600.0,
        "sweep_interval_seconds": 3600.0,
    }
    values.update(changes)
    return ShardConsumerConfig(**values)


def raw(
    partition: tuple[str, int],
    offset: int,
    key: str | None,
    value: bytes | None,
    headers: list[tuple[str, bytes]] | None = None,
) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=partition[0],
        partition=partition[1],
        offset=offset,
        timestamp=next(_timestamps),
        timestamp_type=0,
        key=None if key is None else key.encode(),
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=headers or [],
    )


def upserted(
    partition: tuple[str, int], offset: int, item: Assignment | ConsultantProfile, key: str = ""
) -> ConsumerRecord[bytes, bytes]:
    """The record intake writes for `item` (keyed by its id unless `key` says otherwise)."""
    event_type = (
        EventType.ASSIGNMENT_UPSERTED
        if isinstance(item, Assignment)
        else EventType.CONSULTANT_UPSERTED
    )
    event = new_event(event_type, source=Source.INTAKE.value, subject=item.id, data=item)
    value, headers = encode(event)
    return raw(partition, offset, key or item.id, value, headers)


def kinds(events: list[tuple[str, CloudEvent]]) -> list[tuple[str, str, object]]:
    """(type, key, revision or reason) of each published event."""
    result: list[tuple[str, str, object]] = []
    for key, event in events:
        data = event.data
        extra = data["reason"] if event.type == EventType.MATCH_WITHDRAWN else data["revision"]
        result.append((event.type.rsplit(".", 1)[-1], key, extra))
    return result


async def upsert_assignment(
    matcher: ShardMatcher, repository: ShardRepository, item: Assignment, traceparent: str | None
) -> list[Outgoing]:
    """As the shard's poll loop calls the handler: with the assignment's domain spec."""
    return await matcher.assignment_upserted(repository, item, assignment_spec(item), traceparent)


async def upsert_profile(
    matcher: ShardMatcher,
    repository: ShardRepository,
    item: ConsultantProfile,
    traceparent: str | None,
) -> list[Outgoing]:
    """As the shard's poll loop calls the handler: the spec and the stored document."""
    document = profile_document(item)
    return await matcher.profile_upserted(repository, profile_spec(document), document, traceparent)
