"""CPU seconds used by each part of a benchmark stack, read from /proc (Linux only).

`CpuMeter(stack).snapshot()` sums user + system time of: each Koppel service process, the
Kafka broker the stack uses (the process listening on its bootstrap port, so a second
broker on the machine is not counted), the PostgreSQL backends serving the stack's
database, and this benchmark process (load generator and webhook receiver). The difference
of two snapshots divided by the events delivered in between is the CPU one event costs in
each part: the number to optimise when the pipeline is CPU-bound on a small machine.
A backend that exits between snapshots takes its time with it; pools keep theirs open.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

from stack import Stack

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system seconds of `pid` (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _command_line(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except (FileNotFoundError, ProcessLookupError):
        return ""


def listening_pid(port: int) -> int | None:
    """The process with a TCP socket listening on `port` (IPv4 or IPv6), if any."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if str(fd.readlink()) in inodes:
                    return int(entry.name)
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return None


class CpuMeter:
    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._broker = listening_pid(int(stack.bootstrap.split(",")[0].rsplit(":", 1)[1]))

    def snapshot(self) -> dict[str, float]:
        services = {
            service.process.pid: name
            for name, service in self._stack.services.items()
            if service.process is not None
        }
        if self._broker is not None:
            services[self._broker] = "kafka"
        totals: dict[str, float] = dict.fromkeys([*services.values(), "kafka", "postgres"], 0.0)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            part = services.get(pid)
            if part is None:
                command = _command_line(pid)
                if command.startswith("postgres:") and f" {self._stack.database} " in command:
                    part = "postgres"
            if part is not None:
                totals[part] += cpu_seconds(pid)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        totals["bench"] = usage.ru_utime + usage.ru_stime
        return totals


def ms_per_event(
    before: dict[str, float], after: dict[str, float], events: int
) -> dict[str, float]:
    """CPU milliseconds per event of each part between two snapshots, and their total."""
    per_event = {
        part: round(1000 * (after[part] - before.get(part, 0.0)) / max(events, 1), 2)
        for part in after
    }
    per_event["total"] = round(sum(per_event.values()), 2)
    return per_event
