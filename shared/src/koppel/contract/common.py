"""Value objects shared by the assignment and consultant models."""

from __future__ import annotations

from typing import Annotated, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from koppel.vocabulary import Province

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"


def _not_a_path_segment(value: str) -> str:
    # "." and ".." would be rewritten by every HTTP client: such an entity is unreachable.
    if value.strip(".") == "":
        raise ValueError("an id must not consist of dots only")
    return value


EntityId = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN, min_length=1, max_length=64),
    AfterValidator(_not_a_path_segment),
]
"""An assignment or consultant id: 1–64 chars of `[A-Za-z0-9._:-]`, not dots only."""

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
T = TypeVar("T")


def _unique(items: list[T]) -> list[T]:
    if len(set(items)) != len(items):
        raise ValueError("items must be unique")
    return items


UniqueList = Annotated[list[T], AfterValidator(_unique)]
"""A list whose items must not repeat."""

Certification = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]


class ContractModel(BaseModel):
    """Base of every wire model: immutable, unknown fields refused, enums kept as enums."""

    # hide_input_in_errors: a rejected value (a webhook secret, say) never reaches a log line.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class Location(ContractModel):
    city: ShortText
    province: Province
    lat: float | None = Field(default=None, ge=-90, le=90, strict=True)
    lon: float | None = Field(default=None, ge=-180, le=180, strict=True)

    @model_validator(mode="after")
    def _both_coordinates_or_none(self) -> Self:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


class HoursPerWeek(ContractModel):
    min: int = Field(ge=4, le=40, strict=True)
    max: int = Field(ge=4, le=40, strict=True)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError("hours_per_week.min must not exceed hours_per_week.max")
        return self
