"""The wire models of `koppel.contract` enforce DOMAIN.md sections 1 and 2 at the boundary."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from koppel.cloudevents import describe_validation_error
from koppel.contract import (
    Assignment,
    AssignmentClose,
    AssignmentClosed,
    AssignmentSummary,
    ConsultantErasure,
    ConsultantProfile,
    EventData,
    MatchFound,
    MatchResponded,
    MatchResponseWithdrawn,
    MatchUpdated,
    MatchWithdrawn,
    NotificationDelivered,
    NotificationFailed,
    NotificationPreferences,
    Organization,
    match_id_for,
)
from koppel.event_types import PAYLOADS, EventType
from koppel.vocabulary import (
    Answer,
    AnswerVia,
    AssignmentStatus,
    AssignmentType,
    Channel,
    CloseReason,
    DeclineReason,
    Discipline,
    Language,
    Level,
    NotificationMode,
    OrganizationType,
    Province,
    SizeClass,
    Visibility,
    VisibleField,
    WithdrawalReason,
    WorkStyle,
)
from koppel_testing import WEBHOOK_SECRET as SECRET
from koppel_testing.builders import assignment_document, consultant_document, webhook_notification


def error_locations(model: type[BaseModel], doc: object) -> set[str]:
    """Validate `doc` expecting failure; the dotted location of every error (root is "")."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(doc)
    return {".".join(str(part) for part in error["loc"]) for error in caught.value.errors()}


def error_text(model: type[BaseModel], doc: object) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(doc)
    return str(caught.value)


def test_the_sample_documents_are_valid() -> None:
    """Every rejection below is then caused by the one field each test changes."""
    Assignment.model_validate(assignment_document())
    ConsultantProfile.model_validate(consultant_document())
    ConsultantProfile.model_validate(consultant_document(notification=webhook_notification()))


# --- closed enumerations (DOMAIN.md section 1) -------------------------------------------

VOCABULARY: list[tuple[type[StrEnum], list[str]]] = [
    (Level, ["junior", "medior", "senior", "strategic"]),
    (
        OrganizationType,
        [
            "municipality",
            "province",
            "ministry",
            "executive_agency",
            "water_board",
            "semi_public",
            "healthcare",
            "education",
            "other",
        ],
    ),
    (SizeClass, ["small", "medium", "large"]),
    (AssignmentType, ["strategic", "project", "bridging", "specialist"]),
    (
        Discipline,
        [
            "strategic_communication",
            "crisis_communication",
            "online_communication",
            "internal_communication",
            "change_communication",
            "campaigns",
            "citizen_participation",
            "stakeholder_management",
            "press_relations",
            "social_media",
            "content_marketing",
            "employer_branding",
            "public_affairs",
            "behavioural_change",
            "digital_transformation",
            "project_communication",
            "executive_advice",
            "events",
        ],
    ),
    (WorkStyle, ["specialist", "generalist", "either"]),
    (Visibility, ["public", "confidential"]),
    (
        Province,
        [
            "groningen",
            "friesland",
            "drenthe",
            "overijssel",
            "flevoland",
            "gelderland",
            "utrecht",
            "noord_holland",
            "zuid_holland",
            "zeeland",
            "noord_brabant",
            "limburg",
        ],
    ),
    (AssignmentStatus, ["open", "filled", "withdrawn", "expired"]),
    (CloseReason, ["filled", "withdrawn", "expired"]),
    (Language, ["nl", "en"]),
    (Channel, ["email", "webhook"]),
    (NotificationMode, ["instant", "daily_digest"]),
]


@pytest.mark.parametrize(("enum", "values"), VOCABULARY, ids=lambda v: getattr(v, "__name__", ""))
def test_vocabulary_is_exactly_the_domain_list(enum: type[StrEnum], values: list[str]) -> None:
    assert [member.value for member in enum] == values
    for bad in ("unknown", values[0].upper(), f" {values[0]}", ""):
        with pytest.raises(ValueError, match="is not a valid"):
            enum(bad)


def test_levels_are_ordered_junior_to_strategic() -> None:
    assert [level.rank for level in Level] == [0, 1, 2, 3]
    assert Level.MEDIOR.rank < Level.SENIOR.rank


def test_close_reasons_are_statuses() -> None:
    for reason in CloseReason:
        assert AssignmentStatus(reason.value) is not AssignmentStatus.OPEN


ASSIGNMENT_BAD_ENUMS = [
    ("level", "expert"),
    ("level", "Senior"),
    ("assignment_type", "contract"),
    ("visibility", "hidden"),
    ("status", "closed"),
    ("disciplines_required", ["marketing"]),
    ("disciplines_preferred", ["marketing"]),
]


@pytest.mark.parametrize(("field", "value"), ASSIGNMENT_BAD_ENUMS)
def test_assignment_rejects_unknown_enum_values(field: str, value: object) -> None:
    locations = error_locations(Assignment, assignment_document() | {field: value})
    assert any(location.split(".")[0] == field for location in locations), locations


def test_assignment_rejects_unknown_nested_enum_values() -> None:
    org = {"name": "X", "type": "company"}
    assert error_locations(Assignment, assignment_document(organization=org)) == {
        "organization.type"
    }
    place = {"city": "Brussel", "province": "brabant"}
    assert error_locations(Assignment, assignment_document(location=place)) == {"location.province"}


PROFILE_BAD_ENUMS = [
    ("language", "de"),
    ("level", "principal"),
    ("work_style", "any"),
    ("disciplines", ["marketing"]),
    ("preferred_organization_types", ["company"]),
    ("preferred_assignment_types", ["freelance"]),
    ("notification", {"channels": ["sms"]}),
    ("notification", {"mode": "weekly"}),
]


@pytest.mark.parametrize(("field", "value"), PROFILE_BAD_ENUMS)
def test_profile_rejects_unknown_enum_values(field: str, value: object) -> None:
    locations = error_locations(ConsultantProfile, consultant_document() | {field: value})
    assert any(location.split(".")[0] == field for location in locations), locations


def test_commands_and_events_reject_unknown_enum_values() -> None:
    assert error_locations(AssignmentClose, {"reason": "cancelled"}) == {"reason"}
    withdrawn = {"match_id": "m", "consultant_id": "c", "assignment_id": "a", "reason": "bored"}
    assert error_locations(MatchWithdrawn, withdrawn) == {"reason"}
    delivered = {
        "notification_id": "n",
        "match_ids": ["m"],
        "consultant_id": "c",
        "channel": "sms",
        "kind": "reminder",
        "attempts": 1,
        "delivered_at": "2026-11-23T10:00:00Z",
    }
    assert error_locations(NotificationDelivered, delivered) == {"channel", "kind"}
    assert len(WithdrawalReason) == 8


# --- ids ---------------------------------------------------------------------------------

GOOD_IDS = ["a", "A-1", "x.y_z:0-9", "x" * 64, "urn:koppel:42", ".a", "a..b"]
BAD_IDS = ["", "x" * 65, "a b", "a/b", "a\n", "\na", "é", "a;b", "a\x00", "a#1", ".", "..", "..."]


def _event_data_samples() -> dict[EventType, tuple[EventData, str]]:
    """Data of each event type and the id of the entity it is about."""
    assignment = Assignment.model_validate(assignment_document(id="a-7"))
    summary = AssignmentSummary.of(assignment)
    outcome: dict[str, object] = {
        "notification_id": "n",
        "match_ids": ["m"],
        "consultant_id": "c-7",
    }
    outcome |= {"channel": "email", "kind": "match.found", "attempts": 1}
    return {
        EventType.ASSIGNMENT_UPSERTED: (assignment, "a-7"),
        EventType.ASSIGNMENT_CLOSED: (
            AssignmentClosed(
                assignment_id="a-7", reason=CloseReason.FILLED, closed_at=datetime.now(UTC)
            ),
            "a-7",
        ),
        EventType.CONSULTANT_UPSERTED: (
            ConsultantProfile.model_validate(consultant_document(id="c-7")),
            "c-7",
        ),
        EventType.CONSULTANT_ERASED: (ConsultantErasure(consultant_id="c-7"), "c-7"),
        EventType.MATCH_FOUND: (
            MatchFound(
                match_id="m", consultant_id="c-7", assignment=summary, score=0.8, reasons=["r"]
            ),
            "c-7",
        ),
        EventType.MATCH_UPDATED: (
            MatchUpdated(
                match_id="m",
                consultant_id="c-7",
                assignment=summary,
                score=0.8,
                reasons=["r"],
                revision=2,
                changed=[VisibleField.START_DATE],
            ),
            "c-7",
        ),
        EventType.MATCH_RESPONDED: (
            MatchResponded(
                match_id="m",
                consultant_id="c-7",
                assignment_id="a-7",
                response=Answer.NOT_INTERESTED,
                reason=DeclineReason.HOURS,
                responded_at=datetime.now(UTC),
                via=AnswerVia.API,
            ),
            "m",
        ),
        EventType.MATCH_RESPONSE_WITHDRAWN: (
            MatchResponseWithdrawn(
                match_id="m",
                consultant_id="c-7",
                assignment_id="a-7",
                withdrawn_at=datetime.now(UTC),
                via=AnswerVia.PAGE,
            ),
            "m",
        ),
        EventType.MATCH_WITHDRAWN: (
            MatchWithdrawn(
                match_id="m",
                consultant_id="c-7",
                assignment_id="a-7",
                reason=WithdrawalReason.ASSIGNMENT_FILLED,
            ),
            "c-7",
        ),
        EventType.NOTIFICATION_DELIVERED: (
            NotificationDelivered.model_validate({**outcome, "delivered_at": datetime.now(UTC)}),
            "c-7",
        ),
        EventType.NOTIFICATION_FAILED: (
            NotificationFailed.model_validate(
                {**outcome, "error": "smtp_timeout", "failed_at": datetime.now(UTC)}
            ),
            "c-7",
        ),
    }


def test_every_events_data_names_the_entity_that_keys_it() -> None:
    """The Kafka key and `subject` (contract §4): the assignment for assignment events, the
    consultant for the rest; a property, so it never appears on the wire."""
    samples = _event_data_samples()

    assert set(samples) == set(EventType)
    for event_type, (data, entity_id) in samples.items():
        assert isinstance(data, PAYLOADS[event_type]), event_type
        assert data.entity_id == entity_id, event_type
        assert "entity_id" not in data.model_dump(), event_type


@pytest.mark.parametrize("entity_id", GOOD_IDS)
def test_ids_of_the_allowed_alphabet_are_accepted(entity_id: str) -> None:
    assert Assignment.model_validate(assignment_document(id=entity_id)).id == entity_id
    assert ConsultantProfile.model_validate(consultant_document(id=entity_id)).id == entity_id


@pytest.mark.parametrize("entity_id", BAD_IDS)
def test_ids_outside_the_alphabet_or_length_are_rejected(entity_id: str) -> None:
    assert error_locations(Assignment, assignment_document(id=entity_id)) == {"id"}
    assert error_locations(ConsultantProfile, consultant_document(id=entity_id)) == {"id"}
    closed = {"assignment_id": entity_id, "reason": "filled", "closed_at": "2026-11-23T10:00:00Z"}
    assert error_locations(AssignmentClosed, closed) == {"assignment_id"}


# --- numbers are numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration_months", True),
        ("duration_months", "6"),
        ("office_days_per_week", False),
        ("max_hourly_rate_eur", "95"),
        ("min_years_experience", True),
    ],
)
def test_assignment_numbers_are_not_coerced_from_booleans_or_strings(
    field: str, value: object
) -> None:
    assert error_locations(Assignment, assignment_document() | {field: value}) == {field}


def test_nested_numbers_are_not_coerced_either() -> None:
    organization = {"name": "Gemeente Zeist", "type": "municipality", "inhabitants": False}
    assert error_locations(Assignment, assignment_document(organization=organization)) == {
        "organization.inhabitants"
    }
    assert error_locations(
        Assignment, assignment_document(hours_per_week={"min": "24", "max": 32})
    ) == {"hours_per_week.min"}
    assert error_locations(ConsultantProfile, consultant_document(years_experience=True)) == {
        "years_experience"
    }


def test_integral_numbers_are_accepted_where_a_float_is_expected() -> None:
    assert (
        Assignment.model_validate(assignment_document(max_hourly_rate_eur=95)).max_hourly_rate_eur
        == 95
    )


# --- assignment ----------------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high"), [(4, 4), (4, 40), (28, 32), (40, 40)])
def test_hours_within_4_to_40_with_min_at_most_max_are_accepted(low: int, high: int) -> None:
    hours = Assignment.model_validate(
        assignment_document(hours_per_week={"min": low, "max": high})
    ).hours_per_week
    assert (hours.min, hours.max) == (low, high)


@pytest.mark.parametrize(
    ("hours", "location"),
    [
        ({"min": 3, "max": 32}, "hours_per_week.min"),
        ({"min": 24, "max": 41}, "hours_per_week.max"),
        ({"min": 0, "max": 0}, "hours_per_week.min"),
        ({"min": 32, "max": 28}, "hours_per_week"),
        ({"min": 24}, "hours_per_week.max"),
    ],
)
def test_bad_hours_are_rejected(hours: dict[str, int], location: str) -> None:
    assert location in error_locations(Assignment, assignment_document(hours_per_week=hours))
    assert location in error_locations(ConsultantProfile, consultant_document(hours_per_week=hours))


def test_min_hours_above_max_says_so() -> None:
    text = error_text(Assignment, assignment_document(hours_per_week={"min": 32, "max": 28}))
    assert "min must not exceed" in text


def test_one_to_five_unique_required_disciplines() -> None:
    five = ["campaigns", "events", "social_media", "press_relations", "public_affairs"]
    doc = assignment_document(disciplines_required=five, disciplines_preferred=[])
    assert len(Assignment.model_validate(doc).disciplines_required) == 5
    for bad in ([], [*five, "content_marketing"], ["campaigns", "campaigns"]):
        doc = assignment_document(disciplines_required=bad, disciplines_preferred=[])
        assert error_locations(Assignment, doc) == {"disciplines_required"}


def test_duplicate_preferred_disciplines_are_rejected() -> None:
    doc = assignment_document(disciplines_preferred=["events", "events"])
    assert error_locations(Assignment, doc) == {"disciplines_preferred"}


def test_preferred_must_not_repeat_required() -> None:
    doc = assignment_document(
        disciplines_required=["campaigns", "events"], disciplines_preferred=["events"]
    )
    text = error_text(Assignment, doc)
    assert "disciplines_preferred must not repeat disciplines_required" in text
    assert "events" in text


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("office_days_per_week", [0, 5], [-1, 6]),
        ("duration_months", [1, 24], [0, 25]),
    ],
)
def test_integer_ranges(field: str, good: list[int], bad: list[int]) -> None:
    for value in good:
        assert (
            getattr(Assignment.model_validate(assignment_document() | {field: value}), field)
            == value
        )
    for value in bad:
        assert error_locations(Assignment, assignment_document() | {field: value}) == {field}


def test_non_integral_numbers_are_not_truncated() -> None:
    assert error_locations(Assignment, assignment_document(duration_months=6.5)) == {
        "duration_months"
    }


@pytest.mark.parametrize("coordinates", [{"lat": 52.0}, {"lon": 5.0}, {"lat": 52.0, "lon": None}])
def test_coordinates_come_in_pairs(coordinates: dict[str, float | None]) -> None:
    place = {"city": "Utrecht", "province": "utrecht", **coordinates}
    text = error_text(Assignment, assignment_document(location=place))
    assert "lat and lon must be given together" in text


def test_coordinates_are_optional_and_range_checked() -> None:
    bare = Assignment.model_validate(
        assignment_document(location={"city": "Utrecht", "province": "utrecht"})
    )
    assert (bare.location.lat, bare.location.lon) == (None, None)
    far = {"city": "X", "province": "utrecht", "lat": 91.0, "lon": 5.0}
    assert error_locations(Assignment, assignment_document(location=far)) == {"location.lat"}


def test_blank_text_is_rejected_and_text_is_stripped() -> None:
    assert error_locations(Assignment, assignment_document(title="   ")) == {"title"}
    assert Assignment.model_validate(assignment_document(title="  Woordvoerder ")).title == (
        "Woordvoerder"
    )


def test_closes_at_must_carry_a_timezone() -> None:
    doc = assignment_document(closes_at="2026-12-01T12:00:00")
    assert error_locations(Assignment, doc) == {"closes_at"}


@pytest.mark.parametrize(
    ("doc", "location"),
    [
        (assignment_document(budget=1000), "budget"),
        (
            assignment_document(organization={"name": "X", "type": "ministry", "ceo": "Y"}),
            "organization.ceo",
        ),
        (
            assignment_document(location={"city": "X", "province": "utrecht", "zip": "1234"}),
            "location.zip",
        ),
        (assignment_document(hours_per_week={"min": 4, "max": 8, "avg": 6}), "hours_per_week.avg"),
    ],
)
def test_assignment_forbids_extra_fields(doc: dict[str, Any], location: str) -> None:
    assert error_locations(Assignment, doc) == {location}


def test_profile_forbids_extra_fields() -> None:
    assert error_locations(ConsultantProfile, consultant_document(nickname="A")) == {"nickname"}
    notification = {"channels": ["email"], "phone": "06"}
    doc = consultant_document(notification=notification)
    assert error_locations(ConsultantProfile, doc) == {"notification.phone"}


def test_models_are_immutable() -> None:
    assignment = Assignment.model_validate(assignment_document())
    with pytest.raises(ValidationError):
        assignment.title = "Other"  # type: ignore[misc]  # writing to a frozen model is the test


# --- size class ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inhabitants", "size"),
    [
        (0, SizeClass.SMALL),
        (24_999, SizeClass.SMALL),
        (25_000, SizeClass.MEDIUM),
        (100_000, SizeClass.MEDIUM),
        (100_001, SizeClass.LARGE),
        (900_000, SizeClass.LARGE),
    ],
)
def test_size_class_boundaries(inhabitants: int, size: SizeClass) -> None:
    org = Organization(name="Gemeente", type=OrganizationType.MUNICIPALITY, inhabitants=inhabitants)
    assert org.size_class is size
    assert SizeClass.for_inhabitants(inhabitants) is size


@pytest.mark.parametrize("org_type", [t for t in OrganizationType if t is not t.MUNICIPALITY])
def test_size_class_is_for_municipalities_only(org_type: OrganizationType) -> None:
    assert Organization(name="X", type=org_type, inhabitants=50_000).size_class is None


def test_size_class_is_unknown_without_inhabitants() -> None:
    assert Organization(name="X", type=OrganizationType.MUNICIPALITY).size_class is None


def test_negative_inhabitants_are_rejected() -> None:
    org = {"name": "X", "type": "municipality", "inhabitants": -1}
    assert error_locations(Assignment, assignment_document(organization=org)) == {
        "organization.inhabitants"
    }


# --- consultant profile ------------------------------------------------------------------------


def test_specialisms_must_be_disciplines() -> None:
    doc = consultant_document(disciplines=["campaigns"], specialisms=["events"])
    text = error_text(ConsultantProfile, doc)
    assert "specialisms must be a subset of disciplines" in text
    assert "events" in text


def test_at_most_three_specialisms() -> None:
    four = ["campaigns", "events", "social_media", "press_relations"]
    ok = ConsultantProfile.model_validate(
        consultant_document(disciplines=four, specialisms=four[:3])
    )
    assert len(ok.specialisms) == 3
    doc = consultant_document(disciplines=four, specialisms=four)
    assert error_locations(ConsultantProfile, doc) == {"specialisms"}


def test_one_to_ten_unique_disciplines() -> None:
    eleven = [d.value for d in Discipline][:11]
    for bad in ([], eleven, ["events", "events"]):
        doc = consultant_document(disciplines=bad, specialisms=[])
        assert error_locations(ConsultantProfile, doc) == {"disciplines"}


def test_public_sector_years_cannot_exceed_experience() -> None:
    same = ConsultantProfile.model_validate(
        consultant_document(years_experience=6, public_sector_years=6)
    )
    assert same.public_sector_years == 6
    text = error_text(
        ConsultantProfile, consultant_document(years_experience=5, public_sector_years=6)
    )
    assert "public_sector_years must not exceed years_experience" in text


def test_profile_defaults_are_privacy_safe() -> None:
    document = consultant_document()
    del document["consent"], document["language"]
    profile = ConsultantProfile.model_validate(document)
    assert profile.consent is False
    assert profile.language is Language.NL
    assert profile.notification.channels == [Channel.EMAIL]


def test_invalid_email_is_rejected() -> None:
    assert error_locations(ConsultantProfile, consultant_document(email="not-an-email")) == {
        "email"
    }


@pytest.mark.parametrize("missing", ["webhook_url", "webhook_secret"])
def test_webhook_channel_requires_url_and_secret(missing: str) -> None:
    notification = webhook_notification()
    del notification[missing]
    text = error_text(ConsultantProfile, consultant_document(notification=notification))
    assert "the webhook channel requires webhook_url and webhook_secret" in text


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("wh_" + base64.b64encode(b"k" * 32).decode(), "must start with 'whsec_'"),
        (base64.b64encode(b"k" * 32).decode(), "must start with 'whsec_'"),
        ("whsec_not*base64!", "must be base64"),
        ("whsec_" + base64.b64encode(b"k" * 23).decode(), "24 to 64 bytes"),
        ("whsec_" + base64.b64encode(b"k" * 65).decode(), "24 to 64 bytes"),
        ("whsec_", "24 to 64 bytes"),
    ],
)
def test_bad_webhook_secrets_are_rejected(secret: str, message: str) -> None:
    doc = consultant_document(notification=webhook_notification(webhook_secret=secret))
    with pytest.raises(ValidationError) as caught:
        ConsultantProfile.model_validate(doc)
    (error,) = caught.value.errors()
    assert error["loc"] == ("notification", "webhook_secret")
    assert message in error["msg"]
    # What logs and dead-letter headers carry must not echo the rejected secret.
    assert secret not in describe_validation_error(caught.value)


@pytest.mark.parametrize("size", [24, 64])
def test_webhook_secret_key_length_bounds_are_inclusive(size: int) -> None:
    secret = "whsec_" + base64.b64encode(b"k" * size).decode()
    prefs = NotificationPreferences.model_validate(webhook_notification(webhook_secret=secret))
    assert prefs.webhook_secret is not None
    assert prefs.webhook_secret.get_secret_value() == secret


def test_bad_webhook_url_is_rejected() -> None:
    doc = webhook_notification(webhook_url="ftp://example.org/x")
    assert error_locations(NotificationPreferences, doc) == {"webhook_url"}


def test_webhook_secret_is_masked_in_repr_and_str() -> None:
    profile = ConsultantProfile.model_validate(
        consultant_document(notification=webhook_notification())
    )
    for shown in (repr(profile), str(profile), repr(profile.notification), f"{profile}"):
        assert SECRET not in shown
    assert "**********" in repr(profile.notification)
    assert SECRET not in str(profile.model_dump())


def test_webhook_secret_travels_in_json_dumps() -> None:
    """The notifier signs with it, so the wire form must carry it (DOMAIN.md section 6)."""
    profile = ConsultantProfile.model_validate(
        consultant_document(notification=webhook_notification())
    )
    assert SECRET in profile.model_dump_json()
    assert profile.model_dump(mode="json")["notification"]["webhook_secret"] == SECRET
    again = ConsultantProfile.model_validate_json(profile.model_dump_json())
    assert again == profile
    assert again.notification.webhook_secret is not None
    assert again.notification.webhook_secret.get_secret_value() == SECRET


def test_profile_without_webhook_dumps_no_secret() -> None:
    profile = ConsultantProfile.model_validate(consultant_document())
    assert profile.model_dump(mode="json")["notification"]["webhook_secret"] is None


# --- summaries and match ids -------------------------------------------------------------------


def test_confidential_summary_hides_name_and_city_only() -> None:
    assignment = Assignment.model_validate(
        assignment_document(
            visibility="confidential",
            organization={
                "name": "Gemeente Geheimstad",
                "type": "municipality",
                "inhabitants": 30_000,
            },
            location={"city": "Geheimstad", "province": "drenthe", "lat": 52.9, "lon": 6.5},
        )
    )
    summary = AssignmentSummary.of(assignment)
    assert summary.organization.name is None
    assert summary.location.city is None
    assert summary.organization.type is OrganizationType.MUNICIPALITY
    assert summary.organization.size_class is SizeClass.MEDIUM
    assert summary.location.province is Province.DRENTHE
    assert summary.visibility is Visibility.CONFIDENTIAL
    assert "Geheimstad" not in summary.model_dump_json()


def test_public_summary_keeps_name_and_city() -> None:
    assignment = Assignment.model_validate(
        assignment_document(
            organization={
                "name": "Gemeente Zwolle",
                "type": "municipality",
                "inhabitants": 130_000,
            },
            location={"city": "Zwolle", "province": "overijssel", "lat": 52.51, "lon": 6.09},
            disciplines_preferred=["social_media"],
        )
    )
    summary = AssignmentSummary.of(assignment)
    assert summary.organization.name == "Gemeente Zwolle"
    assert summary.location.city == "Zwolle"
    assert summary.organization.size_class is SizeClass.LARGE
    assert summary.id == assignment.id
    assert summary.title == assignment.title
    assert summary.disciplines_required == assignment.disciplines_required
    assert summary.disciplines_preferred == assignment.disciplines_preferred
    assert summary.hours_per_week == assignment.hours_per_week
    assert summary.start_date == assignment.start_date
    assert summary.duration_months == assignment.duration_months
    assert summary.office_days_per_week == assignment.office_days_per_week


def test_match_id_is_a_deterministic_uuid_per_pair() -> None:
    first = match_id_for("a-1", "c-1")
    assert first == match_id_for("a-1", "c-1")
    assert uuid.UUID(first).version == 5
    others = {
        match_id_for("a-1", "c-2"),
        match_id_for("a-2", "c-1"),
        match_id_for("c-1", "a-1"),
        match_id_for("a-1c", "-1"),
    }
    assert first not in others
    assert len(others) == 4


def test_match_id_is_stable_across_releases() -> None:
    """Stored matches are keyed by it: a new namespace would re-notify every pair."""
    assert match_id_for("a-1", "c-1") == "006ef7b9-4a99-5521-8b68-91ea423f4e17"


def test_match_id_does_not_confuse_where_one_id_ends() -> None:
    assert match_id_for("ab", "c") != match_id_for("a", "bc")
