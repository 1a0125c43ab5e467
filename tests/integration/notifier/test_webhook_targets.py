"""Where webhooks may go, with the real notifier, PostgreSQL, Kafka and a receiver on 127.0.0.1.

Hosts other than the receiver's resolve through a table (the notifier's injectable lookup),
and every refused target must be refused before a connection. Should the guard ever fail,
the `loopback_only` audit hook stops the connection instead of letting it leave the
machine, and the test fails on the attempt it records.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys
from collections.abc import Awaitable, Iterator

import pytest

from koppel.cloudevents import CloudEvent, decode
from koppel_notifier.bootstrap import Notifier
from koppel_notifier.domain.address_policy import IPAddress
from koppel_testing.integration_notifier import NotifierRig, has_statuses
from koppel_testing.kafka_reading import Record, TopicReader
from koppel_testing.receivers import webhook_subscriber

pytestmark = pytest.mark.integration

RECEIVER = ipaddress.ip_address("127.0.0.1")


class TableResolver:
    """`<name>.hooks.test` resolves to TABLE[name]; anything else to the receiver's address."""

    TABLE = {
        "metadata": "169.254.169.254",
        "mapped-metadata": "::ffff:169.254.169.254",
        "nat64-metadata": "64:ff9b::a9fe:a9fe",
        "link-local6": "fe80::1",
        "public": "198.41.0.4",  # refused for plain http before any connection is tried
    }

    def __init__(self) -> None:
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        label = host.split(".")[0]
        return [ipaddress.ip_address(self.TABLE[label]) if label in self.TABLE else RECEIVER]


class LoopbackOnly:
    """While `on`, a socket connecting anywhere but loopback raises instead, and is noted."""

    def __init__(self) -> None:
        self.on = False
        self.stopped: list[str] = []

    def __call__(self, event: str, args: tuple[object, ...]) -> None:
        if not self.on or event != "socket.connect" or not isinstance(args[1], tuple):
            return
        host = str(args[1][0]).split("%")[0]
        if not ipaddress.ip_address(host).is_loopback:
            self.stopped.append(host)
            raise PermissionError("this test connects to loopback only")


_GUARD = LoopbackOnly()
sys.addaudithook(_GUARD)  # audit hooks last for the process; `on` limits it to these tests


@pytest.fixture(autouse=True)
def loopback_only() -> Iterator[LoopbackOnly]:
    _GUARD.on, _GUARD.stopped = True, []
    try:
        yield _GUARD
    finally:
        _GUARD.on = False
    assert _GUARD.stopped == [], "a refused target was connected to"


async def _reported_failures(reports: TopicReader, consultants: set[str]) -> dict[str, CloudEvent]:
    """The `notification.failed` reported for each of `consultants`."""

    def failures(records: list[Record]) -> list[CloudEvent]:
        events = (decode(record.value, record.headers) for record in records)
        return [event for event in events if event.type == "nl.koppel.notification.failed"]

    found: dict[str, CloudEvent] = {}
    async with asyncio.timeout(30):
        for consultant in consultants:
            records = await reports.wait_until(
                consultant.encode(), lambda seen: bool(failures(seen)), within=30
            )
            found[consultant] = failures(records)[0]
    return found


async def _subscribe(rig: NotifierRig, consultant: str, url: str) -> None:
    await rig.kafka.profile(webhook_subscriber(consultant, url))


def _finished(running: Notifier, consultant: str) -> Awaitable[bool]:
    return has_statuses(running, consultant, {"delivered", "failed", "dead"})


async def test_plain_http_to_an_allow_listed_receiver_is_delivered(rig: NotifierRig) -> None:
    consultant, path = f"c-listed-{rig.unique_id}", f"listed-{rig.unique_id}"
    async with rig.notifier(
        WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8", WEBHOOK_ALLOW_PRIVATE_TARGETS="false"
    ) as running:
        await _subscribe(rig, consultant, rig.receiver.url(path))
        await rig.kafka.found(consultant, rig.assignment())
        await rig.wait(lambda: _finished(running, consultant), what="delivery finished")
        [row] = await rig.rows(running, consultant)
        assert row["status"] == "delivered", row["last_error"]
    assert rig.receiver.one_message(path).headers["webhook-id"]


async def test_a_receiver_the_allow_list_does_not_name_is_refused_and_reported(
    rig: NotifierRig, reports: TopicReader
) -> None:
    uid, port = rig.unique_id, rig.receiver.port
    path = f"unlisted-{uid}"
    urls = {
        f"c-unlisted-literal-{uid}": rig.receiver.url(path),
        f"c-unlisted-name-{uid}": f"http://receiver.hooks.test:{port}/{path}",
        f"c-unlisted-https-{uid}": f"https://receiver.hooks.test:{port}/{path}",
    }
    async with rig.notifier(
        WEBHOOK_ALLOWED_NETWORKS="10.0.0.0/8",
        WEBHOOK_ALLOW_PRIVATE_TARGETS="false",
        resolver=TableResolver(),
    ) as running:
        for consultant, url in urls.items():
            await _subscribe(rig, consultant, url)
            await rig.kafka.found(consultant, rig.assignment())
        failures = await _reported_failures(reports, set(urls))
        for consultant in urls:
            await rig.wait(lambda c=consultant: _finished(running, c), what="refusal stored")
            [row] = await rig.rows(running, consultant)
            # Final at once: no retry can change the configuration.
            assert (row["status"], row["attempts"]) == ("failed", 1)
            assert row["last_error"] == "webhook_target_not_allowed:loopback"
            assert failures[consultant].data["error"] == "webhook_target_not_allowed:loopback"
            assert failures[consultant].data["channel"] == "webhook"
    assert rig.receiver.at(path) == []


async def test_link_local_is_refused_even_with_private_targets_allowed(
    rig: NotifierRig, reports: TopicReader
) -> None:
    uid, port = rig.unique_id, rig.receiver.port
    path = f"metadata-{uid}"
    blocked = {
        f"c-md-literal-{uid}": "http://169.254.169.254/latest/meta-data/",
        f"c-md-mapped-literal-{uid}": "http://[::ffff:169.254.169.254]/latest/meta-data/",
        **{
            f"c-md-{label}-{uid}": f"http://{label}.hooks.test:{port}/{path}"
            for label in ("metadata", "mapped-metadata", "nat64-metadata", "link-local6")
        },
    }
    not_https = f"c-md-public-{uid}"
    private = f"c-md-private-{uid}"
    resolver = TableResolver()
    async with rig.notifier(
        WEBHOOK_ALLOW_PRIVATE_TARGETS="true", WEBHOOK_ALLOWED_NETWORKS="", resolver=resolver
    ) as running:
        for consultant, url in blocked.items():
            await _subscribe(rig, consultant, url)
        await _subscribe(rig, not_https, f"http://public.hooks.test:{port}/{path}")
        # The flag still opens loopback and private ranges: the control delivery arrives.
        await _subscribe(rig, private, rig.receiver.url(f"private-{uid}"))
        for consultant in [*blocked, not_https, private]:
            await rig.kafka.found(consultant, rig.assignment())

        failures = await _reported_failures(reports, {*blocked, not_https})
        for consultant in blocked:
            await rig.wait(lambda c=consultant: _finished(running, c), what="refusal stored")
            [row] = await rig.rows(running, consultant)
            assert (row["status"], row["last_error"]) == (
                "failed",
                "webhook_target_blocked:link-local",
            ), consultant
            assert failures[consultant].data["error"] == "webhook_target_blocked:link-local"
        await rig.wait(lambda: _finished(running, not_https), what="not-https refusal")
        [row] = await rig.rows(running, not_https)
        assert (row["status"], row["last_error"]) == ("failed", "webhook_url_not_https")
        assert failures[not_https].data["error"] == "webhook_url_not_https"
        await rig.wait(lambda: _finished(running, private), what="private delivery")
        [row] = await rig.rows(running, private)
        assert row["status"] == "delivered", row["last_error"]
    assert rig.receiver.at(path) == []
    assert rig.receiver.one_message(f"private-{uid}")
