"""The SSRF guard resolves once, checks every answer and connects to the checked address."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

import httpcore
import pytest

from koppel_notifier.adapters.guarded_network import GuardedBackend, TargetRefused
from koppel_notifier.domain.address_policy import IPAddress

PUBLIC = ipaddress.ip_address("93.184.216.34")
PRIVATE = ipaddress.ip_address("127.0.0.1")


class ScriptedResolver:
    """Answers each lookup with the next scripted list (a DNS-rebinding attacker's server)."""

    def __init__(self, *answers: list[IPAddress]) -> None:
        self._answers = list(answers)
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        return self._answers.pop(0)


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Remembers where it was asked to connect instead of connecting."""

    def __init__(self) -> None:
        self.connected_to: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected_to.append((host, port))
        return httpcore.AsyncMockStream([])

    async def sleep(self, seconds: float) -> None:
        return None


async def test_rebinding_cannot_swap_the_checked_address() -> None:
    resolver = ScriptedResolver([PUBLIC], [PRIVATE])
    inner = RecordingBackend()
    backend = GuardedBackend(allow_private=False, resolver=resolver, inner=inner)

    await backend.connect_tcp("hooks.example.com", 443, timeout=5)

    assert resolver.lookups == ["hooks.example.com"]  # one lookup, no second chance
    assert inner.connected_to == [(str(PUBLIC), 443)]


async def test_the_next_connection_resolves_again_and_is_refused_when_private() -> None:
    resolver = ScriptedResolver([PUBLIC], [PRIVATE])
    inner = RecordingBackend()
    backend = GuardedBackend(allow_private=False, resolver=resolver, inner=inner)
    await backend.connect_tcp("hooks.example.com", 443)

    with pytest.raises(TargetRefused, match="loopback"):
        await backend.connect_tcp("hooks.example.com", 443)
    assert inner.connected_to == [(str(PUBLIC), 443)]


async def test_any_private_answer_refuses_the_host() -> None:
    resolver = ScriptedResolver([PUBLIC, ipaddress.ip_address("10.0.0.7")])
    inner = RecordingBackend()
    backend = GuardedBackend(allow_private=False, resolver=resolver, inner=inner)
    with pytest.raises(TargetRefused, match="private"):
        await backend.connect_tcp("mixed.example.com", 443)
    assert inner.connected_to == []


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "169.254.169.254", "::ffff:10.0.0.1"])
async def test_literal_addresses_are_checked_without_dns(host: str) -> None:
    resolver = ScriptedResolver()
    backend = GuardedBackend(allow_private=False, resolver=resolver, inner=RecordingBackend())
    with pytest.raises(TargetRefused):
        await backend.connect_tcp(host, 80)
    assert resolver.lookups == []


async def test_private_targets_may_be_allowed_for_local_runs() -> None:
    inner = RecordingBackend()
    backend = GuardedBackend(allow_private=True, resolver=ScriptedResolver([PRIVATE]), inner=inner)
    await backend.connect_tcp("receiver.local", 8080)
    assert inner.connected_to == [("127.0.0.1", 8080)]


async def test_unresolvable_hosts_fail_as_connect_errors() -> None:
    async def failing(host: str, port: int) -> list[IPAddress]:
        raise OSError("Name or service not known")

    backend = GuardedBackend(allow_private=False, resolver=failing, inner=RecordingBackend())
    with pytest.raises(httpcore.ConnectError, match="cannot resolve"):
        await backend.connect_tcp("nowhere.invalid", 443)
