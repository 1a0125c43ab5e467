"""Both directions, de-duplication, withdrawals, erasure, masking, dead letters and the read
API of the matcher, on real Kafka and PostgreSQL (one in-process matcher per test)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from koppel.topics import ASSIGNMENTS, CONSULTANTS, dlq
from koppel.vocabulary import CloseReason
from koppel_matcher.adapters.match_queries import MatchQueries
from koppel_matcher.entrypoints.http import create_app
from koppel_matcher.metrics import DEAD_LETTERS
from koppel_matcher.service_layer.matching import ShardMatcher

pytestmark = pytest.mark.integration


async def test_assignment_then_profile_emits_found(matcher, publisher, matches, kit, unique_id):
    await publisher.assignment(kit.assignment(f"a-{unique_id}"))
    await publisher.profile(kit.profile(f"c-{unique_id}"))
    events = await matches.wait_for(1)
    assert [kit.brief(e) for e in events] == [("found", f"c-{unique_id}", f"a-{unique_id}", 1)]
    event = events[0]
    assert event.source == "/koppel/matcher"
    assert event.subject == f"c-{unique_id}"
    assert 0 <= event.data["score"] <= 1
    assert event.data["reasons"]
    assert await matches.settle(1.5) == events


async def test_profile_then_assignment_emits_found_with_traceparent(
    matcher, publisher, matches, kit, unique_id
):
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    await publisher.profile(kit.profile(f"c-{unique_id}"))
    await publisher.assignment(kit.assignment(f"a-{unique_id}"), traceparent=traceparent)
    events = await matches.wait_for(1)
    assert [kit.brief(e) for e in events] == [("found", f"c-{unique_id}", f"a-{unique_id}", 1)]
    assert events[0].traceparent == traceparent


async def test_unchanged_and_invisible_changes_publish_nothing_visible_ones_an_update(
    matcher, publisher, matches, kit, unique_id
):
    a, c = f"a-{unique_id}", f"c-{unique_id}"
    await publisher.assignment(kit.assignment(a))
    await publisher.profile(kit.profile(c))
    await matches.wait_for(1)
    # Re-published unchanged, both sides; then a new title (a field the consultant sees).
    await publisher.assignment(kit.assignment(a))
    await publisher.profile(kit.profile(c))
    await publisher.assignment(kit.assignment(a, title="Senior woordvoerder crisis"))
    # Markers published afterwards in the same partitions as `a` and `c`: their matches with
    # `c` and in `c`'s shard prove that shard got past every re-published record, so what
    # those records published (the update only, we expect) is in by the time the markers are.
    bootstrap = matcher.settings.kafka_bootstrap_servers
    a2 = await kit.neighbour(bootstrap, ASSIGNMENTS, a, f"a2-{unique_id}")
    c2 = await kit.neighbour(bootstrap, CONSULTANTS, c, f"c2-{unique_id}")
    await publisher.assignment(kit.assignment(a2))
    await publisher.profile(kit.profile(c2))
    events = await matches.wait_for(5)
    assert await matches.settle(1.5) == events
    assert kit.brief(events[0]) == ("found", c, a, 1)
    assert kit.brief(events[1]) == ("updated", c, a, 2)
    assert events[1].data["changed"] == ["title"]
    assert sorted(kit.brief(e) for e in events[2:]) == [
        ("found", c, a2, 1),
        ("found", c2, a, 1),
        ("found", c2, a2, 1),
    ]
    # Score and reasons change (the consultant loses the specialism), nothing they see does:
    # recorded in the ledger, announced to nobody; a marker in c's partition proves it.
    await publisher.profile(kit.profile(c, specialisms=[]))
    c3 = await kit.neighbour(bootstrap, CONSULTANTS, c, f"c3-{unique_id}")
    await publisher.profile(kit.profile(c3))
    revised = await matches.wait_for(7)
    assert await matches.settle(1.5) == revised
    assert sorted(kit.brief(e) for e in revised[5:]) == [("found", c3, a, 1), ("found", c3, a2, 1)]
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
    matcher, publisher, matches, kit, unique_id, reason, expected
):
    a, c = f"a-{unique_id}", f"c-{unique_id}"
    await publisher.assignment(kit.assignment(a))
    await publisher.profile(kit.profile(c))
    await matches.wait_for(1)
    await publisher.close(a, reason)
    await publisher.close(a, reason)
    await publisher.profile(kit.profile(c))
    events = await matches.wait_for(2)
    assert await matches.settle(1.5) == events
    assert [kit.brief(e) for e in events] == [("found", c, a, 1), ("withdrawn", c, a, expected)]
    assert events[1].data["assignment"]["id"] == a


async def test_closes_at_passing_withdraws_by_the_sweep(
    matcher, publisher, matches, kit, unique_id, wait
):
    """A pair found before its assignment's `closes_at` is withdrawn by the expiry sweep once
    that passes, with no further event to cause it.

    The pair must be evaluated before `closes_at`, a few seconds ahead; on a machine too
    slow for that (no `found` at all) a fresh assignment with a later `closes_at` is tried,
    so only a matcher that does not match or does not sweep fails the test.
    """
    c = f"c-{unique_id}"
    await publisher.profile(kit.profile(c))

    def about(assignment_id):
        return [kit.brief(e) for e in matches.items if kit.brief(e)[2] == assignment_id]

    for attempt, lead in enumerate((3, 10, 30)):
        a = f"a{attempt}-{unique_id}"
        closes_at = datetime.now(UTC) + timedelta(seconds=lead)
        await publisher.assignment(kit.assignment(a, closes_at=closes_at.isoformat()))
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
    matcher, publisher, matches, kit, unique_id, changes, expected
):
    a, c = f"a-{unique_id}", f"c-{unique_id}"
    await publisher.assignment(kit.assignment(a))
    await publisher.profile(kit.profile(c))
    await matches.wait_for(1)
    await publisher.profile(kit.profile(c, **changes))
    events = await matches.wait_for(2)
    assert [kit.brief(e) for e in events] == [("found", c, a, 1), ("withdrawn", c, a, expected)]


async def test_assignment_change_that_breaks_a_filter_withdraws(
    matcher, publisher, matches, kit, unique_id
):
    a, c = f"a-{unique_id}", f"c-{unique_id}"
    await publisher.assignment(kit.assignment(a))
    await publisher.profile(kit.profile(c))
    await matches.wait_for(1)
    await publisher.assignment(kit.assignment(a, office_days_per_week=5))
    events = await matches.wait_for(2)
    assert kit.brief(events[1]) == ("withdrawn", c, a, "assignment_changed")


async def test_erasure_withdraws_and_removes_the_consultants_rows(
    matcher, publisher, matches, kit, unique_id, wait
):
    a, c = f"a-{unique_id}", f"c-{unique_id}"
    await publisher.assignment(kit.assignment(a))
    await publisher.profile(kit.profile(c))
    await matches.wait_for(1)
    async with matcher.pool.acquire() as db:
        assert (
            await db.fetchval("SELECT count(*) FROM matcher_profiles WHERE consultant_id = $1", c)
            == 1
        )
    await publisher.erase(c)
    events = await matches.wait_for(2)
    assert kit.brief(events[1]) == ("withdrawn", c, a, "consultant_erased")
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
    matcher, publisher, matches, kit, unique_id
):
    a, c = f"a-{unique_id}", f"c-{unique_id}"
    name, city = f"Gemeente Geheim {unique_id}", f"Geheimstad{unique_id}"
    hidden = kit.assignment(
        a,
        visibility="confidential",
        title=f"{name} zoekt woordvoerder",
        description=f"Woordvoerder na de brand in {city}.",
        organization={"name": name, "type": "municipality", "inhabitants": 120000},
        location={"city": city, "province": "utrecht", "lat": 52.0907, "lon": 5.1214},
    )
    await publisher.assignment(hidden)
    await publisher.profile(kit.profile(c))
    await matches.wait_for(1)
    await publisher.close(a, CloseReason.FILLED)
    events = await matches.wait_for(2)
    for event in events:
        text = event.model_dump_json()
        assert name not in text
        assert city not in text
        assert "zoekt woordvoerder" not in text
        assert event.data["assignment"]["title"] == (
            "Senior adviseur crisiscommunicatie bij een grote gemeente in Utrecht"
        )
    assert events[0].data["assignment"]["organization"]["name"] is None
    assert events[0].data["assignment"]["location"]["city"] is None


async def test_poison_goes_to_the_dlq_and_the_next_event_flows(
    matcher, publisher, matches, kit, unique_id, wait
):
    dead = kit.Collector(matcher.settings.kafka_bootstrap_servers, dlq(ASSIGNMENTS), lambda r: True)
    dead.parse = lambda record: record if unique_id.encode() in (record.key or b"") else None
    dead_consultants = kit.Collector(
        matcher.settings.kafka_bootstrap_servers, dlq(CONSULTANTS), lambda r: True
    )
    dead_consultants.parse = dead.parse
    await dead.start()
    await dead_consultants.start()

    def dead_lettered() -> float:
        return sum(
            sample.value
            for metric in DEAD_LETTERS.collect()
            for sample in metric.samples
            if sample.name.endswith("_total") and sample.labels["topic"] == ASSIGNMENTS
        )

    before = dead_lettered()
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
        await publisher.assignment(kit.assignment(f"a-{unique_id}"))
        await publisher.profile(kit.profile(f"c-{unique_id}"))
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
    await wait(lambda: dead_lettered() - before >= 1, within=30, what="this matcher's letter")
    assert dead_lettered() - before == 1
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
    matcher, publisher, matches, kit, unique_id
):
    a, c1, c2 = f"a-{unique_id}", f"c1-{unique_id}", f"c2-{unique_id}"
    await publisher.assignment(kit.assignment(a))
    await publisher.profile(kit.profile(c1))
    await publisher.profile(kit.profile(c2, specialisms=[], work_style="generalist"))
    await matches.wait_for(2)
    app = create_app(MatchQueries(matcher.pool), matcher, matcher.settings.callers())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://m", headers=kit.read_headers
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
        assert mine["matches"][0]["assignment"]["organization"]["name"] == "Gemeente Utrecht"
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
        gone = await http.get(f"/v1/assignments/{a}/matches", headers=kit.read_headers)
        assert gone.json()["matches"] == []


async def test_read_api_answers_only_callers_with_a_token(
    matcher, publisher, matches, kit, unique_id
):
    """Matches name consultants and why they fit: no token, no answer (DOMAIN.md 8.6)."""
    a, c = f"a-{unique_id}", f"c-{unique_id}"
    await publisher.assignment(kit.assignment(a))
    await publisher.profile(kit.profile(c))
    await matches.wait_for(1)
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
            answered = await http.get(path, headers=kit.read_headers)
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
    matcher, publisher, matches, kit, unique_id, monkeypatch, wait
):
    """A record that crashes its handler (a bug, not bad input) restarts the shard; after
    three failures it is dead-lettered as `processing_failed` instead of blocking the shard."""
    boom = f"boom-{unique_id}"
    original = ShardMatcher.assignment_upserted

    async def failing(self, repository, assignment, spec, traceparent):
        if assignment.id == boom:
            raise RuntimeError("simulated bug")
        return await original(self, repository, assignment, spec, traceparent)

    monkeypatch.setattr(ShardMatcher, "assignment_upserted", failing)

    def failed_letters() -> float:
        return sum(
            sample.value
            for metric in DEAD_LETTERS.collect()
            for sample in metric.samples
            if sample.name.endswith("_total") and sample.labels["code"] == "processing_failed"
        )

    before = failed_letters()
    await publisher.assignment(kit.assignment(boom))
    await publisher.assignment(kit.assignment(f"a-{unique_id}"))
    await publisher.profile(kit.profile(f"c-{unique_id}"))
    events = await matches.wait_for(1, within=60)
    assert [kit.brief(e) for e in events] == [("found", f"c-{unique_id}", f"a-{unique_id}", 1)]
    # The shards run independently: the good pair can match in one shard before the shard
    # holding the bad record has failed its third time and dead-lettered it.
    await wait(lambda: failed_letters() - before >= 1, within=30, what="the dead letter")
    assert failed_letters() - before == 1
