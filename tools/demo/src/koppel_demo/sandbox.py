"""A database and consumer groups of the demo's own, so one run never sees another's data.

`make run` may share Kafka and PostgreSQL with other checkouts, tests and benchmarks (up.sh
reuses a broker or server already answering). With the default database and consumer groups
the demo's matcher would first replay everything those published to the canonical topics
since its last run, and compare the demo profiles with the ones a previous run (another
seed, another day) left in the database: minutes of backlog and thousands of
`match.withdrawn` that have nothing to do with this run.

`python -m koppel_demo.sandbox prepare` therefore (re)creates a database for this checkout
(`koppel_demo_<hash of the checkout path>`, emptied at every run), names fresh consumer
groups for the run and commits the current end of their topics for them, then prints the
environment for the services as `export` lines (like `deploy/local/up.sh`). The matcher
starts at `latest` by itself (`MATCHER_INITIAL_OFFSET`).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shlex
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from koppel import kafka_clients
from koppel.kafka_clients import KafkaConnection
from koppel.settings import kafka_from_environment
from koppel.topic_reconciliation import ensure_topics
from koppel.topics import CONSULTANTS, MATCHES, RAW, RESPONSES, TOPICS

DEFAULT_SERVER_DSN = "postgresql://koppel:koppel@127.0.0.1:5432/koppel"


def free_ports(count: int) -> list[int]:
    """`count` distinct ports on 127.0.0.1 free right now (held open together so none repeats)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def free_port() -> int:
    """A port on 127.0.0.1 free right now, for a server a test or benchmark starts."""
    [port] = free_ports(1)
    return port


def database_name(checkout: Path) -> str:
    """The demo database of one checkout: two clones never empty each other's."""
    digest = hashlib.sha256(str(checkout.resolve()).encode()).hexdigest()[:10]
    return f"koppel_demo_{digest}"


def with_database(dsn: str, database: str) -> str:
    """`dsn` pointing at `database` instead (credentials, host and query kept)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def group_ids(run_id: str) -> dict[str, str]:
    """Environment variable → consumer group of this run, one per consuming service."""
    return {
        "MATCHER_GROUP_ID": f"koppel-demo-{run_id}-matcher",
        "NOTIFIER_GROUP_ID": f"koppel-demo-{run_id}-notifier",
        "INTAKE_RAW_GROUP": f"koppel-demo-{run_id}-intake",
    }


async def drop_database(server_dsn: str, database: str, *, attempts: int = 40) -> None:
    """Drop `database`, ending its sessions.

    FORCE ends sessions of other roles, an autovacuum worker busy after a benchmark filled
    the tables included, only for a member of `pg_signal_backend` (the local cluster's role
    is one: deploy/local/postgres.sh). On a server where the role is not, it is refused while
    such a session is attached, so it is retried for a while.
    """
    admin = await asyncpg.connect(server_dsn)
    try:
        for attempt in range(attempts):
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                return
            except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.25)
    finally:
        await admin.close()


async def recreate_database(server_dsn: str, database: str) -> None:
    await drop_database(server_dsn, database)
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()


async def start_group_at_end(
    kafka: KafkaConnection | str, group_id: str, topics: Sequence[str]
) -> None:
    """Commit the current end offsets for `group_id`: it reads only what comes next."""
    counts = {spec.name: spec.partitions for spec in TOPICS}
    partitions = [TopicPartition(topic, p) for topic in topics for p in range(counts[topic])]
    consumer = kafka_clients.consumer(kafka, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.commit(dict(ends.items()))
    finally:
        await consumer.stop()


async def prepare(server_dsn: str, kafka: KafkaConnection | str, checkout: Path) -> dict[str, str]:
    """Fresh database and groups; returns the environment the services need."""
    await ensure_topics(kafka)
    database = database_name(checkout)
    await recreate_database(server_dsn, database)
    groups = group_ids(f"{int(time.time()):x}")
    await start_group_at_end(kafka, groups["NOTIFIER_GROUP_ID"], [MATCHES, CONSULTANTS, RESPONSES])
    await start_group_at_end(kafka, groups["INTAKE_RAW_GROUP"], [RAW])
    return {
        "DATABASE_URL": with_database(server_dsn, database),
        **groups,
        "MATCHER_INITIAL_OFFSET": "latest",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="koppel_demo.sandbox", description=__doc__)
    parser.add_argument("command", choices=["prepare"])
    parser.add_argument("--checkout", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    server_dsn = os.environ.get("DATABASE_URL", DEFAULT_SERVER_DSN)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    kafka = kafka_from_environment("koppel_demo.sandbox", bootstrap)
    try:
        environment = asyncio.run(prepare(server_dsn, kafka, args.checkout))
    except (OSError, asyncpg.PostgresError, KafkaError) as exc:
        sys.exit(f"koppel_demo.sandbox: cannot prepare the demo's database and groups: {exc}")
    for name, value in environment.items():
        print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
