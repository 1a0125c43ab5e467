"""The webhook sender's transport against real local servers: where it connects, TLS, limits.

The SSRF guard is an aiohttp resolver; these tests prove that aiohttp really connects to
the addresses it handed over and to nothing else (IP literals included, which aiohttp never
sends to a resolver), that TLS is checked against the URL's hostname, and that a hostile
receiver cannot make the sender read more than 20 KB or wait longer than its timeouts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from koppel_notifier.adapters.guarded_network import GuardedResolver, Lookup, system_lookup
from koppel_notifier.adapters.webhook_sender import HttpWebhookSender
from koppel_notifier.domain.address_policy import IPAddress, TargetPolicy, parse_allowed_networks
from koppel_notifier.domain.outcome import AttemptOutcome, Verdict
from koppel_testing import WEBHOOK_SECRET as SECRET
from koppel_testing.integration_waiting import Wait

pytestmark = pytest.mark.integration

LOOPBACK = ipaddress.ip_address("127.0.0.1")

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Server"], Awaitable[None]]


class Server:
    """A TCP server on 127.0.0.1 that records the connections and requests it sees."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.requests: list[dict[str, str]] = []
        self.port = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            await self._handler(reader, writer, self)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.open_now -= 1
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        """One request's headers (lower-cased names), its body read and dropped."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        headers = {"request-line": lines[0]}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append(headers)
        return headers


@asynccontextmanager
async def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server(handler)
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


async def answer_204(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server) -> None:
    while await s.read_request(reader) is not None:
        writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()


class TableLookup:
    """Every host resolves to the address the test gave it; anything else is unknown."""

    def __init__(self, table: dict[str, IPAddress]) -> None:
        self._table = table
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        if host not in self._table:
            raise OSError(f"{host} is unknown")
        return [self._table[host]]


def now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def sender(
    lookup: Lookup,
    *,
    allow_loopback: bool,
    **options: object,
) -> AsyncIterator[HttpWebhookSender]:
    """A sender whose allow-list is `127.0.0.0/8,::1/128` (as in local runs), or empty."""
    allowed = parse_allowed_networks("127.0.0.0/8,::1/128" if allow_loopback else "")
    webhooks = HttpWebhookSender(
        GuardedResolver(TargetPolicy.configured(allowed, allow_private=False), lookup=lookup),
        now,
        **options,  # type: ignore[arg-type]
    )
    try:
        yield webhooks
    finally:
        await webhooks.aclose()


async def post(webhooks: HttpWebhookSender, url: str) -> AttemptOutcome:
    return await webhooks.send(url, SECRET, "msg_transport", b'{"type":"test"}')


async def test_the_connection_goes_to_the_checked_address_and_is_kept_alive() -> None:
    # `hooks.test` exists in no DNS: a delivery proves aiohttp connected to our answer.
    lookup = TableLookup({"hooks.test": LOOPBACK})
    async with serving(answer_204) as server, sender(lookup, allow_loopback=True) as webhooks:
        first = await post(webhooks, f"http://hooks.test:{server.port}/a")
        second = await post(webhooks, f"http://hooks.test:{server.port}/b")
    assert (first.verdict, second.verdict) == (Verdict.DELIVERED, Verdict.DELIVERED)
    assert lookup.lookups == ["hooks.test"]  # the second POST reused the checked connection
    assert server.connections == 1
    assert [request["host"] for request in server.requests] == [f"hooks.test:{server.port}"] * 2
    assert server.requests[0]["webhook-id"] == "msg_transport"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "127.1", "0x7f.0.0.1", "localhost"],
)
async def test_a_loopback_target_is_refused_before_any_connection(host: str) -> None:
    # Literals never reach a resolver in aiohttp; `localhost` and the hex form do, and get
    # the system's answer, which is loopback.
    async with serving(answer_204) as server, sender(system_lookup, allow_loopback=False) as hooks:
        outcome = await post(hooks, f"http://{host}:{server.port}/hook")
    assert outcome.verdict is Verdict.REFUSED, outcome
    assert server.connections == 0


@pytest.mark.parametrize("answer", ["127.0.0.1", "::ffff:127.0.0.1", "10.0.0.1"])
async def test_a_host_resolving_to_a_private_address_is_refused(answer: str) -> None:
    lookup = TableLookup({"evil.hooks.test": ipaddress.ip_address(answer)})
    async with serving(answer_204) as server, sender(lookup, allow_loopback=False) as webhooks:
        outcome = await post(webhooks, f"http://evil.hooks.test:{server.port}/hook")
    assert outcome.verdict is Verdict.REFUSED
    assert outcome.detail.startswith("webhook_target_not_allowed:"), outcome.detail
    assert server.connections == 0


async def test_a_url_that_can_never_work_is_refused() -> None:
    async with sender(TableLookup({}), allow_loopback=True) as webhooks:
        for url in ("ftp://hooks.test/x", "no url at all", "http://"):
            outcome = await post(webhooks, url)
            assert outcome.verdict is Verdict.REFUSED, url
            assert outcome.detail == "webhook_url_invalid", outcome.detail


# ---------------------------------------------------------------- TLS


def _make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate it signed for `hooks.test` only."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make test certificates")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=folder, check=True, capture_output=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Koppel test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign")  # fmt: skip
    run("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=hooks.test")
    (folder / "leaf.ext").write_text(
        "subjectAltName=DNS:hooks.test\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext")  # fmt: skip
    return folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key"


async def test_tls_verifies_and_sends_sni_for_the_url_hostname(tmp_path: Path) -> None:
    ca, certificate, key = _make_certificates(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(certificate, key)
    names: list[str | None] = []

    def record_sni(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name)

    server_tls.sni_callback = record_sni
    client_tls = ssl.create_default_context(cafile=str(ca))
    lookup = TableLookup({"hooks.test": LOOPBACK, "other.test": LOOPBACK})
    async with (
        serving(answer_204, tls=server_tls) as server,
        sender(lookup, allow_loopback=True, ssl_context=client_tls) as webhooks,
    ):
        good = await post(webhooks, f"https://hooks.test:{server.port}/tls")
        # Same address, but the certificate is not for this name (nor for the IP).
        wrong_name = await post(webhooks, f"https://other.test:{server.port}/tls")
        by_address = await post(webhooks, f"https://127.0.0.1:{server.port}/tls")
    assert good.verdict is Verdict.DELIVERED, good
    assert names[0] == "hooks.test"
    for outcome in (wrong_name, by_address):
        assert outcome.verdict is Verdict.RETRY
        assert outcome.detail == "webhook_tls_error", outcome.detail
    assert len(server.requests) == 1


# ---------------------------------------------------------------- hostile receivers


async def test_at_most_20_kb_of_an_endless_reply_is_read() -> None:
    closed = asyncio.Event()

    async def endless(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server
    ) -> None:
        await s.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100000000\r\n\r\n" + b"x" * 65536)
        await writer.drain()
        # Nothing more is ever sent: a sender that read to the end would wait for its timeout.
        await reader.read()  # returns once the sender drops the connection
        closed.set()

    lookup = TableLookup({"big.test": LOOPBACK})
    async with serving(endless) as server, sender(lookup, allow_loopback=True) as webhooks:
        started = time.monotonic()
        outcome = await post(webhooks, f"http://big.test:{server.port}/big")
        elapsed = time.monotonic() - started
        # The unread rest makes the connection unusable: it is closed, not pooled.
        await asyncio.wait_for(closed.wait(), timeout=5)
    assert outcome.verdict is Verdict.DELIVERED
    assert elapsed < 2


async def test_a_dripping_reply_is_cut_off_by_the_total_timeout() -> None:
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server) -> None:
        await s.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
        for _ in range(400):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)

    lookup = TableLookup({"drip.test": LOOPBACK})
    async with (
        serving(drip) as server,
        sender(lookup, allow_loopback=True, total_timeout=1.0) as webhooks,
    ):
        started = time.monotonic()
        outcome = await post(webhooks, f"http://drip.test:{server.port}/drip")
        elapsed = time.monotonic() - started
    assert outcome.verdict is Verdict.THROTTLED
    assert outcome.detail == "webhook_timeout"
    assert 0.9 <= elapsed < 3


async def test_each_origin_has_its_own_connection_limit(wait: Wait) -> None:
    release = asyncio.Event()

    async def held(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server) -> None:
        while await s.read_request(reader) is not None:
            await release.wait()
            writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()

    lookup = TableLookup({"slow.test": LOOPBACK, "fast.test": LOOPBACK})
    async with (
        serving(held) as slow_server,
        serving(answer_204) as fast_server,
        sender(lookup, allow_loopback=True, connections_per_origin=2) as webhooks,
    ):
        slow_sends = [
            asyncio.create_task(post(webhooks, f"http://slow.test:{slow_server.port}/{n}"))
            for n in range(6)
        ]
        try:
            # The slow origin's two connections are busy until released; a send queued
            # behind them would not finish at all (no clock involved, so no load can fail it).
            await wait(lambda: len(slow_server.requests) == 2, within=30, what="two slow sends")
            fast = await asyncio.wait_for(
                post(webhooks, f"http://fast.test:{fast_server.port}/fast"), timeout=10
            )
            assert len(slow_server.requests) == 2
        finally:
            release.set()
        slow_outcomes = await asyncio.gather(*slow_sends)
    assert fast.verdict is Verdict.DELIVERED
    assert all(outcome.verdict is Verdict.DELIVERED for outcome in slow_outcomes)
    assert slow_server.most_open == 2
