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
from koppel_testing.integration_notifier import NotifierRig, has_statuses
from koppel_testing.kafka_reading import TopicReader

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
    rig: NotifierRig,
    keyring: SecretKeyring,
) -> None:
    consultant, path, _ = rig.named("sealed")
    body = builders.consultant_document(
        consultant,
        notification={
            "channels": ["webhook"],
            "webhook_url": rig.receiver.url(path),
            "webhook_secret": SECRET,
        },
    )
    assert body["notification"]["webhook_secret"] == SECRET

    async with rig.notifier() as running:
        response = await intake_api.put(f"/v1/consultants/{consultant}", json=body)
        assert response.status_code == 202, response.text

        [record] = await consultants_topic.wait_until(consultant.encode(), bool)
        _assert_no_clear_secret(record.value)
        for _name, header in record.headers:
            _assert_no_clear_secret(header)
        assert b'"webhook_secret":"sealed:v1:' in record.value

        await rig.wait(lambda: _stored_secret(running, consultant), what="the contact stored")
        stored = await _stored_secret(running, consultant)
        assert stored is not None
        assert is_sealed(stored)
        assert keyring.open(stored, consultant_id=consultant) == SECRET

        match_id = await rig.kafka.found(consultant, rig.assignment())
        await rig.wait(lambda: rig.receiver.at(path), what="the webhook")

    hook = rig.receiver.one_message(path)
    document = Webhook(SECRET).verify(hook.body, hook.headers)
    assert document["data"]["match_id"] == match_id


async def test_a_clear_secret_produced_past_intake_is_stored_sealed(
    rig: NotifierRig, keyring: SecretKeyring
) -> None:
    who = rig.named("clear")
    async with rig.notifier() as running:
        await rig.subscribe(who)
        await rig.wait(lambda: _stored_secret(running, who.id), what="the contact stored")
        stored = await _stored_secret(running, who.id)
        await rig.kafka.found(who.id, rig.assignment())
        await rig.arrived(who, "webhook")

    assert stored is not None
    assert SECRET not in stored
    assert keyring.open(stored, consultant_id=who.id) == SECRET
    hook = rig.receiver.one_message(who.path)
    Webhook(SECRET).verify(hook.body, hook.headers)


@pytest.mark.parametrize(
    ("sealed_by", "code"),
    [
        ("unknown key", "webhook_secret_unknown_key"),
        ("other consultant", "webhook_secret_not_authentic"),
    ],
)
async def test_a_secret_that_does_not_open_fails_the_delivery_with_a_code_once(
    rig: NotifierRig,
    keyring: SecretKeyring,
    sealed_by: str,
    code: str,
) -> None:
    who = rig.named("unopened")
    sealed = (
        SecretKeyring.parse(new_key("retired")).seal(SECRET, consultant_id=who.id)
        if sealed_by == "unknown key"
        else keyring.seal(SECRET, consultant_id=f"someone-else-{rig.unique_id}")
    )
    async with rig.notifier() as running:
        await rig.subscribe(who, secret=sealed)
        await rig.kafka.found(who.id, rig.assignment())
        await rig.wait(
            lambda: has_statuses(running, who.id, {"failed"}), what="the delivery failed"
        )
        await asyncio.sleep(1.0)  # several sender polls: the row must not be claimed again
        [row] = await rig.rows(running, who.id)
        assert row["last_error"] == code
        assert row["attempts"] == 1
        assert running.tasks
        assert not any(task.done() for task in running.tasks)
    assert rig.hooks(who) == []
