"""Deterministic demo data from the seeds' distributions (DOMAIN.md section 1).

Every object comes from its own `random.Random` keyed by (seed, kind, index), so
`consultants(100, seed)` is the first hundred of `consultants(2000, seed)` and a run is
reproducible. Dates are relative to `today` (default: the current date) because
assignments start "within weeks"; pass a fixed `today` for byte-identical output.

The module is longer than most: the seeds' distributions and the two generators that draw
from them are read together, to see that the demo's people and assignments follow the seeds.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from pydantic import SecretStr

from koppel.contract import Assignment, ConsultantProfile, HoursPerWeek, Location
from koppel.contract.consultant import NotificationPreferences
from koppel.vocabulary import (
    AssignmentType,
    Channel,
    Discipline,
    Language,
    Level,
    NotificationMode,
    OrganizationType,
    SizeClass,
    Visibility,
    WorkStyle,
)
from koppel_demo.names import email_for, person_name
from koppel_demo.organisations import DemoOrganisation, organisations
from koppel_demo.places import PLACES, Place
from koppel_demo.portfolio import (
    commitments,
    growth_disciplines,
    office_weekdays,
    preferred_size_classes,
)
from koppel_demo.titles import ORGANISATION_KIND_NL, description_for, title_for

__all__ = [
    "DEFAULT_WEBHOOK_BASE_URL",
    "assignments",
    "consultants",
    "organisations",
    "webhook_secret",
]

DEFAULT_WEBHOOK_BASE_URL = "http://127.0.0.1:8090"

T = TypeVar("T")

_D = Discipline
_L = Level
_AT = AssignmentType
_OT = OrganizationType

_LEVELS_OF_CONSULTANTS = {_L.JUNIOR: 20, _L.MEDIOR: 35, _L.SENIOR: 30, _L.STRATEGIC: 15}
_LEVELS_OF_ASSIGNMENTS = {_L.JUNIOR: 12, _L.MEDIOR: 35, _L.SENIOR: 38, _L.STRATEGIC: 15}

# How common each discipline is as someone's core expertise or an assignment's main need.
_DISCIPLINE_WEIGHTS = {
    _D.STRATEGIC_COMMUNICATION: 14, _D.CRISIS_COMMUNICATION: 6, _D.ONLINE_COMMUNICATION: 9,
    _D.INTERNAL_COMMUNICATION: 7, _D.CHANGE_COMMUNICATION: 6, _D.CAMPAIGNS: 7,
    _D.CITIZEN_PARTICIPATION: 8, _D.STAKEHOLDER_MANAGEMENT: 7, _D.PRESS_RELATIONS: 7,
    _D.SOCIAL_MEDIA: 6, _D.CONTENT_MARKETING: 5, _D.EMPLOYER_BRANDING: 3, _D.PUBLIC_AFFAIRS: 3,
    _D.BEHAVIOURAL_CHANGE: 3, _D.DIGITAL_TRANSFORMATION: 4, _D.PROJECT_COMMUNICATION: 8,
    _D.EXECUTIVE_ADVICE: 4, _D.EVENTS: 3,
}  # fmt: skip

# Disciplines that travel together in one person's or one assignment's profile.
_RELATED: dict[Discipline, tuple[Discipline, ...]] = {
    _D.STRATEGIC_COMMUNICATION: (_D.EXECUTIVE_ADVICE, _D.CHANGE_COMMUNICATION, _D.PUBLIC_AFFAIRS),
    _D.CRISIS_COMMUNICATION: (_D.PRESS_RELATIONS, _D.SOCIAL_MEDIA, _D.EXECUTIVE_ADVICE),
    _D.ONLINE_COMMUNICATION: (_D.SOCIAL_MEDIA, _D.CONTENT_MARKETING, _D.DIGITAL_TRANSFORMATION),
    _D.INTERNAL_COMMUNICATION: (_D.CHANGE_COMMUNICATION, _D.EMPLOYER_BRANDING, _D.EVENTS),
    _D.CHANGE_COMMUNICATION: (_D.INTERNAL_COMMUNICATION, _D.BEHAVIOURAL_CHANGE),
    _D.CAMPAIGNS: (_D.BEHAVIOURAL_CHANGE, _D.SOCIAL_MEDIA, _D.CONTENT_MARKETING),
    _D.CITIZEN_PARTICIPATION: (_D.STAKEHOLDER_MANAGEMENT, _D.PROJECT_COMMUNICATION, _D.EVENTS),
    _D.STAKEHOLDER_MANAGEMENT: (_D.CITIZEN_PARTICIPATION, _D.PUBLIC_AFFAIRS),
    _D.PRESS_RELATIONS: (_D.CRISIS_COMMUNICATION, _D.EXECUTIVE_ADVICE, _D.SOCIAL_MEDIA),
    _D.SOCIAL_MEDIA: (_D.ONLINE_COMMUNICATION, _D.CONTENT_MARKETING, _D.CAMPAIGNS),
    _D.CONTENT_MARKETING: (_D.ONLINE_COMMUNICATION, _D.EMPLOYER_BRANDING, _D.CAMPAIGNS),
    _D.EMPLOYER_BRANDING: (_D.CONTENT_MARKETING, _D.INTERNAL_COMMUNICATION),
    _D.PUBLIC_AFFAIRS: (_D.STAKEHOLDER_MANAGEMENT, _D.STRATEGIC_COMMUNICATION),
    _D.BEHAVIOURAL_CHANGE: (_D.CAMPAIGNS, _D.CHANGE_COMMUNICATION),
    _D.DIGITAL_TRANSFORMATION: (_D.ONLINE_COMMUNICATION, _D.CHANGE_COMMUNICATION),
    _D.PROJECT_COMMUNICATION: (_D.STAKEHOLDER_MANAGEMENT, _D.CITIZEN_PARTICIPATION),
    _D.EXECUTIVE_ADVICE: (_D.STRATEGIC_COMMUNICATION, _D.PRESS_RELATIONS),
    _D.EVENTS: (_D.INTERNAL_COMMUNICATION, _D.CONTENT_MARKETING),
}

# Hourly rates in euro by level (consultant minimum; assignment maximum is a bit higher).
_RATES = {_L.JUNIOR: (55, 70), _L.MEDIOR: (70, 90), _L.SENIOR: (85, 110), _L.STRATEGIC: (100, 140)}
_YEARS = {_L.JUNIOR: (0, 3), _L.MEDIOR: (3, 6), _L.SENIOR: (5, 14), _L.STRATEGIC: (10, 28)}
_MIN_YEARS_ASKED = {_L.JUNIOR: (0, 1), _L.MEDIOR: (2, 4), _L.SENIOR: (5, 8), _L.STRATEGIC: (8, 12)}

# Seed 001: durations by assignment type, in months.
_DURATIONS = {
    _AT.STRATEGIC: (6, 12),
    _AT.PROJECT: (3, 12),
    _AT.BRIDGING: (3, 6),
    _AT.SPECIALIST: (3, 9),
}
_TYPES_BY_LEVEL = {
    _L.JUNIOR: {_AT.PROJECT: 50, _AT.BRIDGING: 40, _AT.SPECIALIST: 10},
    _L.MEDIOR: {_AT.PROJECT: 40, _AT.BRIDGING: 35, _AT.SPECIALIST: 25},
    _L.SENIOR: {_AT.PROJECT: 35, _AT.BRIDGING: 20, _AT.SPECIALIST: 30, _AT.STRATEGIC: 15},
    _L.STRATEGIC: {_AT.STRATEGIC: 65, _AT.PROJECT: 15, _AT.BRIDGING: 20},
}
# How often each kind of organisation asks for interim communicators (per organisation).
_DEMAND = {
    _OT.MUNICIPALITY: 1.0, _OT.PROVINCE: 2.5, _OT.MINISTRY: 3.0, _OT.EXECUTIVE_AGENCY: 2.0,
    _OT.WATER_BOARD: 1.0, _OT.SEMI_PUBLIC: 0.8, _OT.HEALTHCARE: 1.0, _OT.EDUCATION: 0.8,
    _OT.OTHER: 0.7,
}  # fmt: skip
# The score below which a consultant does not want to hear about a match: most want only
# what fits well, a few cast a wide net, a few are choosy.
_MIN_SCORES = {0.4: 15, 0.5: 35, 0.55: 20, 0.6: 20, 0.7: 10}
_CERTIFICATIONS = ("Crisisbeheersing (LCMS)", "PRINCE2 Foundation", "Scrum Master (PSM I)")


def _weighted(rng: random.Random, weights: dict[T, float] | dict[T, int]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _disciplines(rng: random.Random, count: int) -> list[Discipline]:
    """`count` distinct disciplines around one weighted core, mostly related ones."""
    chosen = [_weighted(rng, _DISCIPLINE_WEIGHTS)]
    while len(chosen) < count:
        related = [d for d in _RELATED[chosen[0]] if d not in chosen]
        if related and rng.random() < 0.7:
            chosen.append(rng.choice(related))
            continue
        candidate = _weighted(rng, _DISCIPLINE_WEIGHTS)
        if candidate not in chosen:
            chosen.append(candidate)
    return chosen


def webhook_secret(consultant_id: str, seed: int) -> str:
    """The demo consultant's Standard Webhooks secret, derived from the seed (32 bytes)."""
    key = hashlib.sha256(f"koppel-demo:{seed}:{consultant_id}".encode()).digest()
    return "whsec_" + base64.b64encode(key).decode()


def _home_weights() -> list[float]:
    # People live where people live, but every province keeps some consultants.
    return [math.pow(p.inhabitants, 0.7) for p in PLACES]


_HOME_WEIGHTS = _home_weights()


def _home(rng: random.Random) -> Place:
    return rng.choices(PLACES, weights=_HOME_WEIGHTS)[0]


def _available_from(rng: random.Random, today: date) -> date:
    """Most interims are on an assignment; some are free now, some finish soon (001, 002).

    Seed 001 advises telling one's network when the current assignment ends: availability
    comes in waves, not all at once, so only part of the pool can start "within weeks".
    """
    roll = rng.random()
    if roll < 0.45:  # between assignments
        return today + timedelta(days=rng.randint(-60, 14))
    if roll < 0.6:  # the current assignment ends within two months
        return today + timedelta(days=rng.randint(15, 60))
    return today + timedelta(days=rng.randint(61, 270))  # busy for months yet


def _max_travel_km(rng: random.Random) -> int | None:
    """Commuting distance people accept for their office days (004: travel time matters)."""
    if rng.random() < 0.05:
        return None  # goes anywhere
    return _weighted(rng, {25: 10, 40: 25, 50: 25, 60: 20, 75: 12, 100: 8})


def consultants(
    n: int = 2000,
    seed: int = 42,
    *,
    today: date | None = None,
    webhook_base_url: str = DEFAULT_WEBHOOK_BASE_URL,
) -> list[ConsultantProfile]:
    """`n` validated consultant profiles, junior to strategic, across the country."""
    start = today or date.today()
    employers = [org.name for org in organisations(seed)]
    return [_consultant(i, seed, start, webhook_base_url.rstrip("/"), employers) for i in range(n)]


def _consultant(
    index: int, seed: int, today: date, webhook_base: str, employers: Sequence[str]
) -> ConsultantProfile:
    rng = random.Random(f"{seed}:consultant:{index}")  # noqa: S311 - demo data, not secrets
    # The portfolio has a stream of its own: it leaves the other fields as they were.
    held = random.Random(f"{seed}:portfolio:{index}")  # noqa: S311 - demo data, not secrets
    consultant_id = f"demo-c-{index:05d}"
    name = person_name(rng)
    level = _weighted(rng, _LEVELS_OF_CONSULTANTS)
    style = _weighted(
        rng, {WorkStyle.SPECIALIST: 35, WorkStyle.GENERALIST: 30, WorkStyle.EITHER: 35}
    )
    count = rng.randint(1, 3) if style is WorkStyle.SPECIALIST else rng.randint(2, 6)
    disciplines = _disciplines(rng, count)
    specialisms = rng.sample(disciplines, k=rng.randint(0, min(3, len(disciplines))))
    years = rng.randint(*_YEARS[level])
    home = _home(rng)
    total = _weighted(rng, {24: 15, 28: 30, 32: 35, 36: 15, 40: 5})
    floor = max(4, total - rng.choice((0, 4, 8)))
    low, high = _RATES[level]
    channels = _weighted(
        rng,
        {(Channel.EMAIL,): 72, (Channel.WEBHOOK,): 18, (Channel.EMAIL, Channel.WEBHOOK): 10},
    )
    webhook = Channel.WEBHOOK in channels
    certifications = [c for c in _CERTIFICATIONS if rng.random() < 0.12]
    if Discipline.CRISIS_COMMUNICATION in disciplines and rng.random() < 0.6:
        certifications = sorted({*certifications, _CERTIFICATIONS[0]})
    return ConsultantProfile(
        id=consultant_id,
        name=name,
        email=email_for(name, consultant_id.removeprefix("demo-")),
        language=Language.EN if rng.random() < 0.1 else Language.NL,
        level=level,
        years_experience=years,
        public_sector_years=rng.randint(0, years),
        disciplines=disciplines,
        specialisms=specialisms,
        work_style=style,
        certifications=certifications,
        home=Location(city=home.town, province=home.province, lat=home.lat, lon=home.lon),
        max_travel_km=_max_travel_km(rng),
        max_office_days_per_week=_weighted(rng, {1: 10, 2: 30, 3: 35, 4: 20, 5: 5}),
        available_from=_available_from(rng, today),
        hours_per_week=HoursPerWeek(min=floor, max=total),
        commitments=commitments(held, today, total, employers),
        min_hourly_rate_eur=None if rng.random() < 0.1 else float(rng.randint(low, high)),
        open_to_next_level=rng.random() < 0.3,
        preferred_organization_types=rng.sample(
            list(OrganizationType), k=rng.choice((0, 0, 1, 2, 3))
        ),
        preferred_assignment_types=rng.sample(list(AssignmentType), k=rng.choice((0, 0, 1, 2))),
        preferred_size_classes=preferred_size_classes(held),
        growth_disciplines=growth_disciplines(held, disciplines),
        notification=NotificationPreferences(
            channels=list(channels),
            mode=NotificationMode.DAILY_DIGEST if rng.random() < 0.15 else NotificationMode.INSTANT,
            min_score=_weighted(rng, _MIN_SCORES),
            webhook_url=f"{webhook_base}/webhooks/{consultant_id}" if webhook else None,
            webhook_secret=SecretStr(webhook_secret(consultant_id, seed)) if webhook else None,
        ),
        active=rng.random() < 0.95,
        consent=rng.random() < 0.95,
    )


def _organisation_weights(catalogue: Sequence[DemoOrganisation]) -> list[float]:
    weights = []
    for org in catalogue:
        demand = _DEMAND[org.type]
        if org.inhabitants is not None:
            # Seed 000: large municipalities almost always have interims, small ones rarely.
            demand *= {SizeClass.SMALL: 0.5, SizeClass.MEDIUM: 1.0, SizeClass.LARGE: 2.5}[
                SizeClass.for_inhabitants(org.inhabitants)
            ]
        weights.append(demand)
    return weights


def _office_days(rng: random.Random, org: DemoOrganisation) -> int:
    """Seed 004: 2–3 days is the norm, small municipalities 3–4, ministries sometimes 1."""
    if rng.random() < 0.03:  # fully remote is the exception: hybrid is the standard (004)
        return 0
    if org.type is _OT.MINISTRY:
        return rng.choice((1, 1, 2, 2, 3))
    if org.type is _OT.EXECUTIVE_AGENCY:
        return rng.choice((1, 2, 2, 3))
    if org.inhabitants is not None and org.inhabitants < 25_000:
        return rng.choice((3, 3, 4))
    return rng.choice((2, 2, 3, 3, 4))


def assignments(n: int = 300, seed: int = 42, *, today: date | None = None) -> list[Assignment]:
    """`n` validated open assignments at the demo organisations, starting within weeks."""
    start = today or date.today()
    catalogue = organisations(seed)
    weights = _organisation_weights(catalogue)
    return [_assignment(i, seed, start, catalogue, weights) for i in range(n)]


def _assignment(
    index: int,
    seed: int,
    today: date,
    catalogue: Sequence[DemoOrganisation],
    weights: Sequence[float],
) -> Assignment:
    rng = random.Random(f"{seed}:assignment:{index}")  # noqa: S311 - demo data, not secrets
    fixed = random.Random(f"{seed}:office-weekdays:{index}")  # noqa: S311 - as above
    org = rng.choices(catalogue, weights=weights)[0]
    level = _weighted(rng, _LEVELS_OF_ASSIGNMENTS)
    kind = _weighted(rng, _TYPES_BY_LEVEL[level])
    small = org.inhabitants is not None and org.inhabitants < 25_000
    # Specialist assignments ask one expertise; small municipalities want generalists.
    if kind is _AT.SPECIALIST:
        count = 1
    elif small:
        count = rng.randint(2, 3)
    else:
        count = _weighted(rng, {1: 45, 2: 40, 3: 15})
    wanted = _disciplines(rng, count + rng.randint(0, 2))
    required, preferred = wanted[:count], wanted[count:]
    duration = rng.randint(*_DURATIONS[kind])
    target = _weighted(rng, {24: 15, 28: 35, 32: 35, 36: 15})
    office_days = _office_days(rng, org)
    confidential = rng.random() < 0.15
    low, high = _RATES[level]
    minimum_years = rng.randint(*_MIN_YEARS_ASKED[level]) if rng.random() < 0.7 else None
    closes_in = rng.randint(14, 42) if rng.random() < 0.3 else None
    employer = ORGANISATION_KIND_NL[org.type] if confidential else org.name
    title = title_for(rng, level, kind, required[0], org.type)
    hours = HoursPerWeek(min=target - rng.choice((0, 0, 4, 8)), max=target)
    start_date = today + timedelta(days=rng.randint(7, 42))
    # Applications close a few days before the work starts at the latest.
    closes_at = (
        None
        if closes_in is None
        else datetime.combine(
            min(today + timedelta(days=closes_in), start_date - timedelta(days=3)),
            time(17),
            tzinfo=UTC,
        )
    )
    return Assignment(
        id=f"demo-a-{index:05d}",
        title=title,
        description=description_for(kind, employer, office_days, duration),
        organization=org.organization(),
        location=org.location(),
        level=level,
        assignment_type=kind,
        disciplines_required=required,
        disciplines_preferred=preferred,
        hours_per_week=hours,
        start_date=start_date,
        duration_months=duration,
        office_days_per_week=office_days,
        office_weekdays=office_weekdays(fixed, office_days),
        max_hourly_rate_eur=None
        if rng.random() < 0.25
        else float(rng.randint(low + 10, high + 15)),
        min_years_experience=minimum_years,
        required_certifications=[_CERTIFICATIONS[0]]
        if Discipline.CRISIS_COMMUNICATION in required and rng.random() < 0.3
        else [],
        visibility=Visibility.CONFIDENTIAL if confidential else Visibility.PUBLIC,
        closes_at=closes_at,
    )
