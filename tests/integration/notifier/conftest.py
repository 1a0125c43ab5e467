"""Real receivers and a real notifier for the notifier's integration tests.

- `smtp_sink`: an aiosmtpd server on a free port that records every message; addresses
  starting with `bounce` get 550 at RCPT (naming the address, as Postfix does), `greylist`
  a 451 the first time.
- `receiver`: an HTTP server (uvicorn, in this process and loop) that records each webhook;
  per-path behaviour is scripted by the test (status sequence, delay, redirect).
- `notifier`: a factory starting the notifier in-process on a fresh database with a unique
  consumer group whose offsets are first committed at the current end of the topics, so it
  sees only what the test publishes.
- `kafka_io`: publishes profiles, match events and answers onto the real topics.
- `dead_letters`: reads what is dead-lettered from a topic from now on.

Every consultant id carries the test's `unique_id`.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from koppel.cloudevents import encode, new_event
from koppel.contract import (
    Assignment,
    AssignmentSummary,
    ConsultantProfile,
    MatchFound,
    MatchResponded,
    MatchResponseWithdrawn,
    MatchUpdated,
    MatchWithdrawn,
    match_id_for,
)
from koppel.event_types import EventType, Source
from koppel.migrations import migrate
from koppel.topics import CONSULTANTS, MATCHES, RESPONSES
from koppel.vocabulary import Answer, AnswerVia, VisibleField, WithdrawalReason
from koppel_demo.sandbox import free_port, start_group_at_end
from koppel_notifier.bootstrap import Notifier, build
from koppel_notifier.settings import Settings

TODAY = date.today()


# ---------------------------------------------------------------- SMTP sink


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


@pytest.fixture(scope="session")
def smtp_sink() -> Any:
    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink("127.0.0.1", port, handler)
    finally:
        controller.stop()


# ---------------------------------------------------------------- webhook receiver


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


@pytest.fixture(scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    hub = Receiver(port)
    app = Starlette(routes=[Route("/{path:path}", hub.handle, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers only this flag
        await asyncio.sleep(0.02)
    try:
        yield hub
    finally:
        server.should_exit = True
        await task


# ---------------------------------------------------------------- Kafka


def assignment(assignment_id: str, **changes: Any) -> Assignment:
    document: dict[str, Any] = {
        "id": assignment_id,
        "title": "Senior communicatieadviseur participatie",
        "organization": {"name": "Gemeente Zeist", "type": "municipality", "inhabitants": 65_000},
        "location": {"city": "Zeist", "province": "utrecht"},
        "level": "senior",
        "assignment_type": "project",
        "disciplines_required": ["citizen_participation"],
        "hours_per_week": {"min": 28, "max": 32},
        "start_date": (TODAY + timedelta(days=14)).isoformat(),
        "duration_months": 6,
        "office_days_per_week": 2,
    }
    document.update(changes)
    return Assignment.model_validate(document)


def profile(consultant_id: str, **notification: Any) -> ConsultantProfile:
    language = notification.pop("language", "nl")
    email = notification.pop("email", f"{consultant_id}@example.org")
    return ConsultantProfile.model_validate(
        {
            "id": consultant_id,
            "name": "Anouk de Vries",
            "email": email,
            "language": language,
            "level": "senior",
            "years_experience": 9,
            "disciplines": ["citizen_participation"],
            "home": {"city": "Utrecht", "province": "utrecht"},
            "max_office_days_per_week": 3,
            "available_from": TODAY.isoformat(),
            "hours_per_week": {"min": 24, "max": 32},
            "consent": True,
            "notification": {"min_score": 0.5, **notification},
        }
    )


class KafkaIO:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def profile(self, profile: ConsultantProfile) -> None:
        event = new_event(
            EventType.CONSULTANT_UPSERTED, source=Source.INTAKE, subject=profile.id, data=profile
        )
        value, headers = encode(event)
        await self._producer.send_and_wait(
            CONSULTANTS, value=value, key=profile.id.encode(), headers=headers
        )

    async def erase(self, consultant_id: str) -> None:
        await self._producer.send_and_wait(CONSULTANTS, value=None, key=consultant_id.encode())

    async def found(
        self,
        consultant_id: str,
        assignment: Assignment,
        score: float = 0.8,
        revision: int = 1,
        *,
        traceparent: str | None = None,
    ) -> str:
        match_id = match_id_for(assignment.id, consultant_id)
        data = MatchFound(
            match_id=match_id,
            consultant_id=consultant_id,
            assignment=AssignmentSummary.of(assignment),
            score=score,
            reasons=["Je beheerst het gevraagde vakgebied", "Niveau past precies"],
            revision=revision,
        )
        await self._match(EventType.MATCH_FOUND, consultant_id, data, traceparent)
        return match_id

    async def updated(
        self,
        consultant_id: str,
        assignment: Assignment,
        changed: list[VisibleField],
        revision: int = 2,
        score: float = 0.8,
    ) -> str:
        match_id = match_id_for(assignment.id, consultant_id)
        data = MatchUpdated(
            match_id=match_id,
            consultant_id=consultant_id,
            assignment=AssignmentSummary.of(assignment),
            score=score,
            reasons=["Je beheerst het gevraagde vakgebied", "Niveau past precies"],
            revision=revision,
            changed=changed,
        )
        await self._match(EventType.MATCH_UPDATED, consultant_id, data)
        return match_id

    async def withdrawn(
        self,
        consultant_id: str,
        assignment: Assignment,
        reason: WithdrawalReason = WithdrawalReason.ASSIGNMENT_FILLED,
        *,
        with_summary: bool = False,
    ) -> str:
        match_id = match_id_for(assignment.id, consultant_id)
        data = MatchWithdrawn(
            match_id=match_id,
            consultant_id=consultant_id,
            assignment_id=assignment.id,
            assignment=AssignmentSummary.of(assignment) if with_summary else None,
            reason=reason,
        )
        await self._match(EventType.MATCH_WITHDRAWN, consultant_id, data)
        return match_id

    async def responded(
        self, consultant_id: str, assignment: Assignment, response: Answer, at: datetime
    ) -> MatchResponded:
        data = MatchResponded(
            match_id=match_id_for(assignment.id, consultant_id),
            consultant_id=consultant_id,
            assignment_id=assignment.id,
            response=response,
            responded_at=at,
            via=AnswerVia.API,
        )
        await self._answer(EventType.MATCH_RESPONDED, data.match_id, data)
        return data

    async def response_withdrawn(
        self, consultant_id: str, assignment: Assignment, at: datetime
    ) -> None:
        data = MatchResponseWithdrawn(
            match_id=match_id_for(assignment.id, consultant_id),
            consultant_id=consultant_id,
            assignment_id=assignment.id,
            withdrawn_at=at,
            via=AnswerVia.API,
        )
        await self._answer(EventType.MATCH_RESPONSE_WITHDRAWN, data.match_id, data)

    async def _answer(self, event_type: EventType, match_id: str, data: Any) -> None:
        event = new_event(event_type, source=Source.INTAKE, subject=match_id, data=data)
        value, headers = encode(event)
        await self._producer.send_and_wait(
            RESPONSES, value=value, key=match_id.encode(), headers=headers
        )

    async def raw(
        self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        await self._producer.send_and_wait(topic, value=value, key=key, headers=headers)

    async def _match(
        self,
        event_type: EventType,
        consultant_id: str,
        data: Any,
        traceparent: str | None = None,
    ) -> None:
        event = new_event(
            event_type,
            source=Source.MATCHER,
            subject=consultant_id,
            data=data,
            traceparent=traceparent,
        )
        value, headers = encode(event)
        await self._producer.send_and_wait(
            MATCHES, value=value, key=consultant_id.encode(), headers=headers
        )


@pytest.fixture(scope="session")
async def kafka_io(kafka: str) -> AsyncIterator[KafkaIO]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        yield KafkaIO(producer)
    finally:
        await producer.stop()


class DeadLetters:
    """What arrives on one dead-letter topic after it was opened."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer

    async def of(self, key: str) -> dict[str, bytes]:
        """The headers of the next dead letter keyed `key` (30 s at most)."""
        async with asyncio.timeout(30):
            while True:
                record = await self._consumer.getone()
                if record.key == key.encode():
                    return dict(record.headers)


@pytest.fixture
def dead_letters(kafka: str) -> Callable[[str], AbstractAsyncContextManager[DeadLetters]]:
    """`async with dead_letters(topic) as letters: ... await letters.of(key)`"""

    @asynccontextmanager
    async def open_dlq(topic: str) -> AsyncIterator[DeadLetters]:
        consumer = AIOKafkaConsumer(
            f"{topic}.dlq", bootstrap_servers=kafka, auto_offset_reset="latest", group_id=None
        )
        await consumer.start()
        try:
            await consumer.seek_to_end()
            yield DeadLetters(consumer)
        finally:
            await consumer.stop()

    return open_dlq


# ---------------------------------------------------------------- the notifier


def notifier_env(
    *,
    database_url: str,
    kafka: str,
    smtp: SmtpSink,
    group_id: str,
    **overrides: str,
) -> dict[str, str]:
    env = {
        "KOPPEL_ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "SMTP_FROM": "Koppel <opdrachten@koppel.test>",
        "PUBLIC_BASE_URL": "http://notifier.test",
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
        "NOTIFIER_GROUP_ID": group_id,
        "NOTIFIER_UNSUBSCRIBE_SECRET": "integration-test-secret-0123456789",
        "NOTIFIER_RETRY_SCHEDULE": "0,0.3,0.3,0.3",
        "NOTIFIER_RETRY_JITTER": "0",
        "NOTIFIER_POLL_SECONDS": "0.1",
        "NOTIFIER_LEASE_SECONDS": "20",
        "LOG_LEVEL": "WARNING",
    }
    env.update(overrides)
    return env


NotifierFactory = Callable[..., Any]


@pytest.fixture
async def notifier(
    fresh_database: str, kafka: str, smtp_sink: SmtpSink, unique_id: str
) -> NotifierFactory:
    """`async with notifier(**env_overrides, clock=..., resolver=...) as running: ...`"""

    @asynccontextmanager
    async def start(**options: Any) -> AsyncIterator[Notifier]:
        build_options = {
            key: options.pop(key)
            for key in ("clock", "digest_clock", "resolver", "digest_interval_s")
            if key in options
        }
        group_id = f"notifier-test-{unique_id}-{uuid.uuid4().hex[:6]}"
        env = notifier_env(
            database_url=fresh_database, kafka=kafka, smtp=smtp_sink, group_id=group_id, **options
        )
        await start_group_at_end(kafka, group_id, (MATCHES, CONSULTANTS, RESPONSES))
        running = await build(Settings(**env), **build_options)  # type: ignore[arg-type]
        await running.start()
        try:
            yield running
        finally:
            await running.stop()

    return start


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database with the notifier's tables, for testing one adapter."""
    await migrate(fresh_database, service="notifier", package="koppel_notifier.migrations")
    created = await asyncpg.create_pool(fresh_database, min_size=1, max_size=3)
    assert created is not None
    try:
        yield created
    finally:
        await created.close()


@pytest.fixture
def make_profile() -> Callable[..., ConsultantProfile]:
    return profile


@pytest.fixture
def make_assignment() -> Callable[..., Assignment]:
    return assignment


async def delivery_rows(running: Notifier, consultant_id: str) -> list[dict[str, Any]]:
    rows = await running.pool.fetch(
        "SELECT * FROM notifier_deliveries WHERE consultant_id = $1 ORDER BY created_at",
        consultant_id,
    )
    return [dict(row) for row in rows]


@pytest.fixture
def rows() -> Callable[[Notifier, str], Awaitable[list[dict[str, Any]]]]:
    return delivery_rows
