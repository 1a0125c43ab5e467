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
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from koppel.cloudevents import CloudEvent, encode_binary
from koppel.secret_sealing import SecretKeyring, new_key
from koppel.topics import RAW, dlq
from koppel_intake.service_layer.raw_routing import (
    MAX_OUTPUT_BYTES,
    IncomingRecord,
    Routed,
    route,
)
from koppel_intake.service_layer.records import output_size
from koppel_testing.builders import assignment_document

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
    event = CloudEvent(
        id="upstream-1",
        source="/crm",
        type="nl.koppel.assignment.upserted",
        subject="A-1",
        time=NOW,
        data=assignment_document("A-1", **changes),
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
