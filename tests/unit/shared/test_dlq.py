"""The dead-letter tool's pure parts: both header spellings, selection, supersession."""

from __future__ import annotations

from koppel.dead_letter_reading import REPLAYED_FROM, DeadLetter, Selection
from koppel.dead_letter_replay import checks_supersession, superseded
from koppel.topics import ASSIGNMENTS, CONSULTANTS, MATCHES, NOTIFICATIONS, RAW

ORIGINAL = (("content-type", b"application/cloudevents+json"), ("ce_traceparent", b"00-ab"))


def _intake_style(offset: int = 4, key: bytes | None = b"a-1") -> DeadLetter:
    return DeadLetter(
        "koppel.intake.raw.v1.dlq",
        0,
        offset,
        key,
        b"{}",
        (
            *ORIGINAL,
            ("koppel-error-code", b"invalid_payload"),
            ("koppel-error-reason", b"data.level: bad"),
            ("koppel-error-source-topic", b"koppel.intake.raw.v1"),
            ("koppel-error-source-partition", b"3"),
            ("koppel-error-source-offset", b"17"),
            ("koppel-error-at", b"2026-11-23T16:00:00+00:00"),
        ),
    )


def _matcher_style() -> DeadLetter:
    return DeadLetter(
        "koppel.consultants.v1.dlq",
        0,
        9,
        b"c-1",
        b"{}",
        (
            *ORIGINAL,
            ("koppel-error-code", b"processing_failed"),
            ("koppel-error-reason", b"boom"),
            ("koppel-error-source-topic", b"koppel.consultants.v1"),
            ("koppel-error-source-partition", b"2"),
            ("koppel-error-source-offset", b"40"),
        ),
    )


def test_reads_the_error_headers_of_intake_and_notifier() -> None:
    dead = _intake_style()
    assert (dead.code, dead.reason) == ("invalid_payload", "data.level: bad")
    assert (dead.source_topic, dead.source_partition, dead.source_offset) == (RAW, 3, 17)
    assert dead.describe()["at"] == "2026-11-23T16:00:00+00:00"


def test_reads_the_error_headers_of_the_matcher() -> None:
    dead = _matcher_style()
    assert (dead.source_topic, dead.source_partition, dead.source_offset) == (CONSULTANTS, 2, 40)
    assert dead.describe()["source"] == "koppel.consultants.v1:2:40"


def test_original_headers_drop_error_and_replay_headers_only() -> None:
    dead = DeadLetter(
        "t.dlq", 0, 1, b"k", b"v", (*_matcher_style().headers, (REPLAYED_FROM, b"t.dlq:0:0"))
    )
    assert dead.original_headers == list(ORIGINAL)


def test_without_source_headers_the_source_is_the_dlq_name_and_position_unknown() -> None:
    dead = DeadLetter("koppel.matches.v1.dlq", 0, 0, b"c", b"v", ())
    assert (dead.source_topic, dead.source_partition, dead.source_offset) == (MATCHES, None, None)
    assert superseded(dead, {}) is None


def test_selection_combines_offsets_codes_and_key() -> None:
    dead = _intake_style(offset=4)
    assert Selection()(dead)
    assert Selection(from_offset=4, until_offset=5)(dead)
    assert not Selection(from_offset=5)(dead)
    assert not Selection(until_offset=4)(dead)
    assert Selection(codes=frozenset({"invalid_payload", "unknown_type"}))(dead)
    assert not Selection(codes=frozenset({"unknown_type"}))(dead)
    assert Selection(key="a-1")(dead)
    assert not Selection(key="a-2")(dead)
    assert not Selection(key="a-1")(_intake_style(key=None))


def test_superseded_only_by_a_later_record_with_the_same_key_on_the_source_partition() -> None:
    dead = _intake_style()  # raw, partition 3, offset 17, key a-1
    assert superseded(dead, {}) is False
    assert superseded(dead, {(RAW, 3, b"a-1"): 17}) is False
    assert superseded(dead, {(RAW, 3, b"a-1"): 18}) is True
    assert superseded(dead, {(RAW, 2, b"a-1"): 99, (RAW, 3, b"b-1"): 99}) is False


def test_only_entity_keyed_topics_are_checked_for_supersession() -> None:
    assert checks_supersession(RAW)
    assert checks_supersession(ASSIGNMENTS)
    assert checks_supersession(CONSULTANTS)
    assert not checks_supersession(MATCHES)
    assert not checks_supersession(NOTIFICATIONS)
