"""The SSRF guard's resolver looks up once per call, checks every answer, hands back only those.

Its use inside aiohttp's connector, against real servers, is proven in
tests/integration/notifier/test_webhook_transport.py.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.helpers import is_ip_address

from koppel_notifier.adapters.guarded_network import (
    NOT_HTTPS,
    GuardedResolver,
    TargetRefused,
    looks_like_ip_literal,
    system_lookup,
)
from koppel_notifier.domain.address_policy import IPAddress, TargetPolicy, parse_allowed_networks

PUBLIC = ipaddress.ip_address("93.184.216.34")
PUBLIC6 = ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946")
PRIVATE = ipaddress.ip_address("127.0.0.1")
DEFAULT = TargetPolicy()
ALLOW_PRIVATE = TargetPolicy.configured([], allow_private=True)
LOOPBACK = TargetPolicy.configured(parse_allowed_networks("127.0.0.0/8"), allow_private=False)


class ScriptedLookup:
    """Answers each lookup with the next scripted list (a DNS-rebinding attacker's server)."""

    def __init__(self, *answers: list[IPAddress]) -> None:
        self._answers = list(answers)
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        return self._answers.pop(0)


async def test_the_connector_gets_exactly_the_checked_answers_with_the_hostname() -> None:
    lookup = ScriptedLookup([PUBLIC, PUBLIC6])
    resolver = GuardedResolver(DEFAULT, lookup=lookup)

    results = await resolver.resolve("hooks.example.com", 443)

    assert lookup.lookups == ["hooks.example.com"]
    assert [(r["host"], r["port"], r["family"]) for r in results] == [
        (str(PUBLIC), 443, socket.AF_INET),
        (str(PUBLIC6), 443, socket.AF_INET6),
    ]
    # The hostname stays the original one, and the address is numeric: nothing to look up.
    assert {r["hostname"] for r in results} == {"hooks.example.com"}
    assert all(r["flags"] & socket.AI_NUMERICHOST for r in results)


async def test_each_lookup_is_checked_again_so_rebinding_is_refused() -> None:
    lookup = ScriptedLookup([PUBLIC], [PRIVATE])
    resolver = GuardedResolver(DEFAULT, lookup=lookup)
    await resolver.resolve("hooks.example.com", 443)

    with pytest.raises(TargetRefused, match=r"^webhook_target_not_allowed:loopback$"):
        await resolver.resolve("hooks.example.com", 443)
    assert lookup.lookups == ["hooks.example.com", "hooks.example.com"]


@pytest.mark.parametrize(
    "answer", ["10.0.0.7", "::ffff:127.0.0.1", "fe80::1", "169.254.169.254", "100.64.0.1"]
)
async def test_any_non_public_answer_refuses_the_host(answer: str) -> None:
    resolver = GuardedResolver(
        DEFAULT, lookup=ScriptedLookup([PUBLIC, ipaddress.ip_address(answer)])
    )
    with pytest.raises(TargetRefused, match=r"^webhook_target_"):
        await resolver.resolve("mixed.example.com", 443)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "::1",
        "169.254.169.254",
        "::ffff:7f00:1",  # how yarl spells [::ffff:127.0.0.1]
        "::ffff:10.0.0.1",
        "fe80::1%25eth0",
        "2130706433",  # 127.0.0.1 as one number: the socket layer would accept it
        "127.1",
        "0177.0.0.1",
    ],
)
def test_literal_hosts_are_checked_without_any_lookup(host: str) -> None:
    lookup = ScriptedLookup()
    resolver = GuardedResolver(DEFAULT, lookup=lookup)
    with pytest.raises(TargetRefused):
        resolver.check_literal(host)
    assert lookup.lookups == []


@pytest.mark.parametrize("host", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_literals_pass(host: str) -> None:
    GuardedResolver(DEFAULT, lookup=ScriptedLookup()).check_literal(host)


def test_hostnames_are_left_to_the_lookup() -> None:
    GuardedResolver(DEFAULT, lookup=ScriptedLookup()).check_literal("localhost")


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "::1", "2130706433", "127.1", "fe80::1%25eth0", "localhost", "a1.b2.example",
     "0x7f.0.0.1", "hooks.example.com", "1.2.3.4.", "xn--bcher-kva.de"],
)  # fmt: skip
def test_the_literal_rule_matches_the_hosts_aiohttp_does_not_resolve(host: str) -> None:
    # aiohttp connects to what its is_ip_address accepts without calling the resolver:
    # every such host must be judged by check_literal instead.
    assert looks_like_ip_literal(host) == is_ip_address(host)


async def test_private_targets_may_be_allowed_for_local_runs() -> None:
    resolver = GuardedResolver(ALLOW_PRIVATE, lookup=ScriptedLookup([PRIVATE]))
    [result] = await resolver.resolve("receiver.local", 8080)
    assert (result["host"], result["port"]) == ("127.0.0.1", 8080)
    resolver.check_literal("127.0.0.1")


@pytest.mark.parametrize(
    "answer", ["169.254.169.254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "fe80::1"]
)
async def test_allowing_private_targets_never_opens_link_local(answer: str) -> None:
    lookup = ScriptedLookup([ipaddress.ip_address(answer)])
    resolver = GuardedResolver(ALLOW_PRIVATE, lookup=lookup)
    with pytest.raises(TargetRefused, match=r"^webhook_target_blocked:link-local$"):
        await resolver.resolve("metadata.example.com", 80)
    with pytest.raises(TargetRefused, match=r"^webhook_target_blocked:link-local$"):
        resolver.check_literal(answer)


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0177.0.0.1"])
def test_non_canonical_literals_are_refused_even_when_private_targets_are_allowed(
    host: str,
) -> None:
    with pytest.raises(TargetRefused, match="non-canonical"):
        GuardedResolver(ALLOW_PRIVATE, lookup=ScriptedLookup()).check_literal(host)


async def test_plain_http_reaches_allow_listed_addresses_only() -> None:
    plaintext = GuardedResolver(
        LOOPBACK, lookup=ScriptedLookup([PRIVATE], [PUBLIC], [PRIVATE, PUBLIC])
    ).for_plaintext()
    [result] = await plaintext.resolve("receiver.local", 8080)
    assert result["host"] == "127.0.0.1"
    for _ in range(2):  # public alone, and public among allow-listed answers
        with pytest.raises(TargetRefused, match=f"^{NOT_HTTPS}$"):
            await plaintext.resolve("hooks.example.com", 80)
    plaintext.check_literal("127.0.0.1")
    with pytest.raises(TargetRefused, match=f"^{NOT_HTTPS}$"):
        plaintext.check_literal(str(PUBLIC))


async def test_https_is_not_limited_to_the_allow_list() -> None:
    resolver = GuardedResolver(LOOPBACK, lookup=ScriptedLookup([PUBLIC], [PRIVATE]))
    assert [r["host"] for r in await resolver.resolve("hooks.example.com", 443)] == [str(PUBLIC)]
    assert [r["host"] for r in await resolver.resolve("receiver.local", 443)] == ["127.0.0.1"]


async def test_unresolvable_hosts_fail_as_os_errors() -> None:
    async def failing(host: str, port: int) -> list[IPAddress]:
        raise OSError("Name or service not known")

    resolver = GuardedResolver(DEFAULT, lookup=failing)
    with pytest.raises(OSError, match="not known"):
        await resolver.resolve("nowhere.invalid", 443)
    empty = GuardedResolver(DEFAULT, lookup=ScriptedLookup([]))
    with pytest.raises(OSError, match="no addresses"):
        await empty.resolve("empty.invalid", 443)


async def test_the_system_lookup_answers_addresses() -> None:
    assert ipaddress.ip_address("127.0.0.1") in await system_lookup("localhost", 80)
