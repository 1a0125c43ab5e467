from __future__ import annotations

from datetime import UTC, datetime

import pytest

from koppel_notifier.domain.outcome import Verdict, classify_http, parse_retry_after

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (202, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (301, Verdict.RETRY),
        (302, Verdict.RETRY),
        (307, Verdict.RETRY),
        (400, Verdict.RETRY),
        (401, Verdict.RETRY),
        (404, Verdict.RETRY),
        (410, Verdict.GONE),
        (429, Verdict.THROTTLED),
        (500, Verdict.RETRY),
        (502, Verdict.THROTTLED),
        (503, Verdict.THROTTLED),
        (504, Verdict.THROTTLED),
    ],
)
def test_http_status_verdicts(status: int, verdict: Verdict) -> None:
    assert classify_http(status, None, NOW).verdict is verdict


def test_a_redirect_says_it_was_not_followed() -> None:
    assert classify_http(302, None, NOW).detail == "webhook_redirect_302"


@pytest.mark.parametrize("status", [200, 410, 429, 500, 503])
def test_http_outcomes_are_error_codes_with_the_status(status: int) -> None:
    assert classify_http(status, None, NOW).detail == f"webhook_http_{status}"


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert classify_http(429, "120", NOW).retry_after == 120
    assert parse_retry_after("Mon, 02 Mar 2026 09:05:00 GMT", NOW) == 300
    assert parse_retry_after("Mon, 02 Mar 2026 08:00:00 GMT", NOW) == 0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5"])
def test_unusable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None
