"""Builds MIME messages and hands them to the SMTP relay with aiosmtplib."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

import aiosmtplib

from koppel_notifier.adapters.email_renderer import RenderedEmail
from koppel_notifier.domain.outcome import AttemptOutcome, Verdict


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


def build_message(
    content: RenderedEmail,
    *,
    sender: str,
    to_name: str,
    to_address: str,
    delivery_id: str,
    unsubscribe_url: str,
    now: datetime,
) -> EmailMessage:
    """`multipart/alternative` (text, then HTML) with a Message-ID derived from the delivery.

    The same delivery always yields the same Message-ID, so a mail client can recognise a
    copy sent again after a crash; List-Unsubscribe is one-click (RFC 8058).
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((to_name, to_address))
    message["Subject"] = content.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(delivery_id, sender)
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return message


def message_id(delivery_id: str, sender: str) -> str:
    """`<delivery-id@sender-domain>`: unique per notification, identical on every retry."""
    _, address = parseaddr(sender)
    _, at, domain = address.rpartition("@")
    if not at or not domain:
        domain = "koppel.local"
    return f"<{delivery_id}@{domain}>"


class SmtpEmailSender:
    """Keeps up to `connections` SMTP sessions open and reuses them between messages."""

    def __init__(self, config: SmtpConfig, *, connections: int) -> None:
        self._config = config
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        self._slots = asyncio.Semaphore(connections)

    async def send(self, message: EmailMessage) -> AttemptOutcome:
        """One attempt: 4xx and connection trouble retry, 5xx for the recipient refuses.

        The outcome carries an error code, never the server's reply: SMTP replies name the
        recipient's address (`550 5.1.1 <anne@example.org>: User unknown`), and the code
        ends up in logs, `last_error` and `notification.failed`.
        """
        async with self._slots:
            try:
                client = await self._client()
            except aiosmtplib.SMTPAuthenticationError:
                return AttemptOutcome(Verdict.RETRY, "smtp_auth_failed")
            except (aiosmtplib.SMTPException, OSError) as exc:
                return AttemptOutcome(Verdict.RETRY, _failure_code("smtp_connect_failed", exc))
            try:
                await client.send_message(message)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refusal = min(exc.recipients, key=lambda item: item.code, default=None)
                self._idle.put_nowait(client)
                if refusal is None:
                    return AttemptOutcome(Verdict.REFUSED, "smtp_recipient_refused")
                return _by_code(refusal.code, "smtp_recipient_refused")
            except aiosmtplib.SMTPRecipientRefused as exc:
                self._idle.put_nowait(client)
                return _by_code(exc.code, "smtp_recipient_refused")
            except aiosmtplib.SMTPDataError as exc:
                self._idle.put_nowait(client)
                return _by_code(exc.code, "smtp_data_refused")
            except aiosmtplib.SMTPResponseException as exc:
                # Not about this recipient (e.g. MAIL FROM refused): a relay problem, retry.
                await _close(client)
                return AttemptOutcome(Verdict.THROTTLED, f"smtp_relay_refused_{exc.code}")
            except (aiosmtplib.SMTPException, OSError) as exc:
                await _close(client)
                return AttemptOutcome(Verdict.RETRY, _failure_code("smtp_connection_lost", exc))
            self._idle.put_nowait(client)
            return AttemptOutcome(Verdict.DELIVERED, "smtp_accepted")

    async def _client(self) -> aiosmtplib.SMTP:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                return client
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            start_tls=config.starttls,
            timeout=config.timeout,
            local_hostname="koppel-notifier",
        )
        await client.connect()
        return client

    async def aclose(self) -> None:
        while not self._idle.empty():
            await _close(self._idle.get_nowait())


def _by_code(code: int, failure: str) -> AttemptOutcome:
    """`<failure>_<reply code>`: a 4xx reply is tried again, anything else refuses."""
    if 400 <= code < 500:
        return AttemptOutcome(Verdict.RETRY, f"{failure}_{code}")
    return AttemptOutcome(Verdict.REFUSED, f"{failure}_{code}")


def _failure_code(failure: str, exc: BaseException) -> str:
    """`smtp_timeout` for a timeout, else `failure`; the exception's text (a host) stays out."""
    return "smtp_timeout" if isinstance(exc, TimeoutError) else failure


async def _close(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
