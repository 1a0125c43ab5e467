"""A raw record with a clear webhook secret that is dead-lettered keeps it only sealed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from koppel import dead_letters
from koppel.cloudevents import CloudEvent, encode
from koppel.secret_sealing import SecretKeyring
from koppel.topics import RAW, dlq
from koppel_intake.adapters.kafka_producer import KafkaEventPublisher
from koppel_testing import WEBHOOK_SECRET as SECRET

pytestmark = pytest.mark.integration

Body = Callable[..., dict[str, Any]]


async def test_a_dead_lettered_profile_keeps_its_webhook_secret_only_sealed(
    publisher: KafkaEventPublisher,
    start_consumer: Callable[..., Awaitable[Any]],
    raw_producer: AIOKafkaProducer,
    reader: Callable[[str], Awaitable[Any]],
    make_consultant: Body,
    new_id: Callable[[str], str],
    keyring: SecretKeyring,
) -> None:
    consultant_id = new_id("C")
    profile = make_consultant(
        consultant_id,
        level="not-a-level",
        notification={
            "channels": ["webhook"],
            "webhook_url": "https://hooks.example.org/koppel",
            "webhook_secret": SECRET,
        },
    )
    upstream = CloudEvent(
        id=str(uuid.uuid4()),
        source="/upstream/crm",
        type="nl.koppel.consultant.upserted",
        subject=consultant_id,
        data=profile,
    )
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
