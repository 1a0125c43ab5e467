"""Instant delivery on both channels in both languages, with verifiable signatures."""

from __future__ import annotations

import httpx
import pytest
from standardwebhooks import Webhook

from koppel_notifier.bootstrap import Notifier
from koppel_testing import WEBHOOK_SECRET as SECRET
from koppel_testing.integration_notifier import NotifierRig
from koppel_testing.kafka_reading import TopicReader

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("language", ["nl", "en"])
async def test_match_found_by_email_and_signed_webhook(
    language: str, rig: NotifierRig, reports: TopicReader
) -> None:
    who = rig.named(language)
    async with rig.notifier() as running:
        await rig.subscribe(who, channels=["email", "webhook"], language=language)
        match_id = await rig.kafka.found(who.id, rig.assignment(), 0.87)

        await rig.arrived(who, "email", "webhook")

        [mail] = rig.mails(who)
        text = mail.part("text/plain")
        if language == "nl":
            assert (
                mail.message["Subject"]
                == "Nieuwe opdracht: Senior communicatieadviseur participatie"
            )
            assert "Beste Anouk de Vries," in text
            assert "28–32 uur per week" in text
        else:
            assert (
                mail.message["Subject"]
                == "New assignment: Senior communicatieadviseur participatie"
            )
            assert "Dear Anouk de Vries," in text
            assert "28–32 hours a week" in text
        assert "Gemeente Zeist" in text
        assert "87%" in text
        assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mail.message["List-Unsubscribe"].startswith("<http://notifier.test/v1/unsubscribe/")
        assert mail.message["Message-ID"].endswith("@koppel.test>")

        hook = rig.receiver.one_message(who.path)
        document = Webhook(SECRET).verify(hook.body, hook.headers)
        assert document["type"] == "match.found"
        assert document["data"]["match_id"] == match_id
        assert document["data"]["consultant_id"] == who.id
        assert document["data"]["score"] == 0.87
        assert document["data"]["assignment"]["organization"]["name"] == "Gemeente Zeist"
        assert hook.headers["webhook-id"].startswith("msg_")

        await rig.wait(
            lambda: _outcomes(running, who.id), what="notification.delivered rows published"
        )

        transport = httpx.ASGITransport(app=running.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as web:
            assert (await web.get("/healthz")).json() == {"status": "ok"}
            ready = await web.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"consumer": True, "database": True}
            metrics = (await web.get("/metrics")).text
        for line in [
            'koppel_notifier_deliveries_total{channel="email",outcome="delivered"} 1.0',
            'koppel_notifier_deliveries_total{channel="webhook",outcome="delivered"} 1.0',
            'koppel_notifier_delivery_latency_seconds_count{channel="webhook"} 1.0',
        ]:
            assert line in metrics
        # Other tests publish onto the same topic meanwhile: at least our event was counted.
        assert (
            'koppel_notifier_events_consumed_total{result="applied",topic="koppel.matches.v1"}'
            in metrics
        )
        assert "koppel_notifier_dead_letters_total" in metrics
        assert "koppel_notifier_retries_total" in metrics

    delivered = await reports.events(who.id.encode(), count=2, within=20)
    assert {event.type for event in delivered} == {"nl.koppel.notification.delivered"}
    assert {event.data["channel"] for event in delivered} == {"email", "webhook"}
    assert all(event.data["match_ids"] == [match_id] for event in delivered)
    assert all(event.source == "/koppel/notifier" for event in delivered)


async def _outcomes(running: Notifier, consultant: str) -> bool:
    left = await running.pool.fetchval(
        "SELECT count(*) FROM notifier_outbox WHERE consultant_id = $1", consultant
    )
    delivered = await running.pool.fetchval(
        "SELECT count(*) FROM notifier_deliveries"
        " WHERE consultant_id = $1 AND status = 'delivered'",
        consultant,
    )
    return bool(left == 0 and delivered == 2)
