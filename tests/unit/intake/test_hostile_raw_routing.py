"""Routing hostile raw records (pure): one output each, never an exception, never a stall.

Covers the faults the hostile-input integration test found: a null `ce_id` header read as
the id "None", deeply nested JSON ending as an internal error, and a dead letter too large
for Kafka (which stalled its partition for good).
"""

from __future__ import annotations

import contextvars
import json
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from koppel.cloudevents import CloudEvent, decode, encode_binary
from koppel.contract import ConsultantProfile
from koppel.event_types import EventType
from koppel.secret_sealing import SecretKeyring, new_key
from koppel.topics import RAW, dlq
from koppel_intake.service_layer.raw_routing import (
    MAX_OUTPUT_BYTES,
    IncomingRecord,
    Routed,
    route,
)
from koppel_intake.service_layer.records import output_size
from koppel_testing.builders import assignment_document, consultant_document

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EXAMPLES = int(os.environ.get("KOPPEL_FUZZ_EXAMPLES", "300"))
MiB = 1024 * 1024
RawHeaders = tuple[tuple[str, bytes | None], ...]
KEYRING = SecretKeyring.parse(new_key("unit"))


def _record(key: bytes | None, value: bytes | None, headers: RawHeaders = ()) -> IncomingRecord:
    return IncomingRecord(topic=RAW, partition=1, offset=7, key=key, value=value, headers=headers)


def _route(record: IncomingRecord, *, now: datetime) -> Routed:
    # In a copy of the context, as the consumer does: route() binds log context variables.
    return contextvars.copy_context().run(route, record, keyring=KEYRING, now=now)


def _binary_assignment(**changes: Any) -> tuple[bytes, list[tuple[str, bytes | None]]]:
    """Assignment A-1 as an upstream sends it in binary mode, with `changes` to its data."""
    return _binary(EventType.ASSIGNMENT_UPSERTED, assignment_document("A-1", **changes))


def _binary(
    event_type: EventType, data: dict[str, Any]
) -> tuple[bytes, list[tuple[str, bytes | None]]]:
    event = CloudEvent(
        id="upstream-1",
        source="/crm",
        type=event_type.value,
        subject=data["id"],
        time=NOW,
        data=data,
    )
    value, headers = encode_binary(event)
    return value, list(headers)


def test_a_valid_binary_event_is_routed() -> None:
    value, headers = _binary_assignment()

    assert not _route(_record(b"A-1", value, tuple(headers)), now=NOW).dead_lettered


def test_a_ce_header_without_value_is_a_dead_letter_not_the_text_none() -> None:
    value, headers = _binary_assignment()
    nulled = tuple((name, None if name == "ce_id" else raw) for name, raw in headers)

    routed = _route(_record(b"A-1", value, nulled), now=NOW)

    assert routed.code == "invalid_envelope"
    assert b"'ce_id' has no value" in _header(routed.record.headers, "koppel-error-reason")
    assert routed.record.headers[: len(nulled)] == nulled


def test_an_unrelated_header_without_value_is_ignored() -> None:
    value, headers = _binary_assignment()

    routed = _route(_record(b"A-1", value, (*headers, ("x-origin", None))), now=NOW)

    assert not routed.dead_lettered


def test_deeply_nested_json_is_an_invalid_envelope_not_an_internal_error() -> None:
    value = b"[" * 100_000 + b"]" * 100_000

    routed = _route(_record(b"k", value), now=NOW)

    assert routed.code == "invalid_envelope"
    assert b"nested too deeply" in _header(routed.record.headers, "koppel-error-reason")


def test_a_dead_letter_that_fits_keeps_the_original_whole() -> None:
    value = b"\x00" * (MiB - 4096)

    routed = _route(_record(b"k", value, (("x", b"y"),)), now=NOW)

    assert routed.record.value == value
    assert routed.record.key == b"k"
    assert output_size(routed.record) <= MAX_OUTPUT_BYTES


def test_a_dead_letter_too_large_for_kafka_drops_key_and_value_but_says_so() -> None:
    routed = _route(_record(b"k", b"\x00" * (MiB - 200), (("x-origin", b"crm"),)), now=NOW)

    letter = routed.record
    assert letter.topic == dlq(RAW)
    assert (letter.key, letter.value) == (None, None)
    headers = dict(letter.headers)
    assert headers["x-origin"] == b"crm"
    assert headers["koppel-error-source-offset"] == b"7"
    assert _header(letter.headers, "koppel-error-omitted").startswith(b"key and value omitted")
    assert output_size(letter) <= MAX_OUTPUT_BYTES


def test_headers_too_large_for_kafka_are_dropped_too() -> None:
    huge_headers = tuple((f"h{i}", b"v" * 1000) for i in range(1100))

    letter = _route(_record(b"k", b"junk", huge_headers), now=NOW).record

    headers = dict(letter.headers)
    assert "h0" not in headers
    assert _header(letter.headers, "koppel-error-omitted").startswith(
        b"key, value and headers omitted"
    )
    assert output_size(letter) <= MAX_OUTPUT_BYTES


header_values = st.one_of(st.none(), st.binary(max_size=64))
headers_strategy = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from(
                ["ce_specversion", "ce_id", "ce_source", "ce_type", "content-type", "x-any"]
            ),
            st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
        ),
        header_values,
    ),
    max_size=8,
).map(tuple)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=25,
)
values = st.one_of(
    st.none(),
    st.binary(max_size=2000),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"specversion": st.just("1.0"), "id": json_values, "source": json_values},
        optional={"type": json_values, "data": json_values, "subject": json_values},
    ).map(lambda d: json.dumps(d).encode()),
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(key=st.none() | st.binary(max_size=80), value=values, headers=headers_strategy)
def test_any_record_yields_one_output_and_a_dead_letter_keeps_it_as_received(
    key: bytes | None, value: bytes | None, headers: RawHeaders
) -> None:
    routed = _route(_record(key, value, headers), now=NOW)

    assert output_size(routed.record) <= MAX_OUTPUT_BYTES
    if routed.dead_lettered:
        letter = routed.record
        assert letter.topic == dlq(RAW)
        assert (letter.key, letter.value) == (key, value)
        assert letter.headers[: len(headers)] == headers
        errors = dict(letter.headers[len(headers) :])
        assert errors["koppel-error-code"] == (routed.code or "").encode()
        assert errors["koppel-error-reason"]
        assert routed.code != "internal_error"


def _header(headers: RawHeaders | Sequence[tuple[str, bytes | None]], name: str) -> bytes:
    value = dict(headers)[name]
    assert value is not None, name
    return value


def test_a_nul_character_in_the_data_is_an_invalid_payload() -> None:
    value, headers = _binary_assignment(title="a\x00b")

    routed = _route(_record(b"A-1", value, tuple(headers)), now=NOW)

    assert routed.code == "invalid_payload"
    assert b"data.title" in _header(routed.record.headers, "koppel-error-reason")


# -- the part-time portfolio and the finer preferences (contract §8.4–8.5) ----------------

weekdays = st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun", "", "MON"])
labels = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(["Gemeente Houten", "Houten\n", "Houten\r\nBcc: x", "a\u202eb", "a\x00b"]),
)
commitments = st.fixed_dictionaries(
    {"hours_per_week": st.one_of(st.integers(-2, 45), st.text(max_size=3), st.floats(0, 40))},
    optional={
        "label": labels,
        "office_weekdays": st.lists(weekdays, max_size=7),
        "until": st.one_of(st.dates().map(date.isoformat), st.text(max_size=12)),
    },
)
disciplines = st.sampled_from(
    ["campaigns", "events", "social_media", "press_relations", "citizen_participation", "x"]
)
portfolios = st.fixed_dictionaries(
    {},
    optional={
        "commitments": st.lists(commitments, max_size=12),
        "committed_hours_per_week": st.one_of(st.integers(-1, 41), st.none()),
        "preferred_size_classes": st.lists(
            st.sampled_from(["small", "medium", "large", "huge"]), max_size=4
        ),
        "growth_disciplines": st.lists(disciplines, max_size=5),
    },
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(fields=portfolios)
def test_a_portfolio_is_routed_as_the_contract_reads_it_or_dead_lettered_naming_its_field(
    fields: dict[str, Any],
) -> None:
    data = consultant_document("C-1", **fields)
    value, headers = _binary(EventType.CONSULTANT_UPSERTED, data)

    routed = _route(_record(b"C-1", value, tuple(headers)), now=NOW)

    try:
        expected = ConsultantProfile.model_validate(data)
    except ValidationError:
        assert routed.code == "invalid_payload"
        reason = _header(routed.record.headers, "koppel-error-reason").decode()
        assert any(field in reason for field in fields), reason
        return
    assert not routed.dead_lettered, routed.code
    published = decode(routed.record.value, routed.record.headers).data
    assert published["commitments"] == expected.model_dump(mode="json")["commitments"]
    assert "committed_hours_per_week" not in published


@settings(max_examples=EXAMPLES, deadline=None)
@given(days=st.integers(0, 5), office_weekdays=st.lists(weekdays, max_size=6))
def test_office_weekdays_route_only_when_they_name_the_office_days(
    days: int, office_weekdays: list[str]
) -> None:
    data = assignment_document("A-1", office_days_per_week=days, office_weekdays=office_weekdays)
    value, headers = _binary(EventType.ASSIGNMENT_UPSERTED, data)

    routed = _route(_record(b"A-1", value, tuple(headers)), now=NOW)

    weekdays_ok = set(office_weekdays) <= {"mon", "tue", "wed", "thu", "fri"}
    unique = len(set(office_weekdays)) == len(office_weekdays)
    agrees = not office_weekdays or len(office_weekdays) == days
    if weekdays_ok and unique and agrees:
        assert not routed.dead_lettered, routed.code
        published = decode(routed.record.value, routed.record.headers).data
        assert published["office_weekdays"] == office_weekdays
    else:
        assert routed.code == "invalid_payload"
        assert b"office_weekdays" in _header(routed.record.headers, "koppel-error-reason")
