"""SSRF refusals against a real receiver, and a slow endpoint that delays nobody else."""

from __future__ import annotations

import asyncio
import ipaddress
import time

import pytest

from koppel_notifier.domain.address_policy import IPAddress
from koppel_testing.integration_notifier import NotifierRig, has_statuses
from koppel_testing.receivers import webhook_subscriber

pytestmark = pytest.mark.integration


BLOCKED = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.10",
    "192.168.0.5",
    "169.254.169.254",
    "100.64.1.1",
    "0.0.0.0",  # noqa: S104 - an address under test
    "224.0.0.251",
    "::1",
    "fd00::5",
    "fe80::1",
    "::ffff:127.0.0.1",
]


class TableResolver:
    """`<label>.hooks.test` resolves to BLOCKED[label]; anything else to the receiver."""

    def __init__(self) -> None:
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        label = host.split(".")[0]
        if label.startswith("blocked"):
            return [ipaddress.ip_address(BLOCKED[int(label.removeprefix("blocked"))])]
        return [ipaddress.ip_address("127.0.0.1")]


async def test_every_non_public_target_is_refused(rig: NotifierRig) -> None:
    resolver = TableResolver()
    path = f"ssrf-{rig.unique_id}"
    consultants = [f"c-ssrf{index}-{rig.unique_id}" for index in range(len(BLOCKED))]
    async with rig.notifier(
        WEBHOOK_ALLOW_PRIVATE_TARGETS="false", WEBHOOK_ALLOWED_NETWORKS="", resolver=resolver
    ) as running:
        for index, consultant in enumerate(consultants):
            url = f"http://blocked{index}.hooks.test:{rig.receiver.port}/{path}"
            await rig.kafka.profile(webhook_subscriber(consultant, url))
            await rig.kafka.found(consultant, rig.assignment())
        # A literal private IP in the URL is refused without any lookup.
        literal = f"c-ssrf-literal-{rig.unique_id}"
        await rig.kafka.profile(rig.receiver.subscriber(literal, path))
        await rig.kafka.found(literal, rig.assignment())

        for consultant in [*consultants, literal]:
            await rig.wait(
                lambda c=consultant: has_statuses(running, c, {"failed"}),
                what=f"refusal for {consultant}",
            )
        for index, consultant in enumerate(consultants):
            [row] = await rig.rows(running, consultant)
            assert row["attempts"] == 1
            # A code naming the rule; the address is no business of notification.failed.
            assert row["last_error"].startswith("webhook_target_"), row["last_error"]
            assert BLOCKED[index] not in row["last_error"]
        assert rig.receiver.at(path) == []


class RebindingResolver:
    """First answer allowed, every later one the receiver on 127.0.0.1, which is not.

    The allowed answer is 127.0.0.2 (allow-listed alone, nothing listens there), so the
    test never sends traffic beyond loopback.
    """

    def __init__(self) -> None:
        self.lookups = 0

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups += 1
        return [ipaddress.ip_address("127.0.0.2" if self.lookups == 1 else "127.0.0.1")]


async def test_a_second_dns_answer_cannot_redirect_the_connection(rig: NotifierRig) -> None:
    resolver = RebindingResolver()
    who = rig.named("rebind")
    url = f"http://rebind.hooks.test:{rig.receiver.port}/{who.path}"
    async with rig.notifier(
        WEBHOOK_ALLOW_PRIVATE_TARGETS="false",
        WEBHOOK_ALLOWED_NETWORKS="127.0.0.2/32",
        NOTIFIER_WEBHOOK_CONNECT_TIMEOUT="0.5",
        NOTIFIER_RETRY_SCHEDULE="0,0.2",
        resolver=resolver,
    ) as running:
        await rig.kafka.profile(webhook_subscriber(who.id, url))
        await rig.kafka.found(who.id, rig.assignment())
        await rig.wait(
            lambda: has_statuses(running, who.id, {"failed", "dead"}), what="delivery given up"
        )
        [row] = await rig.rows(running, who.id)
        # Attempt 1 went to the checked address (and failed to connect); attempt 2 resolved
        # again, got an address outside the allow-list and was refused: never connected to.
        assert resolver.lookups == 2
        assert row["last_error"] == "webhook_target_not_allowed:loopback"
        assert rig.hooks(who) == []


async def test_a_slow_endpoint_does_not_delay_the_others(rig: NotifierRig) -> None:
    receiver, unique_id = rig.receiver, rig.unique_id
    slow_path = f"slow-{unique_id}"
    receiver.script(slow_path, delay_s=30.0)
    slow = [f"c-slow{index}-{unique_id}" for index in range(6)]
    fast = [f"c-fast{index}-{unique_id}" for index in range(20)]
    async with rig.notifier(NOTIFIER_ENDPOINT_CONCURRENCY="2", NOTIFIER_SEND_CONCURRENCY="8"):
        for consultant in slow:
            await rig.kafka.profile(receiver.subscriber(consultant, slow_path))
        for index, consultant in enumerate(fast):
            # Spread over distinct endpoints, as real consultants' receivers are.
            url = (
                f"http://localhost:{receiver.port}/fast-{index}-{unique_id}"
                if index % 2
                else receiver.url(f"fast-{index}-{unique_id}")
            )
            await rig.kafka.profile(webhook_subscriber(consultant, url))
        # The slow endpoint's matches go first, so they are claimed first.
        for consultant in slow:
            await rig.kafka.found(consultant, rig.assignment())
        await asyncio.sleep(0.5)
        started = time.monotonic()
        for consultant in fast:
            await rig.kafka.found(consultant, rig.assignment())
        fast_paths = [f"fast-{index}-{unique_id}" for index in range(len(fast))]
        await rig.wait(
            lambda: all(receiver.at(path) for path in fast_paths),
            within=20,
            what="every fast endpoint served while the slow one hangs",
        )
        elapsed = time.monotonic() - started
        assert elapsed < 10
        assert receiver.at(slow_path) == []  # still hanging: 30 s each
