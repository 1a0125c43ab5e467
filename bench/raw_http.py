"""A minimal HTTP/1.1 keep-alive client for the load generator's PUTs.

httpx costs the benchmark process about as much CPU per request as the intake spends
serving it (py-spy: connection-pool expiry checks, anyio stream wrappers), and the load
generator shares the machine with the stack it measures. This client does only what the
benchmark needs: JSON PUTs with fixed headers over reused connections, answers with a
Content-Length body (uvicorn's), status code back.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class RawHttpClient:
    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self._host = host
        self._port = port
        fixed = {"Host": f"{host}:{port}", "Content-Type": "application/json", **headers}
        self._head = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def put_json(self, path: str, document: Any) -> int:
        """PUT `document` as JSON to `path`; the response status (the body is read, dropped)."""
        body = json.dumps(document, separators=(",", ":")).encode()
        request = (
            f"PUT {path} HTTP/1.1\r\n{self._head}Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        while self._idle:
            # A kept-alive connection the server closed meanwhile (uvicorn closes idle ones
            # after 5 s) fails before any answer: the request never arrived, send it anew.
            connection = self._idle.pop()
            try:
                return await self._exchange(connection, request)
            except (OSError, asyncio.IncompleteReadError):
                continue
        return await self._exchange(await asyncio.open_connection(self._host, self._port), request)

    async def _exchange(
        self, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> int:
        reader, writer = connection
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        self._idle.append(connection)
        return status

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()
