"""What each hard filter means, Dutch (default) and English: why a pair is not a match.

Keyed by the filter names of `hard_filters.FILTERS` and `hard_filters.TRAVEL`, worded for
the recruiter who asks why a consultant is not among an assignment's candidates;
`blocking_commitments` says which of the consultant's commitments block filter 4 or 10.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from koppel.labels import long_date
from koppel.vocabulary import Language, Weekday
from koppel_matcher.domain.masks import weekdays_in
from koppel_matcher.domain.model import CommitmentSpec

FILTER_LABELS: dict[Language, dict[str, str]] = {
    Language.NL: {
        "profile_active": "Het profiel van de consultant staat niet op actief.",
        "consent": "De consultant heeft geen toestemming gegeven voor matching.",
        "assignment_open": "De opdracht is niet (meer) open of de sluitingsdatum is verstreken.",
        "level": "Het niveau van de opdracht past niet bij dat van de consultant.",
        "availability": "De consultant is pas meer dan twee weken na de startdatum beschikbaar.",
        "hours": "De uren van de opdracht passen niet in de vrije uren bij de start.",
        "office_days": "De opdracht vraagt meer kantoordagen dan de consultant wil.",
        "disciplines": "De consultant heeft geen van de vereiste vakgebieden.",
        "certifications": "De consultant mist een vereiste certificering.",
        "experience": "De consultant heeft minder jaren ervaring dan de opdracht vraagt.",
        "rate": "Het minimumtarief van de consultant ligt boven het maximumtarief.",
        "travel": "De opdracht ligt verder weg dan de consultant wil reizen.",
        "office_weekdays": (
            "Een kantoordag van de opdracht valt op een kantoordag van een opdracht die de"
            " consultant dan nog heeft."
        ),
    },
    Language.EN: {
        "profile_active": "The consultant's profile is not active.",
        "consent": "The consultant has not consented to matching.",
        "assignment_open": "The assignment is not open (any more) or its closing date has passed.",
        "level": "The assignment's level does not fit the consultant's.",
        "availability": "The consultant is available only more than two weeks after the start.",
        "hours": "The assignment's hours do not fit the consultant's free hours at its start.",
        "office_days": "The assignment asks more office days than the consultant wants.",
        "disciplines": "The consultant has none of the required disciplines.",
        "certifications": "The consultant lacks a required certification.",
        "experience": "The consultant has fewer years of experience than the assignment asks.",
        "rate": "The consultant's minimum rate is above the assignment's maximum rate.",
        "travel": "The assignment is further away than the consultant wants to travel.",
        "office_weekdays": (
            "An office day of the assignment falls on an office day of an assignment the"
            " consultant still holds then."
        ),
    },
}

_WEEKDAY_NAMES = {
    Language.NL: {Weekday.MON: "ma", Weekday.TUE: "di", Weekday.WED: "wo", Weekday.THU: "do",
                  Weekday.FRI: "vr"},
    Language.EN: {Weekday.MON: "Mon", Weekday.TUE: "Tue", Weekday.WED: "Wed",
                  Weekday.THU: "Thu", Weekday.FRI: "Fri"},
}  # fmt: skip


def blocking_commitments(commitments: Sequence[CommitmentSpec], language: Language) -> str:
    """The commitments still running when the assignment would start: label, hours, office
    days and end."""
    dutch = language is Language.NL
    described = []
    for commitment in commitments:
        text = f"{commitment.hours_per_week} {'uur per week' if dutch else 'hours a week'}"
        if commitment.label:
            text = f"{commitment.label}: {text}"
        days = weekdays_in(commitment.office_weekdays)
        if days:
            text += " (" + ", ".join(_WEEKDAY_NAMES[language][day] for day in days) + ")"
        if commitment.until is None:
            text += " zonder einddatum" if dutch else " with no end date"
        else:
            until = long_date(date.fromordinal(commitment.until), language)
            text += f" {'tot en met' if dutch else 'until'} {until}"
        described.append(text)
    lead = "Bij de start lopen nog: " if dutch else "Still running at the start: "
    return lead + "; ".join(described) + "."
