"""Closed enumerations of DOMAIN.md section 1. Anything else is rejected at the boundary."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """Seniority, ordered from junior to strategic (seeds 000, 002)."""

    JUNIOR = "junior"
    MEDIOR = "medior"
    SENIOR = "senior"
    STRATEGIC = "strategic"

    @property
    def rank(self) -> int:
        return _LEVEL_ORDER.index(self)


_LEVEL_ORDER = [Level.JUNIOR, Level.MEDIOR, Level.SENIOR, Level.STRATEGIC]


class OrganizationType(StrEnum):
    MUNICIPALITY = "municipality"
    PROVINCE = "province"
    MINISTRY = "ministry"
    EXECUTIVE_AGENCY = "executive_agency"
    WATER_BOARD = "water_board"
    SEMI_PUBLIC = "semi_public"
    HEALTHCARE = "healthcare"
    EDUCATION = "education"
    OTHER = "other"


class SizeClass(StrEnum):
    """Derived for municipalities only, from the number of inhabitants (seed 000)."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"

    @classmethod
    def for_inhabitants(cls, inhabitants: int) -> SizeClass:
        if inhabitants < 25_000:
            return cls.SMALL
        if inhabitants <= 100_000:
            return cls.MEDIUM
        return cls.LARGE


class Weekday(StrEnum):
    """An office weekday of an assignment or a commitment (contract §8.4), Monday to Friday."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"


class AssignmentType(StrEnum):
    STRATEGIC = "strategic"
    PROJECT = "project"
    BRIDGING = "bridging"
    SPECIALIST = "specialist"


class Discipline(StrEnum):
    STRATEGIC_COMMUNICATION = "strategic_communication"
    CRISIS_COMMUNICATION = "crisis_communication"
    ONLINE_COMMUNICATION = "online_communication"
    INTERNAL_COMMUNICATION = "internal_communication"
    CHANGE_COMMUNICATION = "change_communication"
    CAMPAIGNS = "campaigns"
    CITIZEN_PARTICIPATION = "citizen_participation"
    STAKEHOLDER_MANAGEMENT = "stakeholder_management"
    PRESS_RELATIONS = "press_relations"
    SOCIAL_MEDIA = "social_media"
    CONTENT_MARKETING = "content_marketing"
    EMPLOYER_BRANDING = "employer_branding"
    PUBLIC_AFFAIRS = "public_affairs"
    BEHAVIOURAL_CHANGE = "behavioural_change"
    DIGITAL_TRANSFORMATION = "digital_transformation"
    PROJECT_COMMUNICATION = "project_communication"
    EXECUTIVE_ADVICE = "executive_advice"
    EVENTS = "events"


class WorkStyle(StrEnum):
    SPECIALIST = "specialist"
    GENERALIST = "generalist"
    EITHER = "either"


class Visibility(StrEnum):
    PUBLIC = "public"
    CONFIDENTIAL = "confidential"


class Province(StrEnum):
    GRONINGEN = "groningen"
    FRIESLAND = "friesland"
    DRENTHE = "drenthe"
    OVERIJSSEL = "overijssel"
    FLEVOLAND = "flevoland"
    GELDERLAND = "gelderland"
    UTRECHT = "utrecht"
    NOORD_HOLLAND = "noord_holland"
    ZUID_HOLLAND = "zuid_holland"
    ZEELAND = "zeeland"
    NOORD_BRABANT = "noord_brabant"
    LIMBURG = "limburg"


class AssignmentStatus(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class CloseReason(StrEnum):
    """Why an assignment was closed; each is also the status it ends in."""

    FILLED = "filled"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Language(StrEnum):
    NL = "nl"
    EN = "en"


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class NotificationMode(StrEnum):
    INSTANT = "instant"
    DAILY_DIGEST = "daily_digest"


class WithdrawalReason(StrEnum):
    """Why a pair that matched stopped matching (carried by `match.withdrawn`)."""

    ASSIGNMENT_FILLED = "assignment_filled"
    ASSIGNMENT_WITHDRAWN = "assignment_withdrawn"
    ASSIGNMENT_EXPIRED = "assignment_expired"
    ASSIGNMENT_CHANGED = "assignment_changed"
    PROFILE_CHANGED = "profile_changed"
    PROFILE_DEACTIVATED = "profile_deactivated"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    CONSULTANT_ERASED = "consultant_erased"


class Answer(StrEnum):
    """A consultant's answer to a match (contract §8.1); the last answer wins."""

    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"


class DeclineReason(StrEnum):
    """Why a consultant answered `not_interested` (contract §8.1)."""

    LOCATION = "location"
    HOURS = "hours"
    RATE = "rate"
    TIMING = "timing"
    CONTENT = "content"
    ORGANISATION = "organisation"
    OTHER = "other"


class AnswerVia(StrEnum):
    """Where an answer came from: a link in an email, the consultant's page, or the API."""

    EMAIL_LINK = "email_link"
    PAGE = "page"
    API = "api"


class VisibleField(StrEnum):
    """The assignment fields a consultant sees (contract §8.3), named as in the summary.

    A change of one of these between two revisions of a match is announced as
    `match.updated`; any other change (score, reason wording, language) announces nothing.
    """

    TITLE = "title"
    HOURS_PER_WEEK = "hours_per_week"
    START_DATE = "start_date"
    DURATION_MONTHS = "duration_months"
    OFFICE_DAYS_PER_WEEK = "office_days_per_week"
    LOCATION = "location"
    MAX_HOURLY_RATE_EUR = "max_hourly_rate_eur"
    CLOSES_AT = "closes_at"
