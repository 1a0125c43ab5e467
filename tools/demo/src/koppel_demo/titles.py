"""Dutch assignment titles and descriptions, as an agency would word them (seeds 000–004)."""

from __future__ import annotations

import random

from koppel.vocabulary import AssignmentType, Discipline, Level, OrganizationType

_D = Discipline

ROLES: dict[Discipline, str] = {
    _D.STRATEGIC_COMMUNICATION: "strategisch communicatieadviseur",
    _D.CRISIS_COMMUNICATION: "crisiscommunicatieadviseur",
    _D.ONLINE_COMMUNICATION: "adviseur online communicatie",
    _D.INTERNAL_COMMUNICATION: "adviseur interne communicatie",
    _D.CHANGE_COMMUNICATION: "communicatieadviseur verandertraject",
    _D.CAMPAIGNS: "campagneadviseur",
    _D.CITIZEN_PARTICIPATION: "communicatieadviseur participatie",
    _D.STAKEHOLDER_MANAGEMENT: "omgevingsmanager",
    _D.PRESS_RELATIONS: "woordvoerder",
    _D.SOCIAL_MEDIA: "social media adviseur",
    _D.CONTENT_MARKETING: "contentstrateeg",
    _D.EMPLOYER_BRANDING: "adviseur arbeidsmarktcommunicatie",
    _D.PUBLIC_AFFAIRS: "adviseur public affairs",
    _D.BEHAVIOURAL_CHANGE: "adviseur gedragsverandering",
    _D.DIGITAL_TRANSFORMATION: "communicatieadviseur digitale transformatie",
    _D.PROJECT_COMMUNICATION: "projectcommunicatieadviseur",
    _D.EXECUTIVE_ADVICE: "bestuursadviseur communicatie",
    _D.EVENTS: "evenementenadviseur",
}

_SPOKESPERSON_FOR: dict[OrganizationType, str] = {
    OrganizationType.MUNICIPALITY: "wethouder",
    OrganizationType.PROVINCE: "gedeputeerde",
    OrganizationType.MINISTRY: "minister",
    OrganizationType.WATER_BOARD: "dijkgraaf",
}

THEMES: dict[OrganizationType, tuple[str, ...]] = {
    OrganizationType.MUNICIPALITY: (
        "Omgevingswet", "woningbouw", "sociaal domein", "energietransitie", "wijkvernieuwing",
        "mobiliteit", "dienstverlening", "veiligheid",
    ),
    OrganizationType.PROVINCE: (
        "stikstof", "mobiliteit", "energietransitie", "natuurherstel", "Omgevingsvisie",
    ),
    OrganizationType.MINISTRY: (
        "wetgevingstraject", "rijksbrede campagne", "crisisstructuur", "digitale overheid",
        "arbeidsmarkt",
    ),
    OrganizationType.EXECUTIVE_AGENCY: (
        "dienstverlening", "systeemvernieuwing", "klantcontact", "herstelopgave",
    ),
    OrganizationType.WATER_BOARD: (
        "dijkversterking", "wateroverlast", "waterkwaliteit", "klimaatadaptatie",
    ),
    OrganizationType.SEMI_PUBLIC: ("huurders", "dienstregeling", "verduurzaming", "merk"),
    OrganizationType.HEALTHCARE: ("vaccinatiecampagne", "leefstijl", "fusie", "werving"),
    OrganizationType.EDUCATION: ("studentwerving", "strategisch plan", "campusvernieuwing"),
    OrganizationType.OTHER: ("samenwerking", "crisisbeheersing", "ledencommunicatie"),
}  # fmt: skip

_LEVEL_PREFIX = {Level.JUNIOR: "junior ", Level.MEDIOR: "", Level.SENIOR: "senior "}
_STRATEGIC_ROLES = (
    "interim hoofd communicatie",
    "interim teamleider communicatie",
    "strategisch adviseur communicatie",
    "interim manager communicatie",
)
_SUFFIX = {
    AssignmentType.BRIDGING: " (interim)",
    AssignmentType.STRATEGIC: "",
    AssignmentType.PROJECT: "",
    AssignmentType.SPECIALIST: "",
}


def title_for(
    rng: random.Random,
    level: Level,
    assignment_type: AssignmentType,
    discipline: Discipline,
    organization_type: OrganizationType,
) -> str:
    """E.g. "Senior communicatieadviseur participatie Omgevingswet", "Woordvoerder wethouder"."""
    if discipline is Discipline.PRESS_RELATIONS and organization_type in _SPOKESPERSON_FOR:
        role = f"woordvoerder {_SPOKESPERSON_FOR[organization_type]}"
        text = f"{_LEVEL_PREFIX.get(level, 'senior ')}{role}"
    elif level is Level.STRATEGIC:
        text = f"{rng.choice(_STRATEGIC_ROLES)} {rng.choice(THEMES[organization_type])}"
    else:
        theme = rng.choice(THEMES[organization_type]) if rng.random() < 0.6 else ""
        text = f"{_LEVEL_PREFIX[level]}{ROLES[discipline]} {theme}".strip()
    text += _SUFFIX[assignment_type]
    return text[0].upper() + text[1:]


_OPENINGS = {
    AssignmentType.STRATEGIC: "Voor een transformatie zoeken wij een ervaren professional die "
    "tijdelijk leiding geeft en de koers van de communicatie mee bepaalt.",
    AssignmentType.PROJECT: "Voor een project met een duidelijk begin en eind zoeken wij "
    "iemand die de communicatie van A tot Z oppakt.",
    AssignmentType.BRIDGING: "Terwijl wij werven voor een vaste collega zoeken wij iemand die "
    "snel kan starten en het werk overbrugt.",
    AssignmentType.SPECIALIST: "Wij zoeken een specialist die één expertise diepgaand inbrengt.",
}


def description_for(
    assignment_type: AssignmentType, organisation: str, office_days: int, duration: int
) -> str:
    office = (
        "Je werkt volledig op afstand."
        if office_days == 0
        else f"Je bent {office_days} dag{'en' if office_days > 1 else ''} per week op kantoor."
    )
    return (
        f"{_OPENINGS[assignment_type]} Je werkt voor {organisation}, voor ongeveer "
        f"{duration} maanden. {office}"
    )


ORGANISATION_KIND_NL: dict[OrganizationType, str] = {
    OrganizationType.MUNICIPALITY: "een gemeente",
    OrganizationType.PROVINCE: "een provincie",
    OrganizationType.MINISTRY: "een ministerie",
    OrganizationType.EXECUTIVE_AGENCY: "een uitvoeringsorganisatie van het Rijk",
    OrganizationType.WATER_BOARD: "een waterschap",
    OrganizationType.SEMI_PUBLIC: "een semipublieke organisatie",
    OrganizationType.HEALTHCARE: "een zorgorganisatie",
    OrganizationType.EDUCATION: "een onderwijsinstelling",
    OrganizationType.OTHER: "een publieke organisatie",
}
"""How a confidential assignment names its employer in the description."""
