"""Consultant profiles and their notification preferences."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Annotated, Self

from pydantic import (
    EmailStr,
    Field,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)

from koppel.contract.common import (
    Certification,
    ContractModel,
    EntityId,
    EventData,
    HoursPerWeek,
    Location,
    ShortText,
    UniqueList,
)
from koppel.contract.webhook_url import WebhookUrl
from koppel.secret_sealing import SEALED_PATTERN, is_sealed, looks_sealed
from koppel.vocabulary import (
    AssignmentType,
    Channel,
    Discipline,
    Language,
    Level,
    NotificationMode,
    OrganizationType,
    WorkStyle,
)

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
WEBHOOK_SECRET_PATTERN = f"^whsec_[A-Za-z0-9+/=]+$|{SEALED_PATTERN}"


class NotificationPreferences(ContractModel):
    channels: Annotated[UniqueList[Channel], Field(min_length=1, max_length=2)] = [Channel.EMAIL]
    mode: NotificationMode = NotificationMode.INSTANT
    min_score: float = Field(default=0.5, ge=0, le=1, strict=True)
    webhook_url: WebhookUrl | None = None
    webhook_secret: SecretStr | None = Field(
        default=None,
        description=(
            "The Standard Webhooks secret (`whsec_` and 24 to 64 bytes of key in base64), or"
            " the same secret sealed by Koppel (`sealed:v1:<key id>:<base64url>`). Intake"
            " seals it: on koppel.consultants.v1 it is always sealed."
        ),
        json_schema_extra={"pattern": WEBHOOK_SECRET_PATTERN},
    )

    @field_validator("webhook_secret")
    @classmethod
    def _standard_webhooks_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is None:
            return None
        value = secret.get_secret_value()
        if looks_sealed(value):
            if not is_sealed(value):
                raise ValueError("webhook_secret is not a well-formed sealed:v1 secret")
            return secret
        if not value.startswith(WEBHOOK_SECRET_PREFIX):
            raise ValueError(f"webhook_secret must start with {WEBHOOK_SECRET_PREFIX!r}")
        try:
            key = base64.b64decode(value.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
        except binascii.Error:
            raise ValueError("webhook_secret must be base64 after 'whsec_'") from None
        if not 24 <= len(key) <= 64:
            raise ValueError("webhook_secret must hold 24 to 64 bytes of key")
        return secret

    @field_serializer("webhook_secret", when_used="json")
    def _reveal_on_the_wire(self, secret: SecretStr | None) -> str | None:
        # On Kafka this is the sealed form (intake seals before publishing); it stays
        # masked in repr() and logs either way.
        return None if secret is None else secret.get_secret_value()

    @model_validator(mode="after")
    def _webhook_channel_needs_endpoint(self) -> Self:
        if Channel.WEBHOOK in self.channels and (
            self.webhook_url is None or self.webhook_secret is None
        ):
            raise ValueError("the webhook channel requires webhook_url and webhook_secret")
        return self


class ConsultantProfile(EventData):
    """Full state of a consultant profile; every upsert carries all of it."""

    id: EntityId
    name: ShortText
    email: EmailStr
    language: Language = Language.NL
    level: Level
    years_experience: int = Field(ge=0, le=60, strict=True)
    public_sector_years: int = Field(default=0, ge=0, le=60, strict=True)
    disciplines: Annotated[UniqueList[Discipline], Field(min_length=1, max_length=10)]
    specialisms: Annotated[UniqueList[Discipline], Field(max_length=3)] = []
    work_style: WorkStyle = WorkStyle.EITHER
    certifications: Annotated[UniqueList[Certification], Field(max_length=30)] = []
    home: Location
    max_travel_km: int | None = Field(default=None, ge=1, le=500, strict=True)
    max_office_days_per_week: int = Field(ge=0, le=5, strict=True)
    available_from: date
    hours_per_week: HoursPerWeek
    committed_hours_per_week: int = Field(default=0, ge=0, le=40, strict=True)
    min_hourly_rate_eur: float | None = Field(default=None, gt=0, le=1000, strict=True)
    open_to_next_level: bool = False
    preferred_organization_types: UniqueList[OrganizationType] = []
    preferred_assignment_types: UniqueList[AssignmentType] = []
    notification: NotificationPreferences = NotificationPreferences()
    active: bool = True
    consent: bool = False

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        stray = set(self.specialisms) - set(self.disciplines)
        if stray:
            raise ValueError(
                "specialisms must be a subset of disciplines; not in disciplines: "
                + ", ".join(sorted(stray))
            )
        if self.public_sector_years > self.years_experience:
            raise ValueError("public_sector_years must not exceed years_experience")
        return self

    @property
    def entity_id(self) -> str:
        return self.id
