"""W3C traceparent: continue a valid trace with a new span, start one otherwise."""

from __future__ import annotations

import pytest

from koppel_intake.domain.tracing import continue_trace, is_traceparent

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_valid_traceparent_keeps_trace_and_flags_with_a_new_span() -> None:
    result = continue_trace(VALID)

    version, trace_id, span_id, flags = result.split("-")
    assert (version, trace_id, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert span_id != "00f067aa0ba902b7"
    assert is_traceparent(result)


@pytest.mark.parametrize(
    "incoming",
    [
        None,
        "",
        "garbage",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    ],
)
def test_absent_or_invalid_traceparent_starts_a_new_trace(incoming: str | None) -> None:
    result = continue_trace(incoming)

    assert is_traceparent(result)
    assert result.endswith("-01")
    assert "4bf92f3577b34da6a3ce929d0e0e4736" not in result
