"""The recovery decision of a shard being taken over (database seq vs Kafka seq)."""

from __future__ import annotations

import pytest

from koppel_matcher.adapters.exactly_once import (
    Recovery,
    parse_seq_metadata,
    plan_recovery,
    seq_metadata,
)


@pytest.mark.parametrize(
    ("database", "kafka", "action", "seq"),
    [
        (0, None, Recovery.CONSISTENT, 0),  # a brand-new shard
        (7, 7, Recovery.CONSISTENT, 7),
        (8, 7, Recovery.UNDO_LAST, 7),  # crash after the DB commit, before the Kafka commit
        (1, None, Recovery.UNDO_LAST, 0),  # the same for the very first transaction
        (9, None, Recovery.OFFSETS_LOST, 9),  # committed offsets expired
        (5, 7, Recovery.DIVERGED, 7),  # database restored from an older backup
        (9, 7, Recovery.DIVERGED, 9),
    ],
)
def test_plan_recovery(database: int, kafka: int | None, action: Recovery, seq: int) -> None:
    plan = plan_recovery(database, kafka)
    assert (plan.action, plan.seq) == (action, seq)


def test_seq_metadata_round_trip() -> None:
    assert parse_seq_metadata(seq_metadata(42)) == 42
    assert parse_seq_metadata("") is None
    assert parse_seq_metadata(None) is None
    assert parse_seq_metadata("seq=x") is None
    assert parse_seq_metadata("other") is None
