"""URLs an older intake let through are refused at delivery time, with a code, before any I/O."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from koppel.contract.webhook_url import MAX_WEBHOOK_URL_LENGTH
from koppel_notifier.adapters.guarded_network import GuardedResolver
from koppel_notifier.adapters.webhook_sender import HttpWebhookSender
from koppel_notifier.domain.address_policy import IPAddress, TargetPolicy
from koppel_notifier.domain.outcome import AttemptOutcome, Verdict
from koppel_testing import WEBHOOK_SECRET as SECRET


class RecordingLookup:
    """Answers a public address and notes the host: a refused URL must never be looked up."""

    def __init__(self) -> None:
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        return [ipaddress.ip_address("93.184.216.34")]


@pytest.fixture
def lookup() -> RecordingLookup:
    return RecordingLookup()


@pytest.fixture
async def sender(lookup: RecordingLookup) -> AsyncIterator[HttpWebhookSender]:
    policy = TargetPolicy.configured([], allow_private=True)
    webhooks = HttpWebhookSender(GuardedResolver(policy, lookup=lookup), lambda: datetime.now(UTC))
    try:
        yield webhooks
    finally:
        await webhooks.aclose()


async def send(sender: HttpWebhookSender, url: str) -> AttemptOutcome:
    return await sender.send(url, SECRET, "msg_1", b"{}")


def _long_url(length: int) -> str:
    prefix = "https://hooks.example.com/"
    return prefix + "a" * (length - len(prefix))


@pytest.mark.parametrize(
    ("url", "code"),
    [
        (_long_url(MAX_WEBHOOK_URL_LENGTH + 1), "webhook_url_too_long"),
        ("https://user:password@hooks.example.com/k", "webhook_url_userinfo"),
        ("https://user@hooks.example.com/k", "webhook_url_userinfo"),
        ("https://:password@hooks.example.com/k", "webhook_url_userinfo"),
        ("ftp://hooks.example.com/k", "webhook_url_invalid"),
        ("https:///k", "webhook_url_invalid"),
        ("https://hooks.example.com:99999/k", "webhook_url_invalid"),
        # Plain http to a public receiver: only allow-listed networks may go without TLS.
        ("http://hooks.example.com/k", "webhook_url_not_https"),
        ("http://93.184.216.34/k", "webhook_url_not_https"),
        # WEBHOOK_ALLOW_PRIVATE_TARGETS never opens link-local, literal or not.
        ("https://169.254.169.254/latest/meta-data/", "webhook_target_blocked:link-local"),
        ("http://[::ffff:169.254.169.254]/", "webhook_target_blocked:link-local"),
    ],
)
async def test_a_url_breaking_a_rule_is_refused_with_its_code(
    sender: HttpWebhookSender, url: str, code: str
) -> None:
    outcome = await send(sender, url)
    assert (outcome.verdict, outcome.detail) == (Verdict.REFUSED, code)


async def test_refused_urls_are_not_even_looked_up(
    sender: HttpWebhookSender, lookup: RecordingLookup
) -> None:
    for url in (
        _long_url(MAX_WEBHOOK_URL_LENGTH + 1),
        "https://user:password@hooks.example.com/k",
        "https://169.254.169.254/",
    ):
        await send(sender, url)
    assert lookup.lookups == []
