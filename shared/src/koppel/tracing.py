"""W3C Trace Context (`traceparent`): parse, format and continue one across the services.

One trace follows an assignment or profile change from intake's HTTP request through the
matcher's match events to the notifier's webhook and outcome event: intake continues the
caller's trace or starts one, every event carries it as the CloudEvents `traceparent`
extension, and each service binds its trace id into its log lines. A value that is not a
valid `traceparent` (bad shape, version `ff`, an all-zero id) is never passed on: receivers
drop it, or start a fresh trace where one is needed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

BINARY_MODE_HEADER = "ce_traceparent"
"""The Kafka header of the extension in binary mode, as on an erasure tombstone."""
PLAIN_HEADER = "traceparent"
"""The header of HTTP requests and webhooks, and of Kafka records traced by OpenTelemetry."""

_TRACEPARENT = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-"
    r"(?P<parent_id>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})"
)
_VERSION = "00"
_INVALID_VERSION = "ff"
_ZERO_TRACE = "0" * 32
_ZERO_PARENT = "0" * 16
_SAMPLED = "01"


@dataclass(frozen=True, slots=True)
class TraceParent:
    """The four fields of a `traceparent`; `str()` gives its header form."""

    version: str
    trace_id: str
    parent_id: str
    flags: str

    def __str__(self) -> str:
        return f"{self.version}-{self.trace_id}-{self.parent_id}-{self.flags}"


def parse(value: str | None) -> TraceParent | None:
    """The fields of `value`, or None when it is absent or not a valid `traceparent`.

    Surrounding blanks and upper-case hex are forgiven; what W3C calls invalid is not.
    """
    if not value:
        return None
    match = _TRACEPARENT.fullmatch(value.strip().lower())
    if (
        match is None
        or match["version"] == _INVALID_VERSION
        or match["trace_id"] == _ZERO_TRACE
        or match["parent_id"] == _ZERO_PARENT
    ):
        return None
    return TraceParent(match["version"], match["trace_id"], match["parent_id"], match["flags"])


def valid_traceparent(value: str | None) -> str | None:
    """`value` in its normal form when valid; None otherwise, so a bad value goes no further."""
    parsed = parse(value)
    return None if parsed is None else str(parsed)


def continue_trace(incoming: str | None) -> str:
    """A `traceparent` for the work done now: the incoming trace with a new span, or a new
    sampled trace when `incoming` is absent or invalid (never a reason to refuse work)."""
    parsed = parse(incoming)
    if parsed is None:
        return str(TraceParent(_VERSION, secrets.token_hex(16), secrets.token_hex(8), _SAMPLED))
    return str(TraceParent(_VERSION, parsed.trace_id, secrets.token_hex(8), parsed.flags))


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id: the one key that finds an assignment's lines in every service's log."""
    parsed = parse(traceparent)
    return None if parsed is None else parsed.trace_id


def log_context(traceparent: str | None) -> dict[str, str | None]:
    """What a service binds into its log context for the work under `traceparent`."""
    return {"traceparent": traceparent, "trace_id": trace_id_of(traceparent)}


def from_headers(headers: Iterable[tuple[str, bytes | None]] | None) -> str | None:
    """The `traceparent` a Kafka record carries in a header, or None when none is valid.

    The CloudEvents binary-mode header (`ce_traceparent`, which intake writes on erasure
    tombstones) comes first; a plain `traceparent` header is read when there is none.
    """
    first: dict[str, bytes] = {}
    for name, value in headers or ():
        if value is not None:
            first.setdefault(name.lower(), value)
    for name in (BINARY_MODE_HEADER, PLAIN_HEADER):
        if name in first:
            try:
                return valid_traceparent(bytes(first[name]).decode())
            except UnicodeDecodeError:
                return None
    return None
