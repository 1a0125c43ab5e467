"""Consultant profiles and their notification preferences."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Annotated, Any, Self

from pydantic import (
    EmailStr,
    Field,
    SecretStr,
    ValidationError,
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
    field_error,
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
    SizeClass,
    Weekday,
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


class Commitment(ContractModel):
    """Part-time work the consultant already holds (contract §8.4; seed 001: professionals
    combine several part-time assignments). It takes its hours from the consultant's free
    capacity on every day up to and including `until` (no `until`: without an end), and its
    office weekdays are days the consultant cannot be at another assignment's office."""

    label: ShortText | None = None
    hours_per_week: int = Field(ge=1, le=40, strict=True)
    office_weekdays: Annotated[UniqueList[Weekday], Field(max_length=5)] = []
    until: date | None = None


def _committed_hours_error(kind: str, message: str, value: object) -> ValidationError:
    return field_error("ConsultantProfile", "committed_hours_per_week", kind, message, value)


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
    commitments: Annotated[list[Commitment], Field(max_length=10)] = []
    committed_hours_per_week: int | None = Field(
        default=None,
        ge=0,
        le=40,
        strict=True,
        exclude=True,
        description=(
            "Contract version 1's single number: read as one commitment of these hours"
            " without an end (none when 0). Never together with `commitments`; never"
            " published (the validated profile holds it in `commitments`)."
        ),
    )
    min_hourly_rate_eur: float | None = Field(default=None, gt=0, le=1000, strict=True)
    open_to_next_level: bool = False
    preferred_organization_types: UniqueList[OrganizationType] = []
    preferred_assignment_types: UniqueList[AssignmentType] = []
    preferred_size_classes: UniqueList[SizeClass] = []
    """Municipality sizes the consultant prefers (contract §8.5; seed 000)."""
    growth_disciplines: Annotated[UniqueList[Discipline], Field(max_length=3)] = []
    """Disciplines the consultant wants to grow into (contract §8.5; seed 002): they add to
    the score, and never pass hard filter 6 by themselves."""
    notification: NotificationPreferences = NotificationPreferences()
    active: bool = True
    consent: bool = False

    @model_validator(mode="before")
    @classmethod
    def _commitments_from_contract_v1(cls, data: Any) -> Any:
        """Contract version 1's `committed_hours_per_week` becomes one commitment without an
        end, so every later reader sees only `commitments`."""
        if not isinstance(data, dict) or data.get("committed_hours_per_week") is None:
            return data
        hours = data["committed_hours_per_week"]
        if "commitments" in data:
            raise _committed_hours_error(
                "commitments_given_twice",
                "give commitments or committed_hours_per_week (contract version 1), not both",
                hours,
            )
        if type(hours) is not int or not 0 <= hours <= 40:
            raise _committed_hours_error(
                "committed_hours_range", "must be a whole number from 0 to 40", hours
            )
        converted = {k: v for k, v in data.items() if k != "committed_hours_per_week"}
        converted["commitments"] = [{"hours_per_week": hours}] if hours else []
        return converted

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        stray = set(self.specialisms) - set(self.disciplines)
        if stray:
            raise ValueError(
                "specialisms must be a subset of disciplines; not in disciplines: "
                + ", ".join(sorted(stray))
            )
        grown = set(self.growth_disciplines) & set(self.disciplines)
        if grown:
            raise field_error(
                "ConsultantProfile",
                "growth_disciplines",
                "growth_among_disciplines",
                "growth_disciplines must be disciplines the consultant does not yet hold;"
                " already in disciplines: " + ", ".join(sorted(grown)),
                self.growth_disciplines,
            )
        if self.public_sector_years > self.years_experience:
            raise ValueError("public_sector_years must not exceed years_experience")
        return self

    @property
    def entity_id(self) -> str:
        return self.id
