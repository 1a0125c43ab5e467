"""Delivery outcomes the notifier reports on `koppel.notifications.v1`."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from koppel.contract.common import EntityId, EventData
from koppel.vocabulary import Channel

MatchEventKind = Literal["match.found", "match.updated", "match.withdrawn", "digest"]


class NotificationDelivered(EventData):
    notification_id: str
    match_ids: list[str] = Field(min_length=1)
    consultant_id: EntityId
    channel: Channel
    kind: MatchEventKind
    attempts: int = Field(ge=1)
    delivered_at: AwareDatetime

    @property
    def entity_id(self) -> str:
        return self.consultant_id


class NotificationFailed(EventData):
    notification_id: str
    match_ids: list[str] = Field(min_length=1)
    consultant_id: EntityId
    channel: Channel
    kind: MatchEventKind
    attempts: int = Field(ge=0)
    # An error code (`smtp_recipient_refused_550`, `webhook_http_503`, ...), never a server's
    # reply or a host: this event outlives the consultant's erasure (docs/security.md, erasure).
    error: str
    failed_at: AwareDatetime

    @property
    def entity_id(self) -> str:
        return self.consultant_id
