"""Kafka record → what the notifier does with it (wire models become domain types here)."""

from __future__ import annotations

from datetime import UTC, datetime

from koppel import tracing
from koppel.cloudevents import decode
from koppel.contract import (
    ConsultantErasure,
    ConsultantProfile,
    MatchFound,
    MatchResponded,
    MatchResponseWithdrawn,
    MatchUpdated,
    MatchWithdrawn,
)
from koppel.dead_letters import DeadLetterCode
from koppel.erasure import tombstone_time
from koppel.errors import EnvelopeError, PayloadError
from koppel.event_types import EventType
from koppel.secret_sealing import SecretKeyring, is_sealed
from koppel.topics import CONSULTANTS, MATCHES, RESPONSES
from koppel.vocabulary import NotificationMode
from koppel_notifier.domain.commands import (
    AnswerGiven,
    AnswerTakenBack,
    Command,
    ConsultantErased,
    Ignored,
    MatchEvent,
    ProfileChanged,
)
from koppel_notifier.domain.model import ChannelName, Contact, Kind, MatchNotice


class Unusable(Exception):  # noqa: N818 - reads as "the record is unusable"
    """The record cannot be read; it goes to the topic's dead-letter topic."""

    def __init__(self, message: str, code: DeadLetterCode) -> None:
        super().__init__(message)
        self.code = code


def translate(
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes]],
    timestamp_ms: int | None = None,
    *,
    keyring: SecretKeyring,
) -> Command:
    """Raise `Unusable` for anything that is not a valid event for `topic`.

    `timestamp_ms` (the Kafka record's) dates a tombstone that carries no `ce_time`.
    `keyring` seals a webhook secret that arrives in clear, so none is ever stored so.
    """
    if topic == CONSULTANTS and value is None:
        if not key:
            raise Unusable("tombstone without a key", DeadLetterCode.INVALID_ENVELOPE)
        return ConsultantErased(key.decode(errors="replace"), tombstone_time(headers, timestamp_ms))
    if topic == RESPONSES and value is None:
        # The matcher tombstones an erased consultant's answers; the consultants topic's
        # tombstone has deleted them here already.
        return Ignored("answer erased")
    try:
        event = decode(value, headers)
        payload = event.payload()
    except PayloadError as exc:
        raise Unusable(str(exc), exc.code) from exc
    except EnvelopeError as exc:
        raise Unusable(str(exc), exc.code) from exc
    occurred_at = event.time or datetime.now(UTC)
    traceparent = tracing.valid_traceparent(event.traceparent)
    if topic == MATCHES:
        if isinstance(payload, MatchFound):  # a MatchUpdated too
            return MatchEvent(_found(event.id, payload, traceparent), occurred_at)
        if isinstance(payload, MatchWithdrawn):
            return MatchEvent(_withdrawn(event.id, payload, traceparent), occurred_at)
    if topic == CONSULTANTS:
        if isinstance(payload, ConsultantProfile):
            return ProfileChanged(
                contact_of(payload, keyring), payload.notification.mode.value, event.time
            )
        if isinstance(payload, ConsultantErasure):
            return ConsultantErased(payload.consultant_id, occurred_at)
    if topic == RESPONSES:
        if isinstance(payload, MatchResponded):
            return AnswerGiven(payload)
        if isinstance(payload, MatchResponseWithdrawn):
            return AnswerTakenBack(payload)
    if event.type in {EventType.NOTIFICATION_DELIVERED, EventType.NOTIFICATION_FAILED}:
        return Ignored(event.type)
    raise Unusable(
        f"event type {event.type!r} does not belong on {topic}", DeadLetterCode.UNKNOWN_TYPE
    )


def contact_of(profile: ConsultantProfile, keyring: SecretKeyring) -> Contact:
    """The part of a profile the notifier keeps; reachable only with consent and active.

    The webhook secret is kept sealed. Intake seals it before publishing; one that still
    arrives in clear (produced onto the topic past intake) is sealed here, before storage.
    """
    preferences = profile.notification
    secret = None
    if preferences.webhook_secret is not None:
        secret = preferences.webhook_secret.get_secret_value()
        if not is_sealed(secret):
            secret = keyring.seal(secret, consultant_id=profile.id)
    return Contact(
        consultant_id=profile.id,
        name=profile.name,
        email=str(profile.email),
        language=profile.language.value,
        channels=frozenset(ChannelName(channel.value) for channel in preferences.channels),
        digest=preferences.mode is NotificationMode.DAILY_DIGEST,
        min_score=preferences.min_score,
        webhook_url=None if preferences.webhook_url is None else str(preferences.webhook_url),
        webhook_secret=secret,
        reachable=profile.active and profile.consent,
    )


def _found(event_id: str, found: MatchFound, traceparent: str | None) -> MatchNotice:
    """A `match.found`, or a `match.updated` (a `MatchFound` with `changed`)."""
    return MatchNotice(
        event_id=event_id,
        match_id=found.match_id,
        consultant_id=found.consultant_id,
        kind=Kind.UPDATED if isinstance(found, MatchUpdated) else Kind.FOUND,
        revision=found.revision,
        score=found.score,
        payload=found.model_dump(mode="json"),
        traceparent=traceparent,
    )


def _withdrawn(event_id: str, withdrawn: MatchWithdrawn, traceparent: str | None) -> MatchNotice:
    return MatchNotice(
        event_id=event_id,
        match_id=withdrawn.match_id,
        consultant_id=withdrawn.consultant_id,
        kind=Kind.WITHDRAWN,
        revision=0,
        score=None,
        payload=withdrawn.model_dump(mode="json", exclude_none=True),
        traceparent=traceparent,
    )
