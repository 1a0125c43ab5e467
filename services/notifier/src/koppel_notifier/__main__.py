"""`koppel-notifier` runs the service; `koppel-notifier migrate` applies its migrations."""

from __future__ import annotations

import argparse
import asyncio

from koppel.logging import configure_logging
from koppel.settings import settings_from_environment
from koppel_notifier.bootstrap import apply_migrations, serve
from koppel_notifier.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="koppel-notifier", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["run", "migrate"], default="run")
    args = parser.parse_args()
    settings = settings_from_environment(Settings, "koppel-notifier")
    configure_logging("notifier", level=settings.log_level, json=settings.log_json)
    if args.command == "migrate":
        applied = asyncio.run(apply_migrations(settings))
        print(f"notifier migrations applied: {len(applied)} ({', '.join(applied) or 'none'})")
        return
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
