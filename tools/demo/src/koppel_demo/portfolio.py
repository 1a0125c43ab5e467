"""The part-time portfolio and the finer preferences of demo consultants, and the fixed
office days of demo assignments (contract §8.4–8.5).

Seed 001: professionals combine part-time assignments and start looking two to three
months before one ends, so about 40% hold one or two that end within six months; some of
those fix office days. Seed 000: some prefer municipalities of a size; seed 002: some want
to grow into a discipline they do not hold yet. Each draws from its own `random.Random`
(see `data`), so adding these fields leaves every other demo value as it was.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta

from koppel.contract import Commitment
from koppel.vocabulary import Discipline, SizeClass, Weekday

COMMITTED_SHARE = 0.4
"""Share of consultants who hold part-time work besides what Koppel offers them."""

_WEEK = list(Weekday)


def commitments(
    rng: random.Random, today: date, total_hours: int, employers: Sequence[str]
) -> list[Commitment]:
    """None for most; one or two for `COMMITTED_SHARE` of consultants: 8–24 hours each,
    together at most `total_hours`, ending within six months, named for half of them."""
    if rng.random() >= COMMITTED_SHARE:
        return []
    held: list[Commitment] = []
    left = total_hours
    for _ in range(1 if rng.random() < 0.7 else 2):
        hours = rng.choice([h for h in (8, 12, 16, 20, 24) if h <= left] or [0])
        if hours == 0:
            break
        left -= hours
        office = sorted(rng.sample(_WEEK, k=rng.choice((1, 2))), key=_WEEK.index)
        held.append(
            Commitment(
                label=rng.choice(employers) if rng.random() < 0.5 else None,
                hours_per_week=hours,
                office_weekdays=office if rng.random() < 0.5 else [],
                until=today + timedelta(days=rng.randint(0, 183)),
            )
        )
    return held


def preferred_size_classes(rng: random.Random) -> list[SizeClass]:
    """A fifth say which municipality sizes they prefer (seed 000: "small ones suit me")."""
    if rng.random() >= 0.2:
        return []
    return sorted(rng.sample(list(SizeClass), k=rng.choice((1, 2))), key=list(SizeClass).index)


def growth_disciplines(rng: random.Random, held: Sequence[Discipline]) -> list[Discipline]:
    """One or two disciplines a sixth want to grow into, never one they hold (seed 002)."""
    if rng.random() >= 0.15:
        return []
    others = [discipline for discipline in Discipline if discipline not in held]
    return rng.sample(others, k=min(rng.choice((1, 2)), len(others)))


def office_weekdays(rng: random.Random, office_days: int) -> list[Weekday]:
    """The fixed office days of about a third of the assignments with any: exactly
    `office_days` of them, in week order (contract §8.4)."""
    if office_days == 0 or rng.random() >= 0.35:
        return []
    return sorted(rng.sample(_WEEK, k=office_days), key=_WEEK.index)
