"""`koppel-matcher` runs the matcher; `koppel-matcher migrate` applies its migrations and exits."""

from __future__ import annotations

from koppel.service_command import run_or_migrate
from koppel_matcher.bootstrap import apply_migrations, serve
from koppel_matcher.settings import Settings


def main(argv: list[str] | None = None) -> None:
    run_or_migrate(
        "matcher",
        Settings,
        serve=serve,
        apply_migrations=apply_migrations,
        description=__doc__,
        argv=argv,
    )


if __name__ == "__main__":
    main()
