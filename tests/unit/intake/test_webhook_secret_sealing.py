"""Intake lets no webhook secret out in clear: not on the canonical topic, not in a DLQ."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from koppel import dead_letters
from koppel.cloudevents import CloudEvent, Headers, decode, encode, encode_binary
from koppel.secret_sealing import SecretKeyring, new_key
from koppel.topics import CONSULTANTS, RAW, dlq
from koppel_intake.adapters.memory_publisher import InMemoryPublisher
from koppel_intake.service_layer.raw_routing import IncomingRecord, Routed, route
from koppel_testing import WEBHOOK_SECRET as SECRET
from koppel_testing.builders import consultant_document, webhook_notification

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
Encoder = Callable[[CloudEvent], tuple[bytes, list[tuple[str, bytes]]]]
CLEAR = (SECRET.encode(), SECRET.removeprefix("whsec_").encode())


def consultant(**changes: Any) -> dict[str, Any]:
    """Consultant C-1, reached by a webhook whose secret these tests follow."""
    return consultant_document("C-1", notification=webhook_notification(), **changes)


def assert_no_clear_secret(value: bytes | None) -> None:
    assert value is not None
    for clear in CLEAR:
        assert clear not in value


def _route(
    keyring: SecretKeyring, value: bytes, headers: Headers = (), key: bytes = b"C-1"
) -> Routed:
    record = IncomingRecord(
        topic=RAW, partition=0, offset=9, key=key, value=value, headers=tuple(headers)
    )
    return route(record, keyring=keyring, now=NOW)


def _upstream(data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(
        id="up-1", source="/crm", type="nl.koppel.consultant.upserted", subject="C-1", data=data
    )


# ------------------------------------------------------------------ HTTP


async def test_a_sealed_secret_for_this_consultant_passes_unchanged(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    keyring: SecretKeyring,
) -> None:
    body = consultant()
    sealed = keyring.seal(SECRET, consultant_id="C-1")
    body["notification"]["webhook_secret"] = sealed

    response = await client.put("/v1/consultants/C-1", json=body, headers=auth)

    assert response.status_code == 202, response.text
    [record] = publisher.records
    assert decode(record.value, record.headers).data["notification"]["webhook_secret"] == sealed


@pytest.mark.parametrize("sealed_for", ["C-2", "other-key"])
async def test_a_sealed_secret_that_does_not_open_here_is_a_422_naming_the_field(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    keyring: SecretKeyring,
    sealed_for: str,
) -> None:
    body = consultant()
    body["notification"]["webhook_secret"] = (
        keyring.seal(SECRET, consultant_id="C-2")
        if sealed_for == "C-2"
        else SecretKeyring.parse(new_key("elsewhere")).seal(SECRET, consultant_id="C-1")
    )

    response = await client.put("/v1/consultants/C-1", json=body, headers=auth)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "body.notification.webhook_secret"
    assert publisher.records == []


async def test_a_malformed_sealed_secret_is_a_422_naming_the_field(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
) -> None:
    body = consultant()
    body["notification"]["webhook_secret"] = "sealed:v1:k:not-enough"

    response = await client.put("/v1/consultants/C-1", json=body, headers=auth)

    assert response.status_code == 422
    fields = [error["field"] for error in response.json()["errors"]]
    assert "body.notification.webhook_secret" in fields
    assert publisher.records == []


# ------------------------------------------------------------------ the raw topic


@pytest.mark.parametrize("encoder", [encode, encode_binary], ids=["structured", "binary"])
def test_a_clear_secret_from_the_raw_topic_is_sealed_on_the_canonical_topic(
    keyring: SecretKeyring, encoder: Encoder
) -> None:
    value, headers = encoder(_upstream(consultant()))

    routed = _route(keyring, value, headers)

    assert not routed.dead_lettered
    assert routed.record.topic == CONSULTANTS
    assert_no_clear_secret(routed.record.value)
    sealed = decode(routed.record.value, routed.record.headers).data["notification"][
        "webhook_secret"
    ]
    assert keyring.open(sealed, consultant_id="C-1") == SECRET


def test_a_replayed_canonical_event_keeps_its_sealed_secret(keyring: SecretKeyring) -> None:
    first = _route(keyring, *encode(_upstream(consultant())))
    assert first.record.value is not None

    again = _route(keyring, first.record.value, first.record.headers)

    assert not again.dead_lettered
    assert again.record.value == first.record.value


def test_a_secret_sealed_for_another_consultant_is_dead_lettered(keyring: SecretKeyring) -> None:
    body = consultant()
    body["notification"]["webhook_secret"] = keyring.seal(SECRET, consultant_id="C-2")

    routed = _route(keyring, *encode(_upstream(body)))

    assert routed.code == "invalid_payload"
    reason = (dict(routed.record.headers)[dead_letters.REASON] or b"").decode()
    assert reason.startswith("data.notification.webhook_secret: ")
    assert "webhook_secret_not_authentic" in reason


# ------------------------------------------------------------------ dead letters


@pytest.mark.parametrize("encoder", [encode, encode_binary], ids=["structured", "binary"])
def test_a_dead_letter_keeps_the_secret_only_sealed_and_says_so(
    keyring: SecretKeyring, encoder: Encoder
) -> None:
    value, headers = encoder(_upstream(consultant(level="not-a-level")))

    routed = _route(keyring, value, headers)

    assert routed.code == "invalid_payload"
    assert routed.record.topic == dlq(RAW)
    assert_no_clear_secret(routed.record.value)
    assert dict(routed.record.headers)[dead_letters.SCRUBBED] == (
        b"notification.webhook_secret sealed"
    )
    assert routed.record.value is not None
    document = json.loads(routed.record.value)
    profile = document["data"] if "specversion" in document else document
    assert profile["level"] == "not-a-level"
    sealed = profile["notification"]["webhook_secret"]
    assert keyring.open(sealed, consultant_id="C-1") == SECRET


def test_a_dead_letter_without_a_consultant_id_loses_the_secret(keyring: SecretKeyring) -> None:
    body = consultant()
    del body["id"]

    routed = _route(keyring, *encode(_upstream(body)))

    assert routed.dead_lettered
    assert_no_clear_secret(routed.record.value)
    assert routed.record.value is not None
    assert "webhook_secret" not in json.loads(routed.record.value)["data"]["notification"]
    assert b"removed" in (dict(routed.record.headers)[dead_letters.SCRUBBED] or b"")


def test_a_secret_in_a_value_that_is_not_json_is_removed(keyring: SecretKeyring) -> None:
    value = b'{"broken": "' + SECRET.encode() + b'", '

    routed = _route(keyring, value, [("content-type", b"application/cloudevents+json")])

    assert routed.code == "invalid_envelope"
    assert_no_clear_secret(routed.record.value)
    assert b"removed" in (dict(routed.record.headers)[dead_letters.SCRUBBED] or b"")


def test_a_dead_letter_without_a_secret_is_passed_on_byte_for_byte(
    keyring: SecretKeyring,
) -> None:
    value = b'{"specversion": "1.0", "id": "x", "type": "nope", "source": "/s", "data": {}}'

    routed = _route(keyring, value)

    assert routed.dead_lettered
    assert routed.record.value == value
    assert dead_letters.SCRUBBED not in dict(routed.record.headers)


def test_a_dead_letter_with_a_lone_surrogate_escape_is_still_scrubbed(
    keyring: SecretKeyring,
) -> None:
    body = consultant(name="Sanne de Vries", level="not-a-level")
    value, headers = encode(_upstream(body))
    value = value.replace(b'"Sanne de Vries"', b'"Sanne \\ud800"')

    routed = _route(keyring, value, headers)

    assert routed.code == "invalid_payload"
    assert_no_clear_secret(routed.record.value)
    assert routed.record.value is not None
    assert b"\\ud800" in routed.record.value
