"""Both directions, de-duplication, withdrawals, erasure, masking, dead letters and the read
API of the matcher, on real Kafka and PostgreSQL (one in-process matcher per test)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from koppel.cloudevents import CloudEvent
from koppel.contract import Assignment
from koppel.topics import ASSIGNMENTS, CONSULTANTS, dlq
from koppel.vocabulary import CloseReason
from koppel_matcher.adapters.match_queries import MatchQueries
from koppel_matcher.bootstrap import Matcher
from koppel_matcher.domain.model import AssignmentSpec
from koppel_matcher.entrypoints.http import create_app
from koppel_matcher.service_layer.matching import Outgoing, ShardMatcher
from koppel_matcher.service_layer.ports import ShardRepository
from koppel_testing.builders import assignment, consultant
from koppel_testing.integration_matcher import (
    READ_HEADERS,
    Brief,
    brief,
    dead_letters_written,
    found_pair,
    neighbour,
)
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import Collector, Record

pytestmark = pytest.mark.integration

SPECIALISMS = ["citizen_participation"]
"""A specialism in the builders' assignment's discipline: it adds to the score and reasons."""


async def test_assignment_then_profile_emits_found(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    await publisher.assignment(assignment(f"a-{unique_id}"))
    await publisher.profile(consultant(f"c-{unique_id}"))
    events = await matches.wait_for(1)
    assert [brief(e) for e in events] == [("found", f"c-{unique_id}", f"a-{unique_id}", 1)]
    event = events[0]
    assert event.source == "/koppel/matcher"
    assert event.subject == f"c-{unique_id}"
    assert 0 <= event.data["score"] <= 1
    assert event.data["reasons"]
    assert await matches.settle(1.5) == events


async def test_profile_then_assignment_emits_found_with_traceparent(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    await publisher.profile(consultant(f"c-{unique_id}"))
    await publisher.assignment(assignment(f"a-{unique_id}"), traceparent=traceparent)
    events = await matches.wait_for(1)
    assert [brief(e) for e in events] == [("found", f"c-{unique_id}", f"a-{unique_id}", 1)]
    assert events[0].traceparent == traceparent


async def test_unchanged_and_invisible_changes_publish_nothing_visible_ones_an_update(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    a, c = f"a-{unique_id}", f"c-{unique_id}"
    await publisher.assignment(assignment(a))
    await publisher.profile(consultant(c, specialisms=SPECIALISMS))
    await matches.wait_for(1)
    # Re-published unchanged, both sides; then a new title (a field the consultant sees).
    await publisher.assignment(assignment(a))
    await publisher.profile(consultant(c, specialisms=SPECIALISMS))
    await publisher.assignment(assignment(a, title="Senior woordvoerder crisis"))
    # Markers published afterwards in the same partitions as `a` and `c`: their matches with
    # `c` and in `c`'s shard prove that shard got past every re-published record, so what
    # those records published (the update only, we expect) is in by the time the markers are.
    bootstrap = matcher.settings.kafka_bootstrap_servers
    a2 = await neighbour(bootstrap, ASSIGNMENTS, a, f"a2-{unique_id}")
    c2 = await neighbour(bootstrap, CONSULTANTS, c, f"c2-{unique_id}")
    await publisher.assignment(assignment(a2))
    await publisher.profile(consultant(c2))
    events = await matches.wait_for(5)
    assert await matches.settle(1.5) == events
    assert brief(events[0]) == ("found", c, a, 1)
    assert brief(events[1]) == ("updated", c, a, 2)
    assert events[1].data["changed"] == ["title"]
    assert sorted(brief(e) for e in events[2:]) == [
        ("found", c, a2, 1),
        ("found", c2, a, 1),
        ("found", c2, a2, 1),
    ]
    # Score and reasons change (the consultant loses the specialism), nothing they see does:
    # recorded in the ledger, announced to nobody; a marker in c's partition proves it.
    await publisher.profile(consultant(c, specialisms=[]))
    c3 = await neighbour(bootstrap, CONSULTANTS, c, f"c3-{unique_id}")
    await publisher.profile(consultant(c3))
    revised = await matches.wait_for(7)
    assert await matches.settle(1.5) == revised
    assert sorted(brief(e) for e in revised[5:]) == [("found", c3, a, 1), ("found", c3, a2, 1)]
    score = await matcher.pool.fetchval(
        "SELECT score FROM matcher_matches WHERE consultant_id = $1 AND assignment_id = $2", c, a
    )
    assert score < events[0].data["score"]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (CloseReason.FILLED, "assignment_filled"),
        (CloseReason.WITHDRAWN, "assignment_withdrawn"),
        (CloseReason.EXPIRED, "assignment_expired"),
    ],
)
async def test_closing_withdraws_exactly_once(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
    reason: CloseReason,
    expected: str,
) -> None:
    a, c = await found_pair(publisher, matches, unique_id)
    await publisher.close(a, reason)
    await publisher.close(a, reason)
    await publisher.profile(consultant(c))
    events = await matches.wait_for(2)
    assert await matches.settle(1.5) == events
    assert [brief(e) for e in events] == [("found", c, a, 1), ("withdrawn", c, a, expected)]
    assert events[1].data["assignment"]["id"] == a


async def test_closes_at_passing_withdraws_by_the_sweep(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
    wait: Wait,
) -> None:
    """A pair found before its assignment's `closes_at` is withdrawn by the expiry sweep once
    that passes, with no further event to cause it.

    The pair must be evaluated before `closes_at`, a few seconds ahead; on a machine too
    slow for that (no `found` at all) a fresh assignment with a later `closes_at` is tried,
    so only a matcher that does not match or does not sweep fails the test.
    """
    c = f"c-{unique_id}"
    await publisher.profile(consultant(c))

    def about(assignment_id: str) -> list[Brief]:
        return [brief(e) for e in matches.items if brief(e)[2] == assignment_id]

    for attempt, lead in enumerate((3, 10, 30)):
        a = f"a{attempt}-{unique_id}"
        closes_at = datetime.now(UTC) + timedelta(seconds=lead)
        await publisher.assignment(assignment(a, closes_at=closes_at.isoformat()))
        # A `found` is only ever evaluated before `closes_at`; give its commit some grace.
        give_up = (closes_at - datetime.now(UTC)).total_seconds() + 5
        with contextlib.suppress(AssertionError):
            await wait(lambda a=a: about(a), within=give_up, what="the found")
            break
    else:
        raise AssertionError(f"no pair was found before its closes_at: {matches.items!r}")
    await wait(lambda: len(about(a)) >= 2, within=20, what="the sweep's withdrawal")
    await matches.settle(2.5)
    assert about(a) == [("found", c, a, 1), ("withdrawn", c, a, "assignment_expired")]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"active": False}, "profile_deactivated"),
        ({"consent": False}, "consent_withdrawn"),
        ({"max_office_days_per_week": 1}, "profile_changed"),
    ],
)
async def test_profile_changes_withdraw(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
    changes: dict[str, Any],
    expected: str,
) -> None:
    a, c = await found_pair(publisher, matches, unique_id)
    await publisher.profile(consultant(c, **changes))
    events = await matches.wait_for(2)
    assert [brief(e) for e in events] == [("found", c, a, 1), ("withdrawn", c, a, expected)]


async def test_assignment_change_that_breaks_a_filter_withdraws(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    a, c = await found_pair(publisher, matches, unique_id)
    await publisher.assignment(assignment(a, office_days_per_week=5))
    events = await matches.wait_for(2)
    assert brief(events[1]) == ("withdrawn", c, a, "assignment_changed")


async def test_erasure_withdraws_and_removes_the_consultants_rows(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
    wait: Wait,
) -> None:
    a, c = await found_pair(publisher, matches, unique_id)
    async with matcher.pool.acquire() as db:
        assert (
            await db.fetchval("SELECT count(*) FROM matcher_profiles WHERE consultant_id = $1", c)
            == 1
        )
    await publisher.erase(c)
    events = await matches.wait_for(2)
    assert brief(events[1]) == ("withdrawn", c, a, "consultant_erased")
    async with matcher.pool.acquire() as db:
        for table in ("matcher_profiles", "matcher_matches"):
            count = await db.fetchval(
                f"SELECT count(*) FROM {table} WHERE consultant_id = $1",  # noqa: S608
                c,
            )
            assert count == 0, table

    async def undo_rows_gone() -> bool:
        undo = await matcher.pool.fetchval(
            "SELECT count(*) FROM matcher_undo WHERE key::text LIKE $1", f"%{c}%"
        )
        return bool(undo == 0)

    # The erasing transaction's undo rows are deleted only after its Kafka commit, which is
    # what made the withdrawal visible: wait for that deletion instead of racing it.
    await wait(undo_rows_gone, within=30, what="the erased consultant's undo rows deleted")
    assert matcher.supervisor is not None


async def test_confidential_assignment_never_shows_name_or_city(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    a, c = f"a-{unique_id}", f"c-{unique_id}"
    name, city = f"Gemeente Geheim {unique_id}", f"Geheimstad{unique_id}"
    hidden = assignment(
        a,
        visibility="confidential",
        title=f"{name} zoekt woordvoerder",
        description=f"Woordvoerder na de brand in {city}.",
        organization={"name": name, "type": "municipality", "inhabitants": 120000},
        location={"city": city, "province": "utrecht", "lat": 52.0907, "lon": 5.1214},
    )
    await publisher.assignment(hidden)
    await publisher.profile(consultant(c))
    await matches.wait_for(1)
    await publisher.close(a, CloseReason.FILLED)
    events = await matches.wait_for(2)
    for event in events:
        text = event.model_dump_json()
        assert name not in text
        assert city not in text
        assert "zoekt woordvoerder" not in text
        assert event.data["assignment"]["title"] == (
            "Senior adviseur burgerparticipatie bij een grote gemeente in Utrecht"
        )
    assert events[0].data["assignment"]["organization"]["name"] is None
    assert events[0].data["assignment"]["location"]["city"] is None


async def test_poison_goes_to_the_dlq_and_the_next_event_flows(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
    wait: Wait,
) -> None:
    def ours(record: Record) -> Record | None:
        return record if unique_id.encode() in (record.key or b"") else None

    bootstrap = matcher.settings.kafka_bootstrap_servers
    dead = Collector(bootstrap, dlq(ASSIGNMENTS), ours)
    dead_consultants = Collector(bootstrap, dlq(CONSULTANTS), ours)
    await dead.start()
    await dead_consultants.start()

    before = dead_letters_written(topic=ASSIGNMENTS)
    try:
        await publisher.raw(
            ASSIGNMENTS, f"p-{unique_id}".encode(), b"{not json", [("x-origin", b"test")]
        )
        await publisher.raw(
            CONSULTANTS,
            f"p-{unique_id}".encode(),
            b'{"specversion":"1.0","id":"1","source":"/t","type":"nl.koppel.consultant.upserted","data":{"id":"x"}}',
            [],
        )
        await publisher.assignment(assignment(f"a-{unique_id}"))
        await publisher.profile(consultant(f"c-{unique_id}"))
        await matches.wait_for(1)
        await dead.wait_for(1)
        await dead_consultants.wait_for(1)
        await dead.settle(1)
    finally:
        await dead.stop()
        await dead_consultants.stop()
    # Another matcher running on this broker (another test run) may dead-letter the same
    # records, so the topic may hold more than one letter (the first one seen may be the
    # other's); this matcher wrote exactly one.
    await wait(
        lambda: dead_letters_written(topic=ASSIGNMENTS) - before >= 1,
        within=30,
        what="this matcher's letter",
    )
    assert dead_letters_written(topic=ASSIGNMENTS) - before == 1
    letter, payload_letter = dead.items[0], dead_consultants.items[0]
    headers = dict(letter.headers)
    assert letter.value == b"{not json"
    assert headers["x-origin"] == b"test"
    # The same error headers as intake's and the notifier's (koppel.dead_letters).
    assert headers["koppel-error-code"] == b"invalid_envelope"
    assert headers["koppel-error-source-topic"] == ASSIGNMENTS.encode()
    assert headers["koppel-error-reason"]
    assert int(headers["koppel-error-source-partition"]) >= 0
    assert int(headers["koppel-error-source-offset"]) >= 0
    assert datetime.fromisoformat(headers["koppel-error-at"].decode()).tzinfo is not None
    assert not any(name.startswith("koppel-source-") for name in headers)
    assert dict(payload_letter.headers)["koppel-error-code"] == b"invalid_payload"


async def test_read_api_ranks_current_matches_and_reports_health(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    a, c1, c2 = f"a-{unique_id}", f"c1-{unique_id}", f"c2-{unique_id}"
    job = assignment(a)
    await publisher.assignment(job)
    await publisher.profile(consultant(c1, specialisms=SPECIALISMS, work_style="specialist"))
    await publisher.profile(consultant(c2, specialisms=[], work_style="generalist"))
    await matches.wait_for(2)
    app = create_app(MatchQueries(matcher.pool), matcher, matcher.settings.callers())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://m", headers=READ_HEADERS
    ) as http:
        body = (await http.get(f"/v1/assignments/{a}/matches")).json()
        # Other tests' profiles on the shared topics may match this assignment too.
        ranked = [m["consultant_id"] for m in body["matches"] if unique_id in m["consultant_id"]]
        scores = [m["score"] for m in body["matches"]]
        assert ranked == [c1, c2]
        assert scores == sorted(scores, reverse=True)
        assert body["matches"][0]["reasons"]
        mine = (await http.get(f"/v1/consultants/{c1}/matches")).json()
        assert [m["assignment_id"] for m in mine["matches"]] == [a]
        assert mine["matches"][0]["assignment"]["organization"]["name"] == job.organization.name
        assert (await http.get("/v1/consultants/bad id!/matches")).status_code == 422
        http.headers.pop("Authorization")
        assert (await http.get("/healthz")).status_code == 200
        schema = (await http.get("/openapi.json")).json()
        assert "CurrentMatch" in schema["components"]["schemas"]
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        metrics = (await http.get("/metrics")).text
        for name in (
            "koppel_matcher_matches_emitted_total",
            "koppel_matcher_evaluation_seconds_bucket",
            "koppel_matcher_index_profiles",
            "koppel_matcher_events_consumed_total",
            "koppel_matcher_dead_letters_total",
        ):
            assert name in metrics
        await publisher.close(a, CloseReason.FILLED)
        await matches.wait_for(4)
        gone = await http.get(f"/v1/assignments/{a}/matches", headers=READ_HEADERS)
        assert gone.json()["matches"] == []


async def test_read_api_answers_only_callers_with_a_token(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    """Matches name consultants and why they fit: no token, no answer (DOMAIN.md 8.6)."""
    a, c = await found_pair(publisher, matches, unique_id)
    app = create_app(MatchQueries(matcher.pool), matcher, matcher.settings.callers())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://m"
    ) as http:
        paths = [f"/v1/assignments/{a}/matches", f"/v1/consultants/{c}/matches"]
        for path in [*paths, "/v1/consultants/bad id!/matches"]:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
                refused = await http.get(path, headers=headers)
                assert refused.status_code == 401, (path, headers)
                assert refused.headers["www-authenticate"] == 'Bearer realm="koppel-matcher"'
                assert refused.headers["content-type"] == "application/problem+json"
                problem = refused.json()
                assert problem["status"] == 401
                assert problem["title"] == "Unauthorized"
                assert a not in refused.text
                assert c not in refused.text
        for path in paths:
            answered = await http.get(path, headers=READ_HEADERS)
            assert answered.status_code == 200
            assert c in answered.text
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await http.get(path)).status_code == 200, path
        metrics = (await http.get("/metrics")).text
        assert a not in metrics
        assert c not in metrics
        schema = (await http.get("/openapi.json")).json()
        assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_an_event_that_keeps_failing_is_dead_lettered_and_the_matcher_goes_on(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
    monkeypatch: pytest.MonkeyPatch,
    wait: Wait,
) -> None:
    """A record that crashes its handler (a bug, not bad input) restarts the shard; after
    three failures it is dead-lettered as `processing_failed` instead of blocking the shard."""
    boom = f"boom-{unique_id}"
    original = ShardMatcher.assignment_upserted

    async def failing(
        self: ShardMatcher,
        repository: ShardRepository,
        upserted: Assignment,
        spec: AssignmentSpec | None,
        traceparent: str | None,
    ) -> list[Outgoing]:
        if upserted.id == boom:
            raise RuntimeError("simulated bug")
        return await original(self, repository, upserted, spec, traceparent)

    monkeypatch.setattr(ShardMatcher, "assignment_upserted", failing)

    before = dead_letters_written(code="processing_failed")
    await publisher.assignment(assignment(boom))
    await publisher.assignment(assignment(f"a-{unique_id}"))
    await publisher.profile(consultant(f"c-{unique_id}"))
    events = await matches.wait_for(1, within=60)
    assert [brief(e) for e in events] == [("found", f"c-{unique_id}", f"a-{unique_id}", 1)]
    # The shards run independently: the good pair can match in one shard before the shard
    # holding the bad record has failed its third time and dead-lettered it.
    await wait(
        lambda: dead_letters_written(code="processing_failed") - before >= 1,
        within=30,
        what="the dead letter",
    )
    assert dead_letters_written(code="processing_failed") - before == 1
