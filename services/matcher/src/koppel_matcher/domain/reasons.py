"""Reason texts, Dutch (default) and English: one per component state that moved the score.

A reason function returns None for a neutral state: that component did not move the score.
The module is longer than most: the Dutch and English names and sentences of every
component sit together, so a translator reads and checks them in one place.
"""

from __future__ import annotations

import numpy as np

from koppel.vocabulary import (
    AssignmentType,
    Discipline,
    Language,
    OrganizationType,
    SizeClass,
    WorkStyle,
)
from koppel_matcher.domain import components as c
from koppel_matcher.domain.masks import (
    ASSIGNMENT_TYPES,
    ORGANIZATION_TYPES,
    SIZE_CLASSES,
    disciplines_in,
)

NL, EN = Language.NL, Language.EN

DISCIPLINE_NAMES: dict[Language, dict[Discipline, str]] = {
    NL: {
        Discipline.STRATEGIC_COMMUNICATION: "strategische communicatie",
        Discipline.CRISIS_COMMUNICATION: "crisiscommunicatie",
        Discipline.ONLINE_COMMUNICATION: "online communicatie",
        Discipline.INTERNAL_COMMUNICATION: "interne communicatie",
        Discipline.CHANGE_COMMUNICATION: "verandercommunicatie",
        Discipline.CAMPAIGNS: "campagnes",
        Discipline.CITIZEN_PARTICIPATION: "burgerparticipatie",
        Discipline.STAKEHOLDER_MANAGEMENT: "stakeholdermanagement",
        Discipline.PRESS_RELATIONS: "persvoorlichting",
        Discipline.SOCIAL_MEDIA: "sociale media",
        Discipline.CONTENT_MARKETING: "contentmarketing",
        Discipline.EMPLOYER_BRANDING: "employer branding",
        Discipline.PUBLIC_AFFAIRS: "public affairs",
        Discipline.BEHAVIOURAL_CHANGE: "gedragsverandering",
        Discipline.DIGITAL_TRANSFORMATION: "digitale transformatie",
        Discipline.PROJECT_COMMUNICATION: "projectcommunicatie",
        Discipline.EXECUTIVE_ADVICE: "bestuursadvisering",
        Discipline.EVENTS: "evenementen",
    },
    EN: {
        Discipline.STRATEGIC_COMMUNICATION: "strategic communication",
        Discipline.CRISIS_COMMUNICATION: "crisis communication",
        Discipline.ONLINE_COMMUNICATION: "online communication",
        Discipline.INTERNAL_COMMUNICATION: "internal communication",
        Discipline.CHANGE_COMMUNICATION: "change communication",
        Discipline.CAMPAIGNS: "campaigns",
        Discipline.CITIZEN_PARTICIPATION: "citizen participation",
        Discipline.STAKEHOLDER_MANAGEMENT: "stakeholder management",
        Discipline.PRESS_RELATIONS: "press relations",
        Discipline.SOCIAL_MEDIA: "social media",
        Discipline.CONTENT_MARKETING: "content marketing",
        Discipline.EMPLOYER_BRANDING: "employer branding",
        Discipline.PUBLIC_AFFAIRS: "public affairs",
        Discipline.BEHAVIOURAL_CHANGE: "behavioural change",
        Discipline.DIGITAL_TRANSFORMATION: "digital transformation",
        Discipline.PROJECT_COMMUNICATION: "project communication",
        Discipline.EXECUTIVE_ADVICE: "executive advice",
        Discipline.EVENTS: "events",
    },
}

LEVEL_NAMES = {
    NL: ("junior", "medior", "senior", "strategisch"),
    EN: ("junior", "mid-level", "senior", "strategic"),
}

ORGANIZATION_TYPE_NAMES: dict[Language, dict[OrganizationType, str]] = {
    NL: {
        OrganizationType.MUNICIPALITY: "gemeente",
        OrganizationType.PROVINCE: "provincie",
        OrganizationType.MINISTRY: "ministerie",
        OrganizationType.EXECUTIVE_AGENCY: "uitvoeringsorganisatie",
        OrganizationType.WATER_BOARD: "waterschap",
        OrganizationType.SEMI_PUBLIC: "semipublieke organisatie",
        OrganizationType.HEALTHCARE: "zorginstelling",
        OrganizationType.EDUCATION: "onderwijsinstelling",
        OrganizationType.OTHER: "overige organisatie",
    },
    EN: {
        OrganizationType.MUNICIPALITY: "municipality",
        OrganizationType.PROVINCE: "province",
        OrganizationType.MINISTRY: "ministry",
        OrganizationType.EXECUTIVE_AGENCY: "executive agency",
        OrganizationType.WATER_BOARD: "water board",
        OrganizationType.SEMI_PUBLIC: "semi-public organisation",
        OrganizationType.HEALTHCARE: "healthcare organisation",
        OrganizationType.EDUCATION: "education organisation",
        OrganizationType.OTHER: "other organisation",
    },
}

ASSIGNMENT_TYPE_NAMES: dict[Language, dict[AssignmentType, str]] = {
    NL: {
        AssignmentType.STRATEGIC: "strategische opdracht",
        AssignmentType.PROJECT: "projectopdracht",
        AssignmentType.BRIDGING: "overbruggingsopdracht",
        AssignmentType.SPECIALIST: "specialistische opdracht",
    },
    EN: {
        AssignmentType.STRATEGIC: "strategic assignment",
        AssignmentType.PROJECT: "project assignment",
        AssignmentType.BRIDGING: "bridging assignment",
        AssignmentType.SPECIALIST: "specialist assignment",
    },
}

SIZE_CLASS_NAMES: dict[Language, dict[SizeClass, str]] = {
    NL: {
        SizeClass.SMALL: "kleine gemeente",
        SizeClass.MEDIUM: "middelgrote gemeente",
        SizeClass.LARGE: "grote gemeente",
    },
    EN: {
        SizeClass.SMALL: "small municipality",
        SizeClass.MEDIUM: "medium-sized municipality",
        SizeClass.LARGE: "large municipality",
    },
}

_KIND_NAMES = {
    NL: ("", "een kleine gemeente", "een grote gemeente", "een ministerie",
         "een uitvoeringsorganisatie", "een provincie"),
    EN: ("", "a small municipality", "a large municipality", "a ministry",
         "an executive agency", "a province"),
}  # fmt: skip


def _join(names: list[str], language: Language) -> str:
    if len(names) <= 1:
        return "".join(names)
    last = " en " if language is NL else " and "
    return ", ".join(names[:-1]) + last + names[-1]


def _names(mask: int, language: Language) -> str:
    return _join([DISCIPLINE_NAMES[language][d] for d in disciplines_in(mask)], language)


def required_reason(state: int, language: Language) -> str | None:
    wanted, special, plain = c.coverage_parts(state)
    n, k = wanted.bit_count(), (special | plain).bit_count()
    if special:
        several = special.bit_count() > 1
        if language is NL:
            text = f"Je specialisme{'n' if several else ''} {_names(special, NL)} "
            text += "zijn gevraagd" if several else "is gevraagd"
            if plain:
                text += f", en je beheerst ook {_names(plain, NL)}"
            return text + (f" ({k} van {n} gevraagde disciplines)" if k < n else "")
        text = f"Your specialism{'s' if several else ''} {_names(special, EN)} "
        text += "are in demand" if several else "is in demand"
        if plain:
            text += f", and you also cover {_names(plain, EN)}"
        return text + (f" ({k} of {n} required disciplines)" if k < n else "")
    if language is NL:
        if k < n:
            return f"Je beheerst {k} van de {n} gevraagde disciplines: {_names(plain, NL)}"
        return f"Je beheerst de gevraagde {'disciplines' if k > 1 else 'discipline'} " + _names(
            plain, NL
        )
    if k < n:
        return f"You cover {k} of the {n} required disciplines: {_names(plain, EN)}"
    return f"You cover the required discipline{'s' if k > 1 else ''} {_names(plain, EN)}"


def preferred_reason(state: int, language: Language) -> str | None:
    wanted, special, plain = c.coverage_parts(state)
    covered = special | plain
    if wanted == 0:
        return None
    if covered == 0:
        if language is NL:
            return f"Je mist de gewenste extra disciplines: {_names(wanted, NL)}"
        return f"You lack the preferred extra disciplines: {_names(wanted, EN)}"
    if language is NL:
        return f"Ook gewenst en in jouw profiel: {_names(covered, NL)}"
    return f"Also preferred and in your profile: {_names(covered, EN)}"


def level_reason(state: int, language: Language) -> str | None:
    asked, own = divmod(state, 4)
    name = LEVEL_NAMES[language][asked]
    if asked == own:
        return f"Opdracht op jouw niveau: {name}" if language is NL else f"At your level: {name}"
    if asked > own:
        return f"Stap omhoog: {name} opdracht" if language is NL else f"Step up: {name} role"
    return f"Stap terug: {name} opdracht" if language is NL else f"Step down: {name} role"


def work_style_reason(state: int, language: Language) -> str | None:
    kind = state // 3
    value = c.work_style_value(state)
    if value == 0.5:
        return None
    place = _KIND_NAMES[language][kind]
    wanted = c.wanted_style(kind)
    style_nl = "generalist" if wanted is WorkStyle.GENERALIST else "specialist"
    if value > 0.5:
        if language is NL:
            return f"Als {style_nl} pas je bij {place}"
        return f"As a {style_nl} you suit {place}"
    if language is NL:
        return f"{place[0].upper()}{place[1:]} zoekt meestal een {style_nl}"
    return f"{place[0].upper()}{place[1:]} usually looks for a {style_nl}"


def organization_type_reason(state: int, language: Language) -> str | None:
    kind, relation = divmod(state, 3)
    name = ORGANIZATION_TYPE_NAMES[language][ORGANIZATION_TYPES[kind]]
    if relation == c.PREFERRED:
        if language is NL:
            return f"Organisatietype van je voorkeur: {name}"
        return f"An organisation type you prefer: {name}"
    if relation == c.NOT_PREFERRED:
        if language is NL:
            return f"Geen organisatietype van je voorkeur: {name}"
        return f"Not an organisation type you prefer: {name}"
    return None


def assignment_type_reason(state: int, language: Language) -> str | None:
    kind, relation = divmod(state, 3)
    name = ASSIGNMENT_TYPE_NAMES[language][ASSIGNMENT_TYPES[kind]]
    if relation == c.PREFERRED:
        if language is NL:
            return f"Het soort opdracht dat je zoekt: {name}"
        return f"The kind of assignment you look for: {name}"
    if relation == c.NOT_PREFERRED:
        if language is NL:
            return f"Niet het soort opdracht dat je zoekt: {name}"
        return f"Not the kind of assignment you look for: {name}"
    return None


def size_class_reason(state: int, language: Language) -> str | None:
    size, relation = divmod(state, 3)
    if relation == c.NO_PREFERENCE:
        return None
    name = SIZE_CLASS_NAMES[language][SIZE_CLASSES[size - 1]]
    if relation == c.PREFERRED:
        if language is NL:
            return f"Gemeentegrootte van je voorkeur: {name}"
        return f"A municipality size you prefer: {name}"
    if language is NL:
        return f"Niet de gemeentegrootte van je voorkeur: {name}"
    return f"Not a municipality size you prefer: {name}"


def growth_reason(state: int, language: Language) -> str | None:
    if state == 0:
        return None
    if language is NL:
        return f"Kans om te groeien in {_names(state, NL)}"
    return f"A chance to grow into {_names(state, EN)}"


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}–{high}"


def hours_reason(state: int, language: Language) -> str | None:
    a_min, a_max, free_min, free_max = c.hours_fields(state)
    asked, free = _span(a_min, a_max), _span(free_min, free_max)
    if c.hours_values(np.array([state]))[0] == c.HOURS_FULL:
        if language is NL:
            return f"{asked} uur per week past in je beschikbare {free} uur"
        return f"{asked} hours a week fit your available {free} hours"
    if language is NL:
        return f"Uren passen deels: {asked} uur gevraagd, je hebt {free} uur vrij"
    return f"Hours fit in part: {asked} hours asked, you have {free} hours free"


def office_days_reason(state: int, language: Language) -> str | None:
    days, maximum = divmod(state, 8)
    if days == 0:
        if language is NL:
            return "Geen kantoordagen: volledig op afstand"
        return "No office days: fully remote"
    fewer = maximum - days
    if fewer <= 0:
        return None
    if language is NL:
        return f"{fewer} kantoordag{'en' if fewer > 1 else ''} minder dan je maximum"
    return f"{fewer} office day{'s' if fewer > 1 else ''} fewer than your maximum"


def travel_reason(state: int, language: Language) -> str | None:
    if state == c.TRAVEL_UNKNOWN:
        return None
    if state == c.TRAVEL_REMOTE:
        return "Geen reistijd" if language is NL else "No commuting"
    if state == c.TRAVEL_FAR:
        limit = c.TRAVEL_BAND_LIMITS_KM[-1]
        if language is NL:
            return f"Ver van huis: meer dan {limit:.0f} km"
        return f"Far from home: over {limit:.0f} km"
    limit = c.TRAVEL_BAND_LIMITS_KM[state - 1]
    return f"Binnen {limit:.0f} km van huis" if language is NL else f"Within {limit:.0f} km of home"


def rate_reason(state: int, language: Language) -> str | None:
    texts = {
        c.RATE_TIGHT: ("Tarief dicht bij je minimum", "Rate close to your minimum"),
        c.RATE_SOME: ("Tarief boven je minimum", "Rate above your minimum"),
        c.RATE_AMPLE: ("Tarief ruim boven je minimum", "Rate well above your minimum"),
    }
    if state not in texts:
        return None
    nl, en = texts[state]
    return nl if language is NL else en


def public_sector_reason(state: int, language: Language) -> str | None:
    if state == 1:
        return None
    if state == 0:
        if language is NL:
            return "Nog geen ervaring in de publieke sector"
        return "No public-sector experience yet"
    years = c.PUBLIC_AMPLE_YEARS
    if language is NL:
        return f"Ruime ervaring in de publieke sector ({years}+ jaar)"
    return f"Ample public-sector experience ({years}+ years)"


def urgency_reason(state: int, language: Language) -> str | None:
    if state == 0:
        return None
    return (
        "Snelle start: begint binnen 3 weken"
        if language is NL
        else "Fast start: begins within 3 weeks"
    )
