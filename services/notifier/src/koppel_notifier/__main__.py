"""`koppel-notifier` runs the service; `koppel-notifier migrate` applies its migrations;
`koppel-notifier deliveries list|retry|discard` handles deliveries given up on (see
`koppel-notifier deliveries --help`)."""

from __future__ import annotations

import sys

from koppel.service_command import run_or_migrate
from koppel_notifier.bootstrap import apply_migrations, serve
from koppel_notifier.entrypoints import deliveries_command
from koppel_notifier.settings import Settings


def main(argv: list[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["deliveries"]:
        sys.exit(deliveries_command.main(arguments[1:]))
    run_or_migrate(
        "notifier",
        Settings,
        serve=serve,
        apply_migrations=apply_migrations,
        description=__doc__,
        argv=argv,
    )


if __name__ == "__main__":
    main()
