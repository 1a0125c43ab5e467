"""W3C traceparent: parse and format it, continue a valid trace with a new span, start one
otherwise, and find it on a Kafka record in either header form."""

from __future__ import annotations

import pytest

from koppel import tracing
from koppel.tracing import (
    TraceParent,
    continue_trace,
    from_headers,
    log_context,
    parse,
    trace_id_of,
    valid_traceparent,
)

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INVALID = [
    "",
    "garbage",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
]


def test_parse_and_format_round_trip() -> None:
    parsed = parse(VALID)

    assert parsed == TraceParent("00", TRACE_ID, "00f067aa0ba902b7", "01")
    assert str(parsed) == VALID


def test_blanks_and_upper_case_hex_are_normalised() -> None:
    assert valid_traceparent(f"  {VALID.upper()}\n") == VALID


@pytest.mark.parametrize("value", [None, *INVALID])
def test_invalid_values_are_not_passed_on(value: str | None) -> None:
    assert parse(value) is None
    assert valid_traceparent(value) is None
    assert trace_id_of(value) is None


def test_valid_traceparent_keeps_trace_and_flags_with_a_new_span() -> None:
    result = continue_trace(VALID)

    version, trace_id, span_id, flags = result.split("-")
    assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
    assert span_id != "00f067aa0ba902b7"
    assert valid_traceparent(result) == result


@pytest.mark.parametrize("incoming", [None, *INVALID])
def test_absent_or_invalid_traceparent_starts_a_new_trace(incoming: str | None) -> None:
    result = continue_trace(incoming)

    assert valid_traceparent(result) == result
    assert result.endswith("-01")
    assert TRACE_ID not in result


def test_log_context_names_the_trace_id() -> None:
    assert log_context(VALID) == {"traceparent": VALID, "trace_id": TRACE_ID}
    assert log_context(None) == {"traceparent": None, "trace_id": None}


def test_a_tombstones_binary_mode_header_is_read() -> None:
    headers = [("ce_id", b"e-1"), (tracing.BINARY_MODE_HEADER, VALID.encode())]

    assert from_headers(headers) == VALID


def test_a_plain_traceparent_header_is_read_when_there_is_no_binary_mode_one() -> None:
    assert from_headers([("traceparent", VALID.encode())]) == VALID
    other = continue_trace(None)
    both = [("traceparent", other.encode()), ("CE_TRACEPARENT", VALID.encode())]
    assert from_headers(both) == VALID


@pytest.mark.parametrize(
    "headers",
    [
        None,
        [],
        [("ce_traceparent", None)],
        [("ce_traceparent", b"garbage")],
        [("ce_traceparent", b"\xff")],
    ],
)
def test_records_without_a_valid_header_have_no_trace(
    headers: list[tuple[str, bytes | None]] | None,
) -> None:
    assert from_headers(headers) is None
