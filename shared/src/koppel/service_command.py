"""The command line of a service that owns a database: `run` (the default) or `migrate`.

`migrate` applies the service's migrations and exits, for a setup job that runs before
the replicas start; both read the same settings, so a misconfiguration shows in either.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from koppel.logging import configure_logging
from koppel.settings import ServiceSettings, settings_from_environment

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def run_or_migrate(
    service: str,
    settings_type: type[SettingsT],
    *,
    serve: Callable[[SettingsT], Coroutine[Any, Any, None]],
    apply_migrations: Callable[[SettingsT], Coroutine[Any, Any, Sequence[str]]],
    description: str | None = None,
    argv: list[str] | None = None,
) -> None:
    """Parse `koppel-<service> [run|migrate]`, read the settings, and do it."""
    program = f"koppel-{service}"
    parser = argparse.ArgumentParser(prog=program, description=description)
    parser.add_argument("command", nargs="?", choices=["run", "migrate"], default="run")
    args = parser.parse_args(argv)
    settings = settings_from_environment(settings_type, program)
    configure_logging(service, level=settings.log_level, json=settings.log_json)
    if args.command == "migrate":
        applied = asyncio.run(apply_migrations(settings))
        print(f"{service} migrations applied: {', '.join(applied) or 'none (up to date)'}")
        return
    asyncio.run(serve(settings))
