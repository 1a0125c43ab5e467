"""Webhook secrets cross Kafka and rest in PostgreSQL sealed; the notifier opens them to sign.

The profile goes in through the real intake app (its production wiring and Kafka
publisher), so what is checked on koppel.consultants.v1 is what intake really publishes.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from standardwebhooks import Webhook

from koppel.secret_sealing import SecretKeyring, is_sealed, new_key
from koppel.topics import CONSULTANTS
from koppel_notifier.bootstrap import Notifier
from koppel_testing import WEBHOOK_SECRET as SECRET
from koppel_testing import builders
from koppel_testing.integration_notifier import NotifierFactory, Rows
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import TopicReader
from koppel_testing.receivers import Receiver

pytestmark = pytest.mark.integration

CLEAR_FORMS = (
    SECRET.encode(),
    SECRET.removeprefix("whsec_").encode(),
    base64.b64decode(SECRET.removeprefix("whsec_")),
)


@pytest.fixture
async def consultants_topic(kafka: str) -> AsyncIterator[TopicReader]:
    """A reader of koppel.consultants.v1 from its end as of now."""
    reader = await TopicReader.at_end(kafka, CONSULTANTS)
    yield reader
    await reader.close()


def _assert_no_clear_secret(data: bytes) -> None:
    for clear in CLEAR_FORMS:
        assert clear not in data


async def _stored_secret(running: Notifier, consultant: str) -> str | None:
    value: str | None = await running.pool.fetchval(
        "SELECT webhook_secret FROM notifier_contacts WHERE consultant_id = $1", consultant
    )
    return value


async def test_a_profile_put_through_intake_travels_sealed_and_its_webhook_is_signed(
    intake_api: httpx.AsyncClient,
    consultants_topic: TopicReader,
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    receiver: Receiver,
    keyring: SecretKeyring,
    wait: Wait,
    unique_id: str,
) -> None:
    consultant, path = f"c-sealed-{unique_id}", f"sealed-{unique_id}"
    body = builders.consultant_document(
        consultant,
        notification={
            "channels": ["webhook"],
            "webhook_url": receiver.url(path),
            "webhook_secret": SECRET,
        },
    )
    assert body["notification"]["webhook_secret"] == SECRET

    async with notifier() as running:
        response = await intake_api.put(f"/v1/consultants/{consultant}", json=body)
        assert response.status_code == 202, response.text

        [record] = await consultants_topic.wait_until(consultant.encode(), bool)
        _assert_no_clear_secret(record.value)
        for _name, header in record.headers:
            _assert_no_clear_secret(header)
        assert b'"webhook_secret":"sealed:v1:' in record.value

        await wait(lambda: _stored_secret(running, consultant), what="the contact stored")
        stored = await _stored_secret(running, consultant)
        assert stored is not None
        assert is_sealed(stored)
        assert keyring.open(stored, consultant_id=consultant) == SECRET

        match_id = await kafka_io.found(consultant, builders.assignment(f"a-{unique_id}"))
        await wait(lambda: receiver.at(path), what="the webhook")

    hook = receiver.one_message(path)
    document = Webhook(SECRET).verify(hook.body, hook.headers)
    assert document["data"]["match_id"] == match_id


async def test_a_clear_secret_produced_past_intake_is_stored_sealed(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    receiver: Receiver,
    keyring: SecretKeyring,
    wait: Wait,
    unique_id: str,
) -> None:
    consultant, path = f"c-clear-{unique_id}", f"clear-{unique_id}"
    async with notifier() as running:
        await kafka_io.profile(receiver.subscriber(consultant, path))
        await wait(lambda: _stored_secret(running, consultant), what="the contact stored")
        stored = await _stored_secret(running, consultant)
        await kafka_io.found(consultant, builders.assignment(f"a-{unique_id}"))
        await wait(lambda: receiver.at(path), what="the webhook")

    assert stored is not None
    assert SECRET not in stored
    assert keyring.open(stored, consultant_id=consultant) == SECRET
    Webhook(SECRET).verify(receiver.one_message(path).body, receiver.one_message(path).headers)


@pytest.mark.parametrize(
    ("sealed_by", "code"),
    [
        ("unknown key", "webhook_secret_unknown_key"),
        ("other consultant", "webhook_secret_not_authentic"),
    ],
)
async def test_a_secret_that_does_not_open_fails_the_delivery_with_a_code_once(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    receiver: Receiver,
    keyring: SecretKeyring,
    wait: Wait,
    rows: Rows,
    unique_id: str,
    sealed_by: str,
    code: str,
) -> None:
    consultant, path = f"c-unopened-{unique_id}", f"unopened-{unique_id}"
    sealed = (
        SecretKeyring.parse(new_key("retired")).seal(SECRET, consultant_id=consultant)
        if sealed_by == "unknown key"
        else keyring.seal(SECRET, consultant_id=f"someone-else-{unique_id}")
    )
    async with notifier() as running:
        await kafka_io.profile(receiver.subscriber(consultant, path, secret=sealed))
        await kafka_io.found(consultant, builders.assignment(f"a-{unique_id}"))

        async def failed() -> bool:
            found = await rows(running, consultant)
            return bool(found) and found[0]["status"] == "failed"

        await wait(failed, what="the delivery failed")
        await asyncio.sleep(1.0)  # several sender polls: the row must not be claimed again
        [row] = await rows(running, consultant)
        assert row["last_error"] == code
        assert row["attempts"] == 1
        assert running.tasks
        assert not any(task.done() for task in running.tasks)
    assert receiver.at(path) == []
