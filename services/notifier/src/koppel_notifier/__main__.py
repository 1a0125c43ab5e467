"""`koppel-notifier` runs the service; `koppel-notifier migrate` applies its migrations."""

from __future__ import annotations

from koppel.service_command import run_or_migrate
from koppel_notifier.bootstrap import apply_migrations, serve
from koppel_notifier.settings import Settings


def main(argv: list[str] | None = None) -> None:
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
