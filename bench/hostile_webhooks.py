"""Webhook endpoints for the fault tests: healthy, failing, hanging and dripping ones.

One HTTP/1.1 server per `Behaviour`, each on its own port (so on its own origin, as
distinct receivers would be: the notifier pools connections per origin); the path
`/hooks/<consultant id>` names the consultant. Every request is recorded as an `Attempt`, with the
process that sent it: the client socket's inode is looked up in /proc/net/tcp and then
among the file descriptors of the notifier processes the harness started (`our_pids`).
A request from any other process is marked foreign (with its command line), so a second
notifier reading the same topics shows up as such instead of as a "redelivery".

Unlike `end_to_end.WebhookReceiver`, whose arrivals are one class-level list shared by
every instance in the process, each `HostileWebhooks` keeps its own records.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from http_requests import take_requests


class Behaviour(StrEnum):
    OK = "ok"  # 204 at once
    FLAKY = "flaky"  # 500 to the first attempt of each message, 204 to the next
    FAILING = "failing"  # 500, always
    HANGING = "hanging"  # reads the request, never answers
    DRIPPING = "dripping"  # 200, then its 16-byte body one byte every `drip_s`


@dataclass
class Attempt:
    at: float  # wall clock, seconds
    webhook_id: str
    kind: str
    assignment_id: str
    consultant_id: str
    behaviour: str
    status: int  # what the endpoint answered (0: never answered)
    sender: str  # "ours", "foreign <pid> <command>" or "unknown"


def _client_socket_inode(client_port: int, server_port: int) -> int | None:
    """The inode of the TCP socket bound to `client_port` and connected to `server_port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), Path(table).open() as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local, remote = fields[1], fields[2]
                if (
                    int(local.rsplit(":", 1)[1], 16) == client_port
                    and int(remote.rsplit(":", 1)[1], 16) == server_port
                ):
                    return int(fields[9])
    return None


def _owns_socket(pid: int, inode: int) -> bool:
    target = f"socket:[{inode}]"
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for descriptor in descriptors:
        with contextlib.suppress(OSError):
            if str(descriptor.readlink()) == target:
                return True
    return False


def sender_of(client_port: int, server_port: int, ours: set[int]) -> str:
    """ "ours" when one of `ours` holds the client socket, else who does (or "unknown")."""
    inode = _client_socket_inode(client_port, server_port)
    if inode is None:
        return "unknown"
    if any(_owns_socket(pid, inode) for pid in ours):
        return "ours"
    for entry in Path("/proc").iterdir():
        pid = int(entry.name) if entry.name.isdigit() else None
        if pid is not None and pid != os.getpid() and _owns_socket(pid, inode):
            with contextlib.suppress(OSError):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                return f"foreign {pid} {command.decode(errors='replace')[:120]}"
            return f"foreign {pid}"
    return "unknown"


@dataclass
class HostileWebhooks:
    """The endpoints, one server per behaviour; `attempts` records every request."""

    our_pids: Callable[[], set[int]]
    drip_s: float = 0.4
    attempts: list[Attempt] = field(default_factory=list)
    ports: dict[Behaviour, int] = field(default_factory=dict)
    _servers: list[asyncio.Server] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _failed_once: set[str] = field(default_factory=set)

    async def start(self, ports: list[int]) -> None:
        """Serve each behaviour on one of `ports` (as many as there are behaviours)."""
        loop = asyncio.get_running_loop()
        for behaviour, port in zip(Behaviour, ports, strict=True):
            self.ports[behaviour] = port
            server = await loop.create_server(
                functools.partial(_Connection, self, behaviour, port),
                "127.0.0.1",
                port,
                backlog=1024,
            )
            self._servers.append(server)

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def base_url(self, behaviour: Behaviour) -> str:
        return f"http://127.0.0.1:{self.ports[behaviour]}"

    def delivered(self) -> list[Attempt]:
        """Attempts that the endpoint answered with a 2xx."""
        return [a for a in self.attempts if 200 <= a.status < 300]

    def answer(self, transport: asyncio.Transport, attempt: Attempt) -> None:
        behaviour = Behaviour(attempt.behaviour)
        if behaviour is Behaviour.FLAKY:
            if attempt.webhook_id in self._failed_once:
                behaviour = Behaviour.OK
            self._failed_once.add(attempt.webhook_id)
        if behaviour is Behaviour.OK:
            attempt.status = 204
            transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        elif behaviour in {Behaviour.FLAKY, Behaviour.FAILING}:
            attempt.status = 500
            transport.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n")
        elif behaviour is Behaviour.DRIPPING:
            attempt.status = 200
            task = asyncio.create_task(self._drip(transport))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # HANGING: no answer; the notifier's total timeout ends the attempt.

    async def _drip(self, transport: asyncio.Transport) -> None:
        body = b'{"ok": "slowly"}'
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body))
        for byte in body:
            await asyncio.sleep(self.drip_s)
            if transport.is_closing():
                return
            transport.write(bytes([byte]))


class _Connection(asyncio.Protocol):
    def __init__(self, hooks: HostileWebhooks, behaviour: Behaviour, port: int) -> None:
        self._hooks = hooks
        self._behaviour = behaviour
        self._port = port
        self._buffer = b""
        self._sender = "unknown"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        client_port = transport.get_extra_info("peername")[1]
        self._sender = sender_of(client_port, self._port, self._hooks.our_pids())

    def data_received(self, data: bytes) -> None:
        requests, self._buffer = take_requests(self._buffer + data)
        for request in requests:
            body = json.loads(request.body)
            consultant_id = request.target.rpartition("/")[2]
            attempt = Attempt(
                at=time.time(),
                webhook_id=request.headers.get("webhook-id", ""),
                kind=body.get("type", ""),
                assignment_id=body.get("data", {}).get("assignment", {}).get("id", ""),
                consultant_id=consultant_id,
                behaviour=self._behaviour.value,
                status=0,
                sender=self._sender,
            )
            self._hooks.attempts.append(attempt)
            self._hooks.answer(self._transport, attempt)
