"""W3C Trace Context: continue an incoming `traceparent` or start a new trace."""

from __future__ import annotations

import re
import secrets

_TRACEPARENT = re.compile(
    r"^(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-"
    r"(?P<parent_id>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})$"
)
_ZERO_TRACE = "0" * 32
_ZERO_PARENT = "0" * 16


def continue_trace(incoming: str | None) -> str:
    """A `traceparent` for the work we do now: same trace, new span; or a fresh trace.

    An absent or invalid header (per W3C: bad shape, version `ff`, all-zero ids) starts a
    new sampled trace instead of failing the request.
    """
    match = _TRACEPARENT.match(incoming.strip().lower()) if incoming else None
    if (
        match is None
        or match["version"] == "ff"
        or match["trace_id"] == _ZERO_TRACE
        or match["parent_id"] == _ZERO_PARENT
    ):
        return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    return f"00-{match['trace_id']}-{secrets.token_hex(8)}-{match['flags']}"


def is_traceparent(value: str) -> bool:
    """True when `value` has the W3C `traceparent` shape."""
    return _TRACEPARENT.match(value) is not None
