"""Errors of the shared contract.

    KoppelError
    └── EnvelopeError          a Kafka record is not a CloudEvent we can read
        └── PayloadError       the CloudEvent is fine but its data fails the contract

Each carries a short machine-readable `code` (a `DeadLetterCode`) that dead-letter headers
repeat.
"""

from __future__ import annotations

from koppel.dead_letters import DeadLetterCode


class KoppelError(Exception):
    """Base of every error the koppel package raises."""


class EnvelopeError(KoppelError):
    """The record is not a readable CloudEvent (not JSON, missing attributes, bad mode)."""

    code: DeadLetterCode = DeadLetterCode.INVALID_ENVELOPE


class PayloadError(EnvelopeError):
    """The event type is unknown or its data does not validate against the contract."""

    code: DeadLetterCode = DeadLetterCode.INVALID_PAYLOAD

    def __init__(
        self, message: str, *, code: DeadLetterCode = DeadLetterCode.INVALID_PAYLOAD
    ) -> None:
        super().__init__(message)
        self.code = code
