"""`koppel-intake`: run the HTTP API and the raw-topic consumer in one process.

`koppel-intake asyncapi` prints the AsyncAPI document of the topics instead.
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from koppel.http_server import server_config
from koppel.logging import configure_logging
from koppel_intake.asyncapi import render
from koppel_intake.bootstrap import build_app, load_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="koppel-intake", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["serve", "asyncapi"], default="serve")
    args = parser.parse_args(argv)
    if args.command == "asyncapi":
        sys.stdout.write(render())
        return
    settings = load_settings()
    configure_logging("intake", level=settings.log_level, json=settings.log_json)
    app = build_app(settings)
    # uvicorn handles SIGTERM/SIGINT: it stops accepting, finishes requests, then runs the
    # lifespan shutdown, which stops the consumer and flushes the producer.
    uvicorn.Server(server_config(app, settings, host=settings.host, port=settings.port)).run()


if __name__ == "__main__":
    main()
