"""The score of a pair that passed the hard filters: a weighted sum of named components.

Each component maps the pair to a value in [0, 1]; the score is Σ weight × value, rounded
to 4 decimals. The weights below are the one place they are set (they sum to 1):

| component               | weight | value in [0, 1]                                          |
|-------------------------|-------:|----------------------------------------------------------|
| `required_disciplines`  |   0.30 | mean credit per required discipline: specialism 1.0,     |
|                         |        | other held discipline 0.6, missing 0                     |
| `preferred_disciplines` |   0.08 | the same over preferred ones; none asked 0.5 (neutral)   |
| `level`                 |   0.15 | exact 1.0 > stretch up 0.5 > step down 0.3               |
| `work_style`            |   0.10 | suits the organisation 1.0, `either`/no lean 0.5 (n.),   |
|                         |        | the other style 0.1                                      |
| `organization_type`     |   0.07 | preferred 1.0, no preferences 0.5 (n.), other 0.0        |
| `assignment_type`       |   0.06 | preferred 1.0, no preferences 0.5 (n.), other 0.0        |
| `hours`                 |   0.07 | asked hours inside free capacity 1.0, partly 0.4         |
| `office_days`           |   0.05 | none 1.0; 2+ below your max 1.0, 1 below 0.75,           |
|                         |        | at your max 0.5 (n.)                                     |
| `travel`                |   0.07 | no office days 1.0; ≤ 10 km 1.0, ≤ 25 0.8, ≤ 50 0.6,     |
|                         |        | ≤ 100 0.3, further 0.1; no coordinates 0.5 (n.)          |
| `rate`                  |   0.03 | headroom (max − min) / max ≥ 20 % 1.0, ≥ 5 % 0.75,       |
|                         |        | less 0.25; either rate unknown 0.5 (n.)                  |
| `public_sector`         |   0.02 | 5+ years 1.0, 1–4 years 0.5 (n.), none 0.2               |

Work style (seed 000): small municipalities lean to generalists; large municipalities,
ministries, executive agencies and provinces to specialists; other organisations not.

A component "moved the score" unless it sits at its neutral value (marked "n." above:
nothing to say either way); those that moved appear in `Evaluation.components` as
(name, weight × value rounded to 4 decimals) and give one reason each, in the
consultant's language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from koppel.vocabulary import Language
from koppel_matcher.domain import components as c
from koppel_matcher.domain import reasons as r
from koppel_matcher.domain.model import AssignmentSpec, Evaluation, ProfileSpec

WEIGHTS: dict[str, float] = {
    "required_disciplines": 0.30,
    "preferred_disciplines": 0.08,
    "level": 0.15,
    "work_style": 0.10,
    "organization_type": 0.07,
    "assignment_type": 0.06,
    "hours": 0.07,
    "office_days": 0.05,
    "travel": 0.07,
    "rate": 0.03,
    "public_sector": 0.02,
}

SCORE_DECIMALS = 4
_SCALE = 10_000  # 10 ** SCORE_DECIMALS

Part = tuple[tuple[str, float], str] | None
"""A component's share in an evaluation: ((name, contribution), reason), or None if neutral."""


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    value: Callable[[int], float]
    reason: Callable[[int, Language], str | None]

    @property
    def weight(self) -> float:
        return WEIGHTS[self.name]


COMPONENTS: tuple[Component, ...] = (
    Component("required_disciplines", c.required_value, r.required_reason),
    Component("preferred_disciplines", c.preferred_value, r.preferred_reason),
    Component("level", c.level_value, r.level_reason),
    Component("work_style", c.work_style_value, r.work_style_reason),
    Component("organization_type", c.preference_value, r.organization_type_reason),
    Component("assignment_type", c.preference_value, r.assignment_type_reason),
    Component("hours", c.hours_value, r.hours_reason),
    Component("office_days", c.office_value, r.office_days_reason),
    Component("travel", c.travel_value, r.travel_reason),
    Component("rate", c.rate_value, r.rate_reason),
    Component("public_sector", c.public_sector_value, r.public_sector_reason),
)
LANGUAGES: tuple[Language, ...] = tuple(Language)


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
            contribution = self.component.weight * self.component.value(state)
            part = ((self.component.name, round(contribution, SCORE_DECIMALS)), reason)
        self[key] = part
        return part


PART_TABLES: tuple[PartTable, ...] = tuple(PartTable(component) for component in COMPONENTS)


def round_score(total: float) -> float:
    """Round to 4 decimals the way `numpy.rint(total * 1e4) / 1e4` does, clamped to [0, 1]."""
    return min(1.0, max(0.0, round(total * _SCALE) / _SCALE))


def total_of(states: Sequence[int]) -> float:
    """Unrounded Σ weight × value, summed in component order (the index does the same)."""
    total = 0.0
    for component, state in zip(COMPONENTS, states, strict=True):
        total += component.weight * component.value(state)
    return total


def evaluation_of(score: float, parts: Sequence[Part]) -> Evaluation:
    moved = [part for part in parts if part is not None]
    return Evaluation(
        score=score,
        components=tuple(part[0] for part in moved),
        reasons=tuple(part[1] for part in moved),
    )


def evaluation_from_states(states: Sequence[int], language: Language) -> Evaluation:
    """The evaluation for a pair whose component states are known."""
    lang = LANGUAGES.index(language)
    keys = (state * len(LANGUAGES) + lang for state in states)
    parts = [table[key] for table, key in zip(PART_TABLES, keys, strict=True)]
    return evaluation_of(round_score(total_of(states)), parts)


def score(a: AssignmentSpec, p: ProfileSpec) -> Evaluation:
    """Score a pair; assumes the hard filters passed (see `evaluate` for the guarded call)."""
    return evaluation_from_states(c.states(a, p), p.language)
