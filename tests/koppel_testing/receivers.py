"""Real receivers for what the notifier sends: an SMTP server and a webhook endpoint.

- `smtp_sink()`: an aiosmtpd server on a free port that records every message; addresses
  starting with `bounce` get 550 at RCPT (naming the address, as Postfix does), `greylist`
  a 451 the first time.
- `served(app, port)`: an ASGI app over real HTTP in the caller's loop.
- `webhook_receiver()`: an HTTP server (uvicorn, in the caller's loop) that records each
  webhook; per-path behaviour is scripted by the test (status sequence, delay, redirect).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from koppel.contract import ConsultantProfile
from koppel_demo.sandbox import free_port
from koppel_testing import WEBHOOK_SECRET
from koppel_testing.builders import consultant


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return str(part.get_content())
        raise AssertionError(f"no {content_type} part")


class SinkHandler:
    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.greylisted: set[str] = set()
        self.on_rcpt: Callable[[str], None] | None = None
        self._lock = threading.Lock()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.on_rcpt is not None:
            self.on_rcpt(address)
        if address.startswith("bounce"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("greylist") and address not in self.greylisted:
            self.greylisted.add(address)
            return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(
                ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), parsed)
            )
        return "250 Message accepted"

    def to(self, address: str) -> list[ReceivedMail]:
        with self._lock:
            return [mail for mail in self.messages if address in mail.rcpt_tos]


@dataclass
class SmtpSink:
    host: str
    port: int
    handler: SinkHandler


def webhook_subscriber(
    consultant_id: str,
    url: str,
    *,
    secret: str = WEBHOOK_SECRET,
    channels: Sequence[str] = ("webhook",),
    preferences: Mapping[str, Any] | None = None,
    **changes: Any,
) -> ConsultantProfile:
    """A consultant notified by signed webhook at `url` (and by email too if `channels` says
    so); `preferences` add to the notification settings, `changes` replace other top-level
    fields of the profile."""
    notification = {"channels": list(channels), "webhook_url": url, "webhook_secret": secret}
    return consultant(
        consultant_id, notification={**notification, **(preferences or {})}, **changes
    )


@dataclass
class ReceivedHook:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Behaviour:
    statuses: list[int] = field(default_factory=list)
    """Answered in order; 200 once the list is used up."""
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    def __init__(self, port: int) -> None:
        self.port = port
        self.hooks: list[ReceivedHook] = []
        self.behaviours: dict[str, Behaviour] = {}

    def script(
        self,
        path: str,
        statuses: list[int] | None = None,
        *,
        delay_s: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """How `path` answers: `statuses` in order (then 200), after `delay_s`."""
        self.behaviours[path] = Behaviour(list(statuses or []), delay_s, dict(headers or {}))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def subscriber(
        self,
        consultant_id: str,
        path: str,
        *,
        secret: str = WEBHOOK_SECRET,
        channels: Sequence[str] = ("webhook",),
        preferences: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> ConsultantProfile:
        """A consultant notified by signed webhook at `path` of this receiver."""
        return webhook_subscriber(
            consultant_id,
            self.url(path),
            secret=secret,
            channels=channels,
            preferences=preferences,
            **changes,
        )

    def at(self, path: str) -> list[ReceivedHook]:
        return [hook for hook in self.hooks if hook.path == path]

    def one_message(self, path: str) -> ReceivedHook:
        """The one message posted to `path`.

        A timed-out attempt that the receiver did in fact get is retried, so a loaded machine
        may deliver it twice; receivers de-duplicate on `webhook-id`, which must not change.
        """
        hooks = self.at(path)
        assert hooks, f"no webhook arrived at {path}"
        assert len({hook.headers["webhook-id"] for hook in hooks}) == 1, "repeats changed id"
        return hooks[0]

    async def handle(self, request: Request) -> Response:
        path = request.path_params["path"]
        body = await request.body()
        behaviour = self.behaviours.get(path, Behaviour())
        if behaviour.delay_s:
            await asyncio.sleep(behaviour.delay_s)
        self.hooks.append(ReceivedHook(path, dict(request.headers), body, time.monotonic()))
        status = behaviour.statuses.pop(0) if behaviour.statuses else 200
        return Response(status_code=status, headers=behaviour.headers)


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """A running SMTP sink on a free local port."""
    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink("127.0.0.1", port, handler)
    finally:
        controller.stop()


@asynccontextmanager
async def served(app: Starlette, port: int) -> AsyncIterator[None]:
    """`app` over real HTTP on 127.0.0.1:`port`, in the caller's event loop."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers only this flag
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[Receiver]:
    """A running webhook receiver on a free local port, served in the caller's loop."""
    hub = Receiver(free_port())
    app = Starlette(routes=[Route("/{path:path}", hub.handle, methods=["POST"])])
    async with served(app, hub.port):
        yield hub
