"""The erasure record's key and the rule late and replayed records are checked by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from koppel.erasure import erasure_key, tombstone_time, written_before_erasure

ERASED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_the_key_does_not_contain_the_id() -> None:
    key = erasure_key("anne-1")
    assert "anne-1" not in key
    assert key == erasure_key("anne-1")
    assert len(key) == 64


def test_only_records_written_after_the_erasure_count() -> None:
    assert written_before_erasure(ERASED - timedelta(days=20), ERASED)
    assert written_before_erasure(ERASED, ERASED)
    assert written_before_erasure(None, ERASED)
    assert not written_before_erasure(ERASED + timedelta(milliseconds=1), ERASED)
    assert not written_before_erasure(None, None)


def test_a_tombstone_is_dated_by_ce_time_then_by_the_record() -> None:
    headers = [("ce_id", b"x"), ("ce_time", b"2026-12-01T10:00:00+00:00")]
    assert tombstone_time(headers, 1) == ERASED
    record_ms = int(ERASED.timestamp() * 1000)
    assert tombstone_time([("ce_time", b"not a time")], record_ms) == ERASED
    assert tombstone_time([("ce_time", b"2026-12-01T10:00:00")], record_ms) == ERASED
    assert tombstone_time(None, record_ms) == ERASED
    before = datetime.now(UTC)
    assert tombstone_time([], None) >= before
