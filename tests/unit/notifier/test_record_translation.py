"""Kafka records → commands: tombstones erase, bad records are unusable, profiles → contacts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from koppel.cloudevents import encode, new_event
from koppel.contract import ConsultantProfile, MatchFound, MatchUpdated, MatchWithdrawn
from koppel.event_types import EventType, Source
from koppel.secret_sealing import SecretKeyring, is_sealed, new_key
from koppel.topics import CONSULTANTS, MATCHES
from koppel.vocabulary import VisibleField, WithdrawalReason
from koppel_notifier.domain.commands import ConsultantErased, MatchEvent, ProfileChanged
from koppel_notifier.domain.model import ChannelName, Kind
from koppel_notifier.entrypoints.record_translation import Unusable, translate
from koppel_testing import WEBHOOK_SECRET as SECRET

KEYRING = SecretKeyring.parse(new_key("unit"))


def profile(**changes: Any) -> ConsultantProfile:
    document: dict[str, Any] = {
        "id": "c-1",
        "name": "Anouk de Vries",
        "email": "anouk@example.nl",
        "language": "en",
        "level": "senior",
        "years_experience": 9,
        "disciplines": ["citizen_participation"],
        "home": {"city": "Utrecht", "province": "utrecht"},
        "max_office_days_per_week": 3,
        "available_from": "2026-03-01",
        "hours_per_week": {"min": 24, "max": 32},
        "consent": True,
        "notification": {
            "channels": ["email", "webhook"],
            "mode": "daily_digest",
            "min_score": 0.7,
            "webhook_url": "https://hooks.example.nl/koppel",
            "webhook_secret": SECRET,
        },
    }
    document.update(changes)
    return ConsultantProfile.model_validate(document)


def record(event_type: EventType, data: Any) -> tuple[bytes, list[tuple[str, bytes]]]:
    return encode(new_event(event_type, source=Source.INTAKE, subject="c-1", data=data))


def test_a_tombstone_on_the_consultants_topic_is_an_erasure() -> None:
    assert translate(
        CONSULTANTS, b"c-1", None, [], 1_764_633_600_000, keyring=KEYRING
    ) == ConsultantErased("c-1", datetime(2025, 12, 2, tzinfo=UTC))
    stamped = [("ce_time", b"2026-12-01T10:00:00+00:00")]
    assert translate(
        CONSULTANTS, b"c-1", None, stamped, 1_764_633_600_000, keyring=KEYRING
    ) == ConsultantErased("c-1", datetime(2026, 12, 1, 10, tzinfo=UTC))


def test_a_profile_becomes_a_contact_with_the_secret_kept_sealed() -> None:
    value, headers = record(EventType.CONSULTANT_UPSERTED, profile())
    command = translate(CONSULTANTS, b"c-1", value, headers, keyring=KEYRING)
    assert isinstance(command, ProfileChanged)
    contact = command.contact
    assert command.mode == "daily_digest"
    assert contact.channels == {ChannelName.EMAIL, ChannelName.WEBHOOK}
    assert contact.digest
    assert contact.webhook_secret is not None
    assert is_sealed(contact.webhook_secret)
    assert SECRET not in contact.webhook_secret
    assert KEYRING.open(contact.webhook_secret, consultant_id="c-1") == SECRET
    assert contact.language == "en"
    assert contact.reachable


def test_an_update_is_read_as_its_own_kind_with_what_changed(
    found_payload: dict[str, Any],
) -> None:
    found = MatchFound.model_validate(found_payload)
    changed = [VisibleField.HOURS_PER_WEEK, VisibleField.CLOSES_AT]
    data = MatchUpdated(**found.model_dump(), changed=changed)
    value, headers = record(EventType.MATCH_UPDATED, data)
    command = translate(MATCHES, b"c-1", value, headers, keyring=KEYRING)
    assert isinstance(command, MatchEvent)
    assert (command.notice.kind, command.notice.revision) == (Kind.UPDATED, found.revision)
    assert command.notice.payload["changed"] == ["hours_per_week", "closes_at"]
    assert command.notice.event_key == f"{found.match_id}|match.updated|{found.revision}"


@pytest.mark.parametrize("changes", [{"consent": False}, {"active": False}])
def test_without_consent_or_when_inactive_a_consultant_is_unreachable(
    changes: dict[str, Any],
) -> None:
    value, headers = record(EventType.CONSULTANT_UPSERTED, profile(**changes))
    command = translate(CONSULTANTS, b"c-1", value, headers, keyring=KEYRING)
    assert isinstance(command, ProfileChanged)
    assert not command.contact.reachable


def test_a_withdrawal_is_read_with_its_reason() -> None:
    data = MatchWithdrawn(
        match_id="m-1",
        consultant_id="c-1",
        assignment_id="a-1",
        reason=WithdrawalReason.ASSIGNMENT_FILLED,
    )
    value, headers = record(EventType.MATCH_WITHDRAWN, data)
    command = translate(MATCHES, b"c-1", value, headers, keyring=KEYRING)
    assert isinstance(command, MatchEvent)
    assert command.notice.kind is Kind.WITHDRAWN
    assert command.notice.payload["reason"] == "assignment_filled"
    assert "assignment" not in command.notice.payload


@pytest.mark.parametrize(
    ("topic", "value", "code"),
    [
        (MATCHES, b"{not json", "invalid_envelope"),
        (MATCHES, b'{"specversion": "1.0"}', "invalid_envelope"),
        (MATCHES, None, "invalid_envelope"),
    ],
)
def test_unreadable_records_are_unusable(topic: str, value: bytes | None, code: str) -> None:
    with pytest.raises(Unusable) as caught:
        translate(topic, b"c-1", value, [], keyring=KEYRING)
    assert caught.value.code == code


def test_an_event_on_the_wrong_topic_is_unusable() -> None:
    value, headers = record(EventType.CONSULTANT_UPSERTED, profile())
    with pytest.raises(Unusable, match="does not belong"):
        translate(MATCHES, b"c-1", value, headers, keyring=KEYRING)


def test_a_match_with_invalid_data_names_the_field() -> None:
    value, headers = encode(
        new_event(
            EventType.MATCH_WITHDRAWN,
            source=Source.MATCHER,
            subject="c-1",
            data=MatchWithdrawn(
                match_id="m-1",
                consultant_id="c-1",
                assignment_id="a-1",
                reason=WithdrawalReason.ASSIGNMENT_FILLED,
            ),
        )
    )
    broken = value.replace(b'"assignment_filled"', b'"bored"')
    with pytest.raises(Unusable, match="reason") as caught:
        translate(MATCHES, b"c-1", broken, headers, keyring=KEYRING)
    assert caught.value.code == "invalid_payload"
