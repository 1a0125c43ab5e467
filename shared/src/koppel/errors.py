"""Errors of the shared contract.

    KoppelError
    └── EnvelopeError          a Kafka record is not a CloudEvent we can read
        └── PayloadError       the CloudEvent is fine but its data fails the contract

Each carries a short machine-readable `code` that dead-letter headers repeat.
"""

from __future__ import annotations


class KoppelError(Exception):
    """Base of every error the koppel package raises."""


class EnvelopeError(KoppelError):
    """The record is not a readable CloudEvent (not JSON, missing attributes, bad mode)."""

    code = "invalid_envelope"


class PayloadError(EnvelopeError):
    """The event type is unknown or its data does not validate against the contract."""

    code = "invalid_payload"

    def __init__(self, message: str, *, code: str = "invalid_payload") -> None:
        super().__init__(message)
        self.code = code
