"""One spelling of the dead-letter headers for every service, and the codes they carry."""

from __future__ import annotations

from datetime import UTC, datetime

from koppel import dead_letters
from koppel.dead_letters import DeadLetterCode, error_headers
from koppel.errors import EnvelopeError, PayloadError


def test_error_headers_name_the_source_the_code_the_reason_and_the_time() -> None:
    at = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    headers = error_headers(
        code=DeadLetterCode.KEY_MISMATCH,
        reason="x" * 5000,
        topic="koppel.consultants.v1",
        partition=4,
        offset=17,
        at=at,
    )
    assert [name for name, _ in headers] == [
        "koppel-error-code",
        "koppel-error-reason",
        "koppel-error-source-topic",
        "koppel-error-source-partition",
        "koppel-error-source-offset",
        "koppel-error-at",
    ]
    values = dict(headers)
    assert values["koppel-error-code"] == b"key_mismatch"
    assert values["koppel-error-reason"] == b"x" * dead_letters.MAX_REASON_CHARS
    assert values["koppel-error-source-topic"] == b"koppel.consultants.v1"
    assert values["koppel-error-source-partition"] == b"4"
    assert values["koppel-error-source-offset"] == b"17"
    assert values["koppel-error-at"] == b"2026-11-23T17:00:00+00:00"


def test_the_time_defaults_to_now() -> None:
    headers = dict(
        error_headers(
            code=DeadLetterCode.INVALID_ENVELOPE, reason="r", topic="t", partition=0, offset=0
        )
    )
    assert datetime.fromisoformat(headers["koppel-error-at"].decode()).tzinfo is not None


def test_the_contract_errors_carry_codes_of_the_one_enum() -> None:
    assert EnvelopeError("x").code is DeadLetterCode.INVALID_ENVELOPE
    assert PayloadError("x").code is DeadLetterCode.INVALID_PAYLOAD
    assert PayloadError("x", code=DeadLetterCode.UNKNOWN_TYPE).code == "unknown_type"


def test_codes_are_distinct_snake_case_words() -> None:
    values = [code.value for code in DeadLetterCode]
    assert len(set(values)) == len(values)
    assert all(value.replace("_", "").isalpha() and value.islower() for value in values)
    assert "unexpected_type" not in values, "one spelling: unknown_type"
