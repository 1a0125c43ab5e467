"""Value objects shared by the assignment and consultant models."""

from __future__ import annotations

import re
from abc import abstractmethod
from dataclasses import dataclass
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, core_schema

from koppel.vocabulary import Province

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"


def field_error(model: str, field: str, kind: str, message: str, value: object) -> ValidationError:
    """A cross-field rule's error located at `field`, so a 422 or a dead letter names the
    field to fix rather than the whole body (raised from a model validator)."""
    return ValidationError.from_exception_data(
        model,
        [InitErrorDetails(type=PydanticCustomError(kind, message), loc=(field,), input=value)],
    )


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

# C0 and C1 controls (TAB, CR, LF and NUL among them), the line and paragraph separators and
# the bidirectional controls: each can break a mail header, a log line or a template, or make
# a text read differently from what it holds. Written as escapes, so the pattern reads the
# same in Python and in the JSON Schema (ECMA-262) it is published in.
NO_CONTROL_CHARACTERS_PATTERN = (
    r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]*$"
)
_CONTROL_CHARACTER = re.compile(
    r"[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]"
)


def _refuse_control_characters(value: Any) -> Any:
    # Before any stripping: a leading newline is refused, not quietly removed.
    if isinstance(value, str):
        found = _CONTROL_CHARACTER.search(value)
        if found is not None:
            code_point = f"U+{ord(found.group()):04X}"
            raise ValueError(
                f"must not contain control characters (line breaks, tabs, NUL, bidi "
                f"controls); found {code_point}"
            )
    return value


@dataclass(frozen=True, slots=True)
class _NoControlCharacters:
    """Refuses `_CONTROL_CHARACTER` in a text field and publishes the rule as a pattern."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(
            _refuse_control_characters, handler(source)
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        document = handler(schema)
        document["pattern"] = NO_CONTROL_CHARACTERS_PATTERN
        return document


NO_CONTROL_CHARACTERS = _NoControlCharacters()

Text = Annotated[str, NO_CONTROL_CHARACTERS]
"""Any text without control characters (DOMAIN.md 8.6); every other text type builds on it."""
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    NO_CONTROL_CHARACTERS,
]
LongText = Annotated[str, StringConstraints(max_length=20_000), NO_CONTROL_CHARACTERS]
T = TypeVar("T")


def _unique(items: list[T]) -> list[T]:
    if len(set(items)) != len(items):
        raise ValueError("items must be unique")
    return items


UniqueList = Annotated[list[T], AfterValidator(_unique)]
"""A list whose items must not repeat."""

Certification = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    NO_CONTROL_CHARACTERS,
]


class ContractModel(BaseModel):
    """Base of every wire model: immutable, unknown fields refused, enums kept as enums."""

    # hide_input_in_errors: a rejected value (a webhook secret, say) never reaches a log line.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class EventData(ContractModel):
    """Base of the data of every Koppel event: it names the entity the event is about."""

    @property
    @abstractmethod
    def entity_id(self) -> str:
        """The id of the entity the event is about: its Kafka key and CloudEvents `subject`,
        so that one entity's events stay in order (contract §4)."""


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
