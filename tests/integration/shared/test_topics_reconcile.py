"""`koppel.topics` against the real broker: Koppel's keys set, an operator's overrides kept,
partition counts changed only when asked and never on the key-pinned state topics.

Each test owns topics with unique names (deleted afterwards); the refusal test names a
canonical topic but is refused before anything is changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from koppel.topic_reconciliation import PartitionsRefusedError, reconcile_topics
from koppel.topics import CONSULTANTS, TOPICS, TopicSpec

pytestmark = pytest.mark.integration

WEEK_MS = str(7 * 24 * 3600 * 1000)


@pytest.fixture
async def admin(kafka: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def topic(admin: AIOKafkaAdminClient, unique_id: str) -> AsyncIterator[str]:
    name = f"koppel-test-topics-{unique_id}.v1"
    await admin.create_topics([NewTopic(name, 2, 1, topic_configs={"retention.ms": "3600000"})])
    await _partitions(admin, name, 2)
    yield name
    await admin.delete_topics([name])


async def _dynamic_config(admin: AIOKafkaAdminClient, name: str) -> dict[str, str]:
    (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    (resource,) = response.to_object()["resources"]
    return {
        entry["config_names"]: entry["config_value"]
        for entry in resource["config_entries"]
        if entry["config_source"] == 1  # set on the topic itself
    }


async def _partitions(admin: AIOKafkaAdminClient, name: str, expected: int) -> int:
    """The partition count once metadata shows `expected` (or what it shows after 5 s)."""
    count = 0
    for _ in range(50):
        (described,) = await admin.describe_topics([name])
        count = len(described["partitions"])
        if count == expected:
            break
        await asyncio.sleep(0.1)
    return count


async def test_an_operator_override_survives_and_koppels_keys_are_set(
    kafka: str, admin: AIOKafkaAdminClient, topic: str
) -> None:
    await admin.alter_configs(
        [
            ConfigResource(
                ConfigResourceType.TOPIC,
                topic,
                {"retention.ms": "3600000", "segment.ms": "600000", "min.insync.replicas": "1"},
            )
        ]
    )
    spec = TopicSpec(topic, 2, {"retention.ms": WEEK_MS})

    first = await reconcile_topics(kafka, specs=(spec,))
    again = await reconcile_topics(kafka, specs=(spec,))

    assert await _dynamic_config(admin, topic) == {
        "retention.ms": WEEK_MS,
        "segment.ms": "600000",
        "min.insync.replicas": "1",
    }
    assert first.reconfigured == (topic,)
    assert again.reconfigured == (), "an aligned topic is left alone"
    assert first.warnings == again.warnings == ()


async def test_missing_partitions_are_reported_and_added_only_when_asked(
    kafka: str, admin: AIOKafkaAdminClient, topic: str
) -> None:
    spec = TopicSpec(topic, 3, {"retention.ms": WEEK_MS})

    told = await reconcile_topics(kafka, specs=(spec,))
    assert await _partitions(admin, topic, 2) == 2
    (warning,) = told.warnings
    assert f"{topic} has 2 partitions, the spec 3" in warning
    assert "--add-partitions" in warning

    grown = await reconcile_topics(kafka, specs=(spec,), add_partitions=True)
    assert await _partitions(admin, topic, 3) == 3
    assert grown.partitions_added == (topic,)
    assert grown.warnings == ()


async def test_more_partitions_than_the_spec_is_a_warning(
    kafka: str, admin: AIOKafkaAdminClient, topic: str
) -> None:
    done = await reconcile_topics(kafka, specs=(TopicSpec(topic, 1, {}),), add_partitions=True)
    (warning,) = done.warnings
    assert "has 2 partitions, the spec 1" in warning
    assert await _partitions(admin, topic, 2) == 2


async def test_partitions_are_never_added_to_the_consultants_topic(
    kafka: str, admin: AIOKafkaAdminClient
) -> None:
    canonical = {spec.name: spec for spec in TOPICS}[CONSULTANTS]
    before = await _partitions(admin, CONSULTANTS, 6)
    bigger = TopicSpec(CONSULTANTS, before + 1, canonical.config)

    with pytest.raises(PartitionsRefusedError, match="keys would move"):
        await reconcile_topics(kafka, specs=(bigger,), add_partitions=True)
    assert await _partitions(admin, CONSULTANTS, before) == before

    told = await reconcile_topics(kafka, specs=(bigger,))
    (warning,) = told.warnings
    assert "not changed: new partitions would move keys" in warning
