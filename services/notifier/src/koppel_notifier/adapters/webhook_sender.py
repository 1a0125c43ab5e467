"""POSTs signed webhooks through the SSRF-guarded connector and says what came of it."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import datetime

import aiohttp
from yarl import URL

from koppel.contract.webhook_url import MAX_WEBHOOK_URL_LENGTH
from koppel_notifier.adapters.guarded_network import GuardedResolver, TargetRefused
from koppel_notifier.adapters.webhook_signing import signature_headers
from koppel_notifier.domain.outcome import AttemptOutcome, Verdict, classify_http

MAX_RESPONSE_BYTES = 20 * 1024
USER_AGENT = "Koppel-Notifier/1 (+https://koppel.nl)"

URL_INVALID = "webhook_url_invalid"
URL_TOO_LONG = "webhook_url_too_long"
URL_USERINFO = "webhook_url_userinfo"
"""Refusal codes for a URL stored before intake checked it (see koppel.contract.webhook_url)."""


class HttpWebhookSender:
    """No redirects, 5 s to connect, 15 s in all, 20 KB read at most.

    One aiohttp session serves every receiver: its connector keeps the connections of each
    origin (scheme, host, port) apart, at most `connections_per_origin` of them, and closes
    one that has been idle for `keepalive_s`. The connector resolves through the
    `GuardedResolver` only, with its DNS cache off (see guarded_network); plain http has a
    session of its own, whose resolver admits allow-listed addresses only.
    `ssl_context` replaces the system's trust store (tests use their own CA).

    A refusal (policy, or a URL an older intake let through) is a `REFUSED` outcome with a
    code that names the rule, not the URL: final, never retried.
    """

    def __init__(
        self,
        resolver: GuardedResolver,
        clock: Callable[[], datetime],
        *,
        connect_timeout: float = 5.0,
        total_timeout: float = 15.0,
        connections_per_origin: int = 8,
        keepalive_s: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._resolvers = {"https": resolver, "http": resolver.for_plaintext()}
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=total_timeout, sock_connect=connect_timeout)
        self._connections = connections_per_origin
        self._keepalive_s = keepalive_s
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    async def send(
        self,
        url: str,
        secret: str,
        message_id: str,
        body: bytes,
        *,
        traceparent: str | None = None,
    ) -> AttemptOutcome:
        """One attempt; signed with this attempt's timestamp and the stable `message_id`.

        `traceparent` (the match event's W3C trace context) goes along as a header, so a
        receiver that traces can continue the trace that began at intake.
        """
        headers = signature_headers(secret, message_id, body, self._clock())
        headers["content-type"] = "application/json"
        if traceparent is not None:
            headers["traceparent"] = traceparent
        target = _checked_url(url)
        if isinstance(target, str):
            return AttemptOutcome(Verdict.REFUSED, target)
        try:
            self._resolvers[target.scheme].check_literal(target.raw_host or "")
            async with self._client(target.scheme).post(
                target, data=body, headers=headers, allow_redirects=False
            ) as reply:
                await _read_at_most(reply, MAX_RESPONSE_BYTES)
                return classify_http(reply.status, reply.headers.get("retry-after"), self._clock())
        except TargetRefused as exc:
            return AttemptOutcome(Verdict.REFUSED, exc.code)
        except TimeoutError:
            return AttemptOutcome(Verdict.THROTTLED, "webhook_timeout")
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError):
            return AttemptOutcome(Verdict.REFUSED, URL_INVALID)
        except (aiohttp.ClientError, OSError) as exc:
            return AttemptOutcome(Verdict.RETRY, _network_code(exc))

    def _client(self, scheme: str) -> aiohttp.ClientSession:
        """The scheme's session, made on first use (it must be made inside the running loop)."""
        session = self._sessions.get(scheme)
        if session is None:
            connector = aiohttp.TCPConnector(
                resolver=self._resolvers[scheme],
                # Off, so every new connection is looked up and checked again (and a
                # changed DNS answer counts at once); keep-alive makes lookups rare anyway.
                use_dns_cache=False,
                limit=0,  # the delivery worker bounds the sends in flight
                limit_per_host=self._connections,
                keepalive_timeout=self._keepalive_s,
                ssl=self._ssl,
            )
            session = self._sessions[scheme] = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                headers={"user-agent": USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),  # no receiver's cookie travels back
                auto_decompress=False,  # the body is only drained, never decoded
                read_bufsize=MAX_RESPONSE_BYTES,
                trust_env=False,  # no proxy from the environment
            )
        return session

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()


def _checked_url(url: str) -> URL | str:
    """The URL to post to, or the code of the URL rule it breaks."""
    if len(url) > MAX_WEBHOOK_URL_LENGTH:
        return URL_TOO_LONG
    try:
        target = URL(url)
    except ValueError:
        return URL_INVALID
    if target.scheme not in {"http", "https"} or not target.raw_host:
        return URL_INVALID
    if target.raw_user is not None or target.raw_password is not None:
        return URL_USERINFO
    return target


def _network_code(exc: BaseException) -> str:
    """The error code of a failed connection or exchange (see `AttemptOutcome.detail`)."""
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return "webhook_tls_error"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "webhook_dns_failed"
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError):
        return "webhook_connect_failed"
    if isinstance(exc, aiohttp.ServerDisconnectedError | ConnectionResetError):
        return "webhook_connection_lost"
    if isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
        return "webhook_bad_response"
    return "webhook_network_error"


async def _read_at_most(reply: aiohttp.ClientResponse, limit: int) -> None:
    """Drain up to `limit` bytes so a hostile receiver cannot make us buffer megabytes.

    A body left unread closes the connection when the reply is released (aiohttp reuses a
    connection only after its response was read to the end).
    """
    read = 0
    while read < limit:
        chunk = await reply.content.readany()
        if not chunk:
            return
        read += len(chunk)
