"""Request framing for the benchmarks' minimal HTTP/1.1 receivers (keep-alive, Content-Length).

The receivers are asyncio protocols rather than an HTTP server so they cost the benchmark
as little CPU as possible; this is the one place that cuts their byte stream into requests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    target: str
    headers: dict[str, str]
    body: bytes


def take_requests(buffer: bytes) -> tuple[list[Request], bytes]:
    """The complete requests at the start of `buffer`, and what is left of it."""
    requests = []
    while True:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            break
        head = buffer[:head_end].decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in head[1:])
        }
        end = head_end + 4 + int(headers.get("content-length", "0"))
        if len(buffer) < end:
            break
        parts = head[0].split(" ")
        requests.append(
            Request(parts[1] if len(parts) > 1 else "", headers, buffer[head_end + 4 : end])
        )
        buffer = buffer[end:]
    return requests, buffer
