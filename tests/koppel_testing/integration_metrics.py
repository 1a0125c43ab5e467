"""Reading the Prometheus text the services expose on /metrics."""

from __future__ import annotations


def consumer_lag(metrics: str, group: str, *, prefix: bool = False) -> list[str]:
    """The `koppel_consumer_lag` lines of consumer group `group` (or of every group whose
    name starts with it, if `prefix`)."""
    label = f'group="{group}' if prefix else f'group="{group}"'
    return [
        line
        for line in metrics.splitlines()
        if line.startswith("koppel_consumer_lag{") and label in line
    ]


def covers(lines: list[str], topic: str) -> bool:
    """Whether some of the lines are about `topic`."""
    return any(f'topic="{topic}"' in line for line in lines)


def sample_values(lines: list[str]) -> list[float]:
    """The value of each sample line."""
    return [float(line.rsplit(" ", 1)[1]) for line in lines]
