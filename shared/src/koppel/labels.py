"""Human wording of the vocabulary in Dutch and English, for what a consultant reads."""

from __future__ import annotations

from datetime import date

_NL_MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "level": {
        "nl": {"junior": "junior", "medior": "medior", "senior": "senior",
               "strategic": "strategisch"},
        "en": {"junior": "junior", "medior": "mid-level", "senior": "senior",
               "strategic": "strategic"},
    },
    "organization_type": {
        "nl": {"municipality": "gemeente", "province": "provincie", "ministry": "ministerie",
               "executive_agency": "uitvoeringsorganisatie", "water_board": "waterschap",
               "semi_public": "semipublieke organisatie", "healthcare": "zorgorganisatie",
               "education": "onderwijsinstelling", "other": "publieke organisatie"},
        "en": {"municipality": "municipality", "province": "province", "ministry": "ministry",
               "executive_agency": "executive agency", "water_board": "water board",
               "semi_public": "semi-public organisation", "healthcare": "healthcare organisation",
               "education": "educational institution", "other": "public organisation"},
    },
    "size_class": {
        "nl": {"small": "kleine", "medium": "middelgrote", "large": "grote"},
        "en": {"small": "small", "medium": "medium-sized", "large": "large"},
    },
    "assignment_type": {
        "nl": {"strategic": "strategische interim-opdracht", "project": "projectopdracht",
               "bridging": "overbruggingsopdracht", "specialist": "specialistische opdracht"},
        "en": {"strategic": "strategic interim role", "project": "project assignment",
               "bridging": "bridging assignment", "specialist": "specialist assignment"},
    },
    "province": {
        "nl": {"groningen": "Groningen", "friesland": "Friesland", "drenthe": "Drenthe",
               "overijssel": "Overijssel", "flevoland": "Flevoland", "gelderland": "Gelderland",
               "utrecht": "Utrecht", "noord_holland": "Noord-Holland",
               "zuid_holland": "Zuid-Holland", "zeeland": "Zeeland",
               "noord_brabant": "Noord-Brabant", "limburg": "Limburg"},
        "en": {"groningen": "Groningen", "friesland": "Friesland", "drenthe": "Drenthe",
               "overijssel": "Overijssel", "flevoland": "Flevoland", "gelderland": "Gelderland",
               "utrecht": "Utrecht", "noord_holland": "North Holland",
               "zuid_holland": "South Holland", "zeeland": "Zeeland",
               "noord_brabant": "North Brabant", "limburg": "Limburg"},
    },
    "discipline": {
        "nl": {"strategic_communication": "strategische communicatie",
               "crisis_communication": "crisiscommunicatie",
               "online_communication": "online communicatie",
               "internal_communication": "interne communicatie",
               "change_communication": "verandercommunicatie", "campaigns": "campagnes",
               "citizen_participation": "burgerparticipatie",
               "stakeholder_management": "stakeholdermanagement",
               "press_relations": "persvoorlichting", "social_media": "social media",
               "content_marketing": "contentmarketing", "employer_branding": "employer branding",
               "public_affairs": "public affairs", "behavioural_change": "gedragsverandering",
               "digital_transformation": "digitale transformatie",
               "project_communication": "projectcommunicatie",
               "executive_advice": "bestuursadvisering", "events": "evenementen"},
        "en": {"strategic_communication": "strategic communication",
               "crisis_communication": "crisis communication",
               "online_communication": "online communication",
               "internal_communication": "internal communication",
               "change_communication": "change communication", "campaigns": "campaigns",
               "citizen_participation": "citizen participation",
               "stakeholder_management": "stakeholder management",
               "press_relations": "press relations", "social_media": "social media",
               "content_marketing": "content marketing", "employer_branding": "employer branding",
               "public_affairs": "public affairs", "behavioural_change": "behavioural change",
               "digital_transformation": "digital transformation",
               "project_communication": "project communication",
               "executive_advice": "executive advice", "events": "events"},
    },
}  # fmt: skip


def label(group: str, value: str | None, language: str) -> str:
    """The wording of `value` in `group` (e.g. "province", "noord_holland") in `language`."""
    if value is None:
        return ""
    table = _LABELS[group].get(language, _LABELS[group]["nl"])
    return table.get(value, value.replace("_", " "))


def long_date(day: date, language: str) -> str:
    """`3 maart 2026` / `3 March 2026`."""
    return f"{day_and_month(day, language)} {day.year}"


def day_and_month(day: date, language: str) -> str:
    """`3 maart` / `3 March`, where the year goes without saying."""
    months = _EN_MONTHS if language == "en" else _NL_MONTHS
    return f"{day.day} {months[day.month - 1]}"


def percentage(score: float) -> str:
    """A score of 0.873 reads as `87%`."""
    return f"{round(score * 100)}%"
