"""Hostile records on `koppel.intake.raw.v1` against a real `koppel-intake` process.

Hypothesis generates the records (arbitrary bytes and headers, non-UTF-8 header values,
JSON that is almost a CloudEvent, valid envelopes around invalid data, binary-mode `ce_`
headers with junk, tombstones, huge keys); a seeded RNG adds random bytes. Every one must
reach `koppel.intake.raw.v1.dlq` as received plus a reason, and valid events sent after
the whole batch, one on every partition, must still reach `koppel.assignments.v1`.

Each record carries two marker headers (this run's id and its sequence number), kept by
the dead letter, so records of other tests on the shared topics never count.
`KOPPEL_FUZZ_EXAMPLES` raises the number of generated records per kind.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from koppel.cloudevents import CloudEvent, decode, encode, encode_binary
from koppel.event_types import EventType
from koppel.topics import ASSIGNMENTS, CONSULTANTS, RAW, dlq
from koppel.vocabulary import Discipline, Level
from koppel_testing.builders import assignment_document, consultant_document
from koppel_testing.integration_intake import StartIntake
from koppel_testing.kafka_reading import OpenLedger, OpenReader, Record, TopicReader

PER_KIND = int(os.environ.get("KOPPEL_FUZZ_EXAMPLES", "40"))
# The long run takes longer than the suite's 300 s per test.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(max(300, PER_KIND * 3)),
]
RUN_HEADER = "x-hostile-run"
SEQ_HEADER = "x-hostile-seq"
MiB = 1024 * 1024

Headers = Sequence[tuple[str, bytes | None]]


@dataclass(frozen=True)
class Hostile:
    kind: str
    key: bytes | None
    value: bytes | None
    headers: Headers
    field: str | None = None
    """The contract field its dead letter's reason must name, when one is broken on purpose."""


def _collect(strategy: st.SearchStrategy[Hostile], count: int) -> list[Hostile]:
    """`count` examples of `strategy` (Hypothesis as a generator; the test sends them)."""
    found: list[Hostile] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: Hostile) -> None:
        found.append(example)

    collect()
    return found


header_names = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=40
).filter(lambda name: name not in {RUN_HEADER, SEQ_HEADER})
non_utf8 = st.binary(min_size=1, max_size=50).filter(lambda raw: not _is_utf8(raw))
header_values = st.one_of(st.binary(max_size=200), non_utf8, st.none())
arbitrary_headers = st.lists(st.tuples(header_names, header_values), max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
not_a_string = st.one_of(st.none(), st.integers(), st.booleans(), st.just(""), st.lists(st.text()))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def _envelope(assignment_id: str, data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/upstream/hostile",
        "type": EventType.ASSIGNMENT_UPSERTED.value,
        "subject": assignment_id,
        "time": datetime.now(UTC).isoformat(),
        "data": data,
    }


STRUCTURED = [("content-type", b"application/cloudevents+json")]


@st.composite
def arbitrary_records(draw: st.DrawFn) -> Hostile:
    return Hostile(
        "arbitrary",
        draw(st.none() | st.binary(max_size=100)),
        draw(st.binary(max_size=3000)),
        draw(arbitrary_headers),
    )


@st.composite
def arbitrary_json(draw: st.DrawFn) -> Hostile:
    value = json.dumps(draw(json_values)).encode()
    return Hostile("json", draw(st.binary(max_size=30)), value, draw(arbitrary_headers))


@st.composite
def almost_cloudevents(draw: st.DrawFn) -> Hostile:
    """A valid assignment event with one required attribute missing or made wrong."""
    assignment_id = f"H-{uuid.uuid4().hex[:12]}"
    document = _envelope(assignment_id, assignment_document(assignment_id))
    attribute = draw(st.sampled_from(["specversion", "id", "source", "type"]))
    if draw(st.booleans()):
        del document[attribute]
    elif attribute == "specversion":
        document[attribute] = draw(json_values.filter(lambda v: v != "1.0"))
    elif attribute == "type":
        known = [t.value for t in EventType]
        document[attribute] = draw(json_values.filter(lambda v: v not in known))
    else:
        document[attribute] = draw(not_a_string)
    content_type = draw(st.sampled_from([STRUCTURED, [("content-type", b"application/json")]]))
    return Hostile(
        "almost_cloudevent", assignment_id.encode(), json.dumps(document).encode(), content_type
    )


_INVALID_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "level": st.text().filter(lambda v: v not in {level.value for level in Level}),
    "hours_per_week": st.just({"min": 40, "max": 8}),
    "disciplines_required": st.one_of(
        st.just([]),
        st.lists(st.text().filter(lambda v: v not in {d.value for d in Discipline}), min_size=1),
    ),
    "duration_months": st.integers().filter(lambda n: not 1 <= n <= 24),
    "office_days_per_week": st.integers().filter(lambda n: not 0 <= n <= 5),
    "title": st.one_of(
        st.none(),
        st.just(""),
        st.text("abc", min_size=201, max_size=400),
        st.sampled_from(["\n", "\r", "\t", "\x85", "\u2028", "\u202e", "\u2066", "\u200f"]).map(
            lambda control: f"Interim{control}woordvoerder"
        ),
    ),
    "start_date": st.text(max_size=20),
    "organization": st.one_of(st.none(), st.just({"name": "X", "type": "bakery"})),
    # The builder's assignment has two office days: one weekday, or a Sunday, never fits.
    "office_weekdays": st.sampled_from([["mon"], ["mon", "sun"], ["tue", "tue"], "mon"]),
    "unexpected_field": st.just("extra fields are refused"),
}

_HOUTEN = {"label": "Gemeente Houten", "hours_per_week": 16, "office_weekdays": ["mon"]}
_INVALID_PROFILE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "commitments": st.one_of(
        st.integers().filter(lambda n: not 1 <= n <= 40).map(lambda n: [{"hours_per_week": n}]),
        st.just([_HOUTEN] * 11),
        st.just([{**_HOUTEN, "office_weekdays": ["sat"]}]),
        st.sampled_from(["\n", "\r", "\x00", "\u2028", "\u202e"]).map(
            lambda control: [{**_HOUTEN, "label": f"Gemeente{control}Houten"}]
        ),
    ),
    # Given with `commitments` (the builder's profile holds one): contract v1 and v2 at once.
    "committed_hours_per_week": st.integers(0, 40),
    "preferred_size_classes": st.just(["huge"]),
    "growth_disciplines": st.sampled_from(
        [["citizen_participation"], ["campaigns", "events", "social_media", "press_relations"]]
    ),
}


@st.composite
def invalid_data(draw: st.DrawFn) -> Hostile:
    """A valid envelope (structured or binary mode) whose assignment breaks the contract."""
    assignment_id = f"H-{uuid.uuid4().hex[:12]}"
    data = assignment_document(assignment_id)
    field = draw(st.sampled_from(sorted(_INVALID_FIELDS)))
    data[field] = draw(_INVALID_FIELDS[field])
    if field == "start_date":
        data[field] = data[field] + "x"  # never an ISO date
    event = CloudEvent.model_validate(_envelope(assignment_id, data))
    value, headers = draw(st.sampled_from([encode, encode_binary]))(event)
    named = field if field == "office_weekdays" else None
    return Hostile("invalid_data", assignment_id.encode(), value, list(headers), named)


@st.composite
def invalid_profiles(draw: st.DrawFn) -> Hostile:
    """A valid consultant event whose profile breaks a rule of contract §8.4–8.5."""
    consultant_id = f"H-{uuid.uuid4().hex[:12]}"
    data = consultant_document(consultant_id, commitments=[_HOUTEN])
    field = draw(st.sampled_from(sorted(_INVALID_PROFILE_FIELDS)))
    data[field] = draw(_INVALID_PROFILE_FIELDS[field])
    envelope = {**_envelope(consultant_id, data), "type": EventType.CONSULTANT_UPSERTED.value}
    event = CloudEvent.model_validate(envelope)
    value, headers = draw(st.sampled_from([encode, encode_binary]))(event)
    return Hostile("invalid_profile", consultant_id.encode(), value, list(headers), field)


@st.composite
def binary_mode_junk(draw: st.DrawFn) -> Hostile:
    """`ce_*` headers present, but junk in them or in the value."""
    assignment_id = f"H-{uuid.uuid4().hex[:12]}"
    headers: list[tuple[str, bytes | None]] = [
        ("ce_specversion", b"1.0"),
        ("ce_id", uuid.uuid4().hex.encode()),
        ("ce_source", b"/upstream/hostile"),
        ("ce_type", EventType.ASSIGNMENT_UPSERTED.value.encode()),
        ("content-type", b"application/json"),
    ]
    value: bytes | None = json.dumps(assignment_document(assignment_id)).encode()
    spoil = draw(st.sampled_from(["header", "drop", "value", "content_type"]))
    if spoil == "header":
        position = draw(st.integers(0, 3))
        name = headers[position][0]
        junk = draw(st.one_of(non_utf8, st.binary(max_size=40), st.none()))
        if name == "ce_type" and junk == headers[position][1]:
            junk = b"nl.koppel.nothing"
        if name in {"ce_id", "ce_source"} and junk is not None and _is_utf8(junk) and junk:
            junk = b"\xff" + junk
        if name == "ce_specversion" and junk == b"1.0":
            junk = b"0.3"
        headers[position] = (name, junk)
    elif spoil == "drop":
        del headers[draw(st.integers(0, 3))]
    elif spoil == "value":
        value = draw(st.one_of(st.binary(max_size=500), st.none()))
    else:
        headers[-1] = ("content-type", draw(st.sampled_from([b"text/plain", b"\xff\xfe", b""])))
    return Hostile("binary_junk", assignment_id.encode(), value, headers)


@st.composite
def tombstones(draw: st.DrawFn) -> Hostile:
    return Hostile(
        "tombstone", draw(st.none() | st.binary(max_size=64)), None, draw(arbitrary_headers)
    )


def _fixed_cases(rng: random.Random) -> list[Hostile]:
    """Sizes Hypothesis would not reach: huge keys, large and near-limit values."""
    big_event = json.dumps(_envelope("H-big", {"blob": "x" * (512 * 1024)})).encode()
    return [
        Hostile("huge_key", rng.randbytes(512 * 1024), b"{}", []),
        Hostile("huge_key", b"k" * (900 * 1024), None, []),
        Hostile("huge_value", None, rng.randbytes(MiB - 4096), []),
        # As large as a producer may send: its dead letter, with error headers, is larger.
        Hostile("limit_value", None, rng.randbytes(MiB - 256), []),
        Hostile("huge_value", b"H-big", big_event, STRUCTURED),
        Hostile("tombstone", None, None, [("x-origin", None)]),
        Hostile("many_headers", b"h", b"{}", [(f"h{i}", b"v") for i in range(2000)]),
        *(
            Hostile(
                "random_bytes",
                rng.randbytes(rng.randint(0, 64)) or None,
                rng.randbytes(rng.randint(0, 4096)),
                [],
            )
            for _ in range(PER_KIND)
        ),
    ]


def hostile_records() -> list[Hostile]:
    kinds = [
        arbitrary_records(),
        arbitrary_json(),
        almost_cloudevents(),
        invalid_data(),
        invalid_profiles(),
        binary_mode_junk(),
        tombstones(),
    ]
    generated = [record for kind in kinds for record in _collect(kind, PER_KIND)]
    return generated + _fixed_cases(random.Random(20261123))


async def _send(
    producer: AIOKafkaProducer,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    partitions: list[TopicPartition],
) -> None:
    """Produce one record as given; a record with neither key nor value (which other
    clients can produce, but `send()` refuses) goes through the batch API."""
    if key is not None or value is not None:
        await producer.send(RAW, value, key=key, headers=headers)
        return
    batch = producer.create_batch()
    batch.append(key=None, value=None, timestamp=None, headers=headers)
    batch.close()
    partition = random.choice(partitions).partition
    await producer.send_batch(batch, RAW, partition=partition)


async def _valid_event(producer: AIOKafkaProducer, assignment_id: str, partition: int) -> str:
    event = CloudEvent.model_validate(_envelope(assignment_id, assignment_document(assignment_id)))
    value, headers = encode(event)
    await producer.send_and_wait(
        RAW, value, key=assignment_id.encode(), headers=headers, partition=partition
    )
    return event.id


async def test_every_hostile_record_is_dead_lettered_and_valid_events_still_flow(
    hostile_intake: StartIntake,
    raw_partitions: list[TopicPartition],
    raw_producer: AIOKafkaProducer,
    reader: OpenReader,
    ledger: OpenLedger,
    group_id: str,
    unique_id: str,
) -> None:
    records = hostile_records()
    run = f"hostile-{unique_id}".encode()
    canonical = await ledger([ASSIGNMENTS, CONSULTANTS])
    dead_letters = await reader(dlq(RAW))
    assignments = await reader(ASSIGNMENTS)
    intake = await hostile_intake(raw_group=group_id)
    for seq, record in enumerate(records):
        headers = [*record.headers, (RUN_HEADER, run), (SEQ_HEADER, str(seq).encode())]
        await _send(raw_producer, record.key, record.value, headers, raw_partitions)
    await raw_producer.flush()
    sentinels = {f"S-{unique_id}-{p.partition}": p.partition for p in raw_partitions}
    expected_ids = {
        sentinel: await _valid_event(raw_producer, sentinel, partition)
        for sentinel, partition in sentinels.items()
    }

    try:
        for sentinel, event_id in expected_ids.items():
            [routed] = await assignments.wait_for(sentinel.encode(), within=120)
            assert decode(routed.value, routed.headers).id == event_id
        letters = await _letters_of_run(dead_letters, run, len(records))
    except TimeoutError:
        pytest.fail(f"the intake stopped flowing; its log ends:\n{intake.log()[-8000:]}")
    intake.assert_alive()
    intake.stop()

    for seq, record in enumerate(records):
        letter = letters[seq]
        received = list(letter.headers)
        if record.kind == "limit_value":
            # Its dead letter cannot carry it whole: the value is left on the raw topic.
            assert dict(received)["koppel-error-omitted"].startswith(b"key and value omitted")
            assert (letter.key, letter.value) == (None, None)
        else:
            assert letter.key == record.key, record.kind
            assert letter.value == record.value, record.kind
        assert received[: len(record.headers)] == record.headers, record.kind
        errors = dict(received[len(record.headers) :])
        assert errors["koppel-error-code"], record.kind
        assert errors["koppel-error-reason"], record.kind
        if record.field is not None:
            assert record.field.encode() in errors["koppel-error-reason"], errors
        assert errors["koppel-error-source-topic"] == RAW.encode()
    codes = Counter(dict(letter.headers)["koppel-error-code"] for letter in letters.values())
    assert b"internal_error" not in codes, "a hostile record hit an unexpected error"
    print(f"\n{len(records)} hostile raw records, {len(letters)} dead-lettered: {dict(codes)}")
    # Short random keys ("0", "a") are left out: on a shared broker other producers (HTTP
    # fuzzing closes assignment "0", say) may publish them meanwhile. Every structured
    # hostile kind has a long, unique key, so a leak of those is still caught.
    hostile_keys = {record.key for record in records if record.key and len(record.key) >= 8}
    leaked = [r for r in await canonical.read() if r.key in hostile_keys]
    assert not leaked, "a hostile record reached a canonical topic"
    log = intake.log()
    assert "raw consumer failed" not in log
    assert "outputs not acknowledged" not in log


async def _letters_of_run(dead_letters: TopicReader, run: bytes, count: int) -> dict[int, Record]:
    """The dead letter of each sequence number of this run (duplicates from other intakes
    that share the broker are tolerated: the first one counts)."""

    def marks(letter: Record) -> tuple[bytes | None, int]:
        found = {name: value for name, value in letter.headers if name in {RUN_HEADER, SEQ_HEADER}}
        return found.get(RUN_HEADER), int(found.get(SEQ_HEADER) or -1)

    def complete(seen: list[Record]) -> bool:
        return len({marks(r)[1] for r in seen if marks(r)[0] == run}) >= count

    async def all_seen() -> list[Record]:
        # Keys vary (and may be absent), so gather by run marker rather than by key.
        async with asyncio.timeout(120):
            while not complete(dead_letters.seen):
                await dead_letters.drain(0.5)
        return list(dead_letters.seen)

    letters: dict[int, Record] = {}
    for letter in await all_seen():
        marker, seq = marks(letter)
        if marker == run:
            letters.setdefault(seq, letter)
    return letters
