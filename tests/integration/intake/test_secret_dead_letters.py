"""A raw record with a clear webhook secret that is dead-lettered keeps it only sealed."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaProducer

from koppel import dead_letters
from koppel.cloudevents import encode
from koppel.secret_sealing import SecretKeyring
from koppel.topics import RAW, dlq
from koppel_intake.adapters.kafka_producer import KafkaEventPublisher
from koppel_testing import WEBHOOK_SECRET as SECRET
from koppel_testing import builders
from koppel_testing.integration_intake import StartConsumer
from koppel_testing.kafka_publishing import upstream_event
from koppel_testing.kafka_reading import OpenReader

pytestmark = pytest.mark.integration


async def test_a_dead_lettered_profile_keeps_its_webhook_secret_only_sealed(
    publisher: KafkaEventPublisher,
    start_consumer: StartConsumer,
    raw_producer: AIOKafkaProducer,
    reader: OpenReader,
    new_id: Callable[[str], str],
    keyring: SecretKeyring,
) -> None:
    consultant_id = new_id("C")
    profile = builders.consultant_document(
        consultant_id,
        level="not-a-level",
        notification={
            "channels": ["webhook"],
            "webhook_url": "https://hooks.example.org/koppel",
            "webhook_secret": SECRET,
        },
    )
    upstream = upstream_event("nl.koppel.consultant.upserted", consultant_id, profile)
    value, headers = encode(upstream)
    assert SECRET.encode() in value
    dead = await reader(dlq(RAW))
    await start_consumer(publisher)

    await raw_producer.send_and_wait(RAW, value, key=consultant_id.encode(), headers=headers)

    [letter] = await dead.wait_for(consultant_id.encode())
    assert SECRET.encode() not in letter.value
    assert SECRET.removeprefix("whsec_").encode() not in letter.value
    found = dict(letter.headers)
    assert found[dead_letters.CODE] == b"invalid_payload"
    assert found[dead_letters.SCRUBBED] == b"notification.webhook_secret sealed"
    data = json.loads(letter.value)["data"]
    assert data["level"] == "not-a-level"
    sealed = data["notification"]["webhook_secret"]
    assert keyring.open(sealed, consultant_id=consultant_id) == SECRET
