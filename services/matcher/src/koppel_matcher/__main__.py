"""`koppel-matcher` runs the matcher; `koppel-matcher migrate` applies its migrations and exits."""

from __future__ import annotations

import argparse
import asyncio

from koppel.settings import settings_from_environment
from koppel_matcher.bootstrap import apply_migrations, serve
from koppel_matcher.settings import MatcherSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="koppel-matcher", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["run", "migrate"], default="run")
    args = parser.parse_args(argv)
    settings = settings_from_environment(MatcherSettings, "koppel-matcher")
    if args.command == "migrate":
        applied = asyncio.run(apply_migrations(settings))
        print(f"matcher migrations applied: {', '.join(applied) or 'none (up to date)'}")
        return
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
