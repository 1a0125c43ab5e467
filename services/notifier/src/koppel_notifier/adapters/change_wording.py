"""What changed in a match and why a match is gone, in the consultant's words (nl/en).

The names are those of `koppel.vocabulary.VisibleField` and `WithdrawalReason`; a value
this table does not know yet is shown as it is rather than failing the email.
"""

from __future__ import annotations

from collections.abc import Iterable

_FIELDS = {
    "nl": {
        "title": "titel",
        "hours_per_week": "uren per week",
        "start_date": "startdatum",
        "duration_months": "duur",
        "office_days_per_week": "kantoordagen",
        "location": "locatie",
        "max_hourly_rate_eur": "tarief",
        "closes_at": "sluitingsdatum",
    },
    "en": {
        "title": "title",
        "hours_per_week": "hours per week",
        "start_date": "start date",
        "duration_months": "duration",
        "office_days_per_week": "office days",
        "location": "location",
        "max_hourly_rate_eur": "rate",
        "closes_at": "closing date",
    },
}

_REASONS = {
    "nl": {
        "assignment_filled": "De opdracht is vervuld.",
        "assignment_withdrawn": "De opdrachtgever heeft de opdracht ingetrokken.",
        "assignment_expired": "De sluitingsdatum van de opdracht is verstreken.",
        "assignment_changed": "De opdracht is gewijzigd en past niet meer bij je profiel.",
        "profile_changed": "Je profiel is gewijzigd en past niet meer bij de opdracht.",
        "profile_deactivated": "Je profiel staat op inactief.",
        "consent_withdrawn": "Je hebt je toestemming ingetrokken.",
        "consultant_erased": "Je gegevens zijn verwijderd.",
    },
    "en": {
        "assignment_filled": "The assignment has been filled.",
        "assignment_withdrawn": "The client has withdrawn the assignment.",
        "assignment_expired": "The assignment's closing date has passed.",
        "assignment_changed": "The assignment has changed and no longer fits your profile.",
        "profile_changed": "Your profile has changed and no longer fits the assignment.",
        "profile_deactivated": "Your profile is inactive.",
        "consent_withdrawn": "You have withdrawn your consent.",
        "consultant_erased": "Your details have been erased.",
    },
}


def changed_fields(fields: Iterable[str], language: str) -> str:
    """`uren per week, startdatum`: the changed fields in the order the event names them."""
    words = _FIELDS["en" if language == "en" else "nl"]
    return ", ".join(words.get(str(field), str(field)) for field in fields)


def withdrawal_reason(reason: str | None, language: str) -> str:
    """One sentence saying why the match is gone; empty when the event gives no reason."""
    if not reason:
        return ""
    return _REASONS["en" if language == "en" else "nl"].get(reason, reason)
