"""The score of a pair that passed the hard filters: a weighted sum of named components.

Each component maps the pair to a value in [0, 1]; the score is Σ weight × value, rounded
to 4 decimals. `WEIGHTS` below is the one place the weights are set (they sum to 1); the
table of every component, its weight, values and reasons is docs/matching.md, and a unit
test holds the two together. `urgency` weighs nothing: it only gives its reason.

Each component's state is one function over the columns of both sides (`components.py`),
the same for either direction of the index and for a single pair; its value and its
reason are functions of that state. A component "moved the score" unless it sits at its
neutral value (nothing to say either way); those that moved appear in
`Evaluation.components` as (name, weight × value rounded to 4 decimals) and give one
reason each, in the consultant's language, rendered from `PART_TABLES` (`rendering.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from koppel.vocabulary import Language
from koppel_matcher.domain import components as c
from koppel_matcher.domain import reasons as r
from koppel_matcher.domain.masks import ASSIGNMENT_TYPES, ORGANIZATION_TYPES

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

WEIGHTS: dict[str, float] = {
    "required_disciplines": 0.30,
    "preferred_disciplines": 0.07,
    "growth_discipline": 0.03,
    "level": 0.15,
    "work_style": 0.08,
    "organization_type": 0.05,
    "size_class_preference": 0.03,
    "assignment_type": 0.05,
    "hours": 0.07,
    "office_days": 0.05,
    "travel": 0.07,
    "rate": 0.03,
    "public_sector": 0.02,
    "urgency": 0.0,
}

SCORE_DECIMALS = 4
_SCALE = 10_000.0  # 10 ** SCORE_DECIMALS

Part = tuple[tuple[str, float], str] | None
"""A component's share in an evaluation: ((name, contribution), reason), or None if neutral."""


def _table(value: Callable[[int], float], count: int) -> Callable[[Ints], Floats]:
    """The values of a component with `count` states, looked up in a table of `value`."""
    table = np.array([value(state) for state in range(count)], dtype=np.float64)

    def values(states: Ints) -> Floats:
        looked_up: Floats = table[states]
        return looked_up

    return values


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    state: Callable[[c.Pair], Any]
    """The state of every pair, from the columns of both sides (broadcasting)."""
    values: Callable[[Ints], Floats]
    """The value in [0, 1] of every state."""
    reason: Callable[[int, Language], str | None]
    states: int | None = None
    """How many states there are, when few enough for a table of every part."""

    @property
    def weight(self) -> float:
        return WEIGHTS[self.name]


def _few(
    name: str,
    state: Callable[[c.Pair], Any],
    value: Callable[[int], float],
    reason: Callable[[int, Language], str | None],
    count: int,
) -> Component:
    return Component(name, state, _table(value, count), reason, count)


COMPONENTS: tuple[Component, ...] = (
    Component("required_disciplines", c.required_state, c.required_values, r.required_reason),
    Component("preferred_disciplines", c.preferred_state, c.preferred_values, r.preferred_reason),
    Component("growth_discipline", c.growth_state, c.growth_values, r.growth_reason),
    _few("level", c.level_state, c.level_value, r.level_reason, c.LEVEL_STATES),
    _few("work_style", c.work_style_state, c.work_style_value, r.work_style_reason,
         c.WORK_STYLE_STATES),
    _few("organization_type", c.organization_type_state, c.preference_value,
         r.organization_type_reason, len(ORGANIZATION_TYPES) * 3),
    _few("size_class_preference", c.size_class_state, c.preference_value, r.size_class_reason,
         c.SIZE_CLASS_STATES),
    _few("assignment_type", c.assignment_type_state, c.preference_value,
         r.assignment_type_reason, len(ASSIGNMENT_TYPES) * 3),
    Component("hours", c.hours_state, c.hours_values, r.hours_reason),
    _few("office_days", c.office_state, c.office_value, r.office_days_reason, c.OFFICE_STATES),
    _few("travel", c.travel_state, c.travel_value, r.travel_reason, c.TRAVEL_UNKNOWN + 1),
    _few("rate", c.rate_state, c.rate_value, r.rate_reason, c.RATE_AMPLE + 1),
    _few("public_sector", c.public_sector_state, c.public_sector_value,
         r.public_sector_reason, 3),
    _few("urgency", c.urgency_state, c.urgency_value, r.urgency_reason, 2),
)  # fmt: skip
LANGUAGES: tuple[Language, ...] = tuple(Language)

SMALL_STATE_COUNTS: dict[int, int] = {
    i: component.states for i, component in enumerate(COMPONENTS) if component.states is not None
}
"""Components whose states are all below a small count (index in `COMPONENTS`: count)."""


def component_states(pair: c.Pair) -> list[Any]:
    """Every component's states, in `COMPONENTS` order (each broadcasts to the pairs)."""
    return [component.state(pair) for component in COMPONENTS]


def scores(states: list[Any]) -> Floats:
    """Σ weight × value in component order, rounded to 4 decimals and clamped to [0, 1]."""
    total: Any = 0.0
    for component, state in zip(COMPONENTS, states, strict=True):
        if component.weight:  # urgency adds nothing
            total = total + component.weight * component.values(np.asarray(state, dtype=np.int64))
    result: Floats = np.clip(np.rint(total * _SCALE) / _SCALE, 0.0, 1.0)
    return result


class PartTable(dict[int, Part]):
    """Memo of one component's parts, keyed by `state * len(LANGUAGES) + language index`."""

    def __init__(self, component: Component) -> None:
        super().__init__()
        self.component = component

    def __missing__(self, key: int) -> Part:
        state, language = divmod(key, len(LANGUAGES))
        reason = self.component.reason(state, LANGUAGES[language])
        part: Part = None
        if reason is not None:
            value = float(self.component.values(np.array([state], dtype=np.int64))[0])
            contribution = self.component.weight * value
            part = ((self.component.name, round(contribution, SCORE_DECIMALS)), reason)
        self[key] = part
        return part


PART_TABLES: tuple[PartTable, ...] = tuple(PartTable(component) for component in COMPONENTS)
