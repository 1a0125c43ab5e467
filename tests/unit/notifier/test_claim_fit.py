"""Which claim candidates fit the free slots (per-endpoint and email limits)."""

from __future__ import annotations

from typing import Any

from koppel_notifier.adapters.delivery_store import Capacity, fit_capacity


def row(number: int, channel: str = "webhook", url: str | None = "https://a.example/h") -> Any:
    return {"id": number, "channel": channel, "webhook_url": url}


def test_an_endpoint_never_gets_more_than_its_limit() -> None:
    candidates = [row(n) for n in range(10)] + [row(10, url="https://b.example/h")]
    capacity = Capacity(total=20, email=0, endpoint_limit=2, busy_endpoints={})
    assert fit_capacity(candidates, capacity) == [0, 1, 10]


def test_busy_endpoints_count_against_the_limit() -> None:
    capacity = Capacity(
        total=20, email=0, endpoint_limit=2, busy_endpoints={"https://a.example/h": 1}
    )
    assert fit_capacity([row(0), row(1), row(2)], capacity) == [0]


def test_email_has_its_own_limit_and_the_total_caps_everything() -> None:
    candidates = [row(n, channel="email", url=None) for n in range(5)]
    candidates += [row(n, url=f"https://{n}.example/") for n in range(5, 10)]
    assert fit_capacity(
        candidates, Capacity(total=4, email=2, endpoint_limit=4, busy_endpoints={})
    ) == [
        0,
        1,
        5,
        6,
    ]
