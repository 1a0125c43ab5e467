"""The physical reference: raw Kafka produce → consume of ~1 KB records on this machine.

Two measurements on a throw-away topic (6 partitions, like the canonical topics):

* Kafka's own `ProducerPerformance` (acks=all) and `ConsumerPerformance` from the same jars
  as the broker (`deploy/local/kafka.sh run ...`), in records/s;
* aiokafka alone, the client library the services use: one producer (acks=all, idempotent)
  and one consumer in one asyncio process, records/s from the first send to the last record
  consumed.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
RECORD_BYTES = 1024
PARTITIONS = 6
KAFKA_SH = ["bash", "deploy/local/kafka.sh", "run"]


async def create_topic(name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
    finally:
        await admin.close()


async def delete_topic(name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.delete_topics([name])
    finally:
        await admin.close()


def java_producer(topic: str, records: int) -> float:
    """records/s reported by ProducerPerformance's summary line."""
    output = subprocess.run(  # noqa: S603 - fixed argv
        [
            *KAFKA_SH,
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(records),
            "--record-size",
            str(RECORD_BYTES),
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={BOOTSTRAP}",
            "acks=all",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    summary = [line for line in output.splitlines() if f"{records} records sent" in line]
    match = re.search(r"([\d.]+) records/sec", summary[-1])
    if match is None:
        raise RuntimeError(f"unexpected ProducerPerformance output: {output[-500:]}")
    return float(match.group(1))


def java_consumer(topic: str, records: int) -> float:
    """nMsg.sec of ConsumerPerformance (from its start, including the group join)."""
    output = subprocess.run(  # noqa: S603 - fixed argv
        [
            *KAFKA_SH,
            "org.apache.kafka.tools.ConsumerPerformance",
            "--bootstrap-server",
            BOOTSTRAP,
            "--topic",
            topic,
            "--messages",
            str(records),
            "--group",
            f"bench-raw-{uuid.uuid4().hex[:8]}",
            "--timeout",
            "60000",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    lines = [line for line in output.splitlines() if line.strip()]
    header_index = next(i for i, line in enumerate(lines) if "nMsg.sec" in line)
    header = [name.strip() for name in lines[header_index].split(",")]
    values = [value.strip() for value in lines[header_index + 1].split(",")]
    return float(values[header.index("nMsg.sec")])


async def aiokafka_pipe(topic: str, records: int) -> float:
    """records/s from the first send to the last record consumed, one process."""
    payload = os.urandom(RECORD_BYTES // 2).hex().encode()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="latest",
        enable_auto_commit=False,
    )
    await consumer.start()
    while not consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no event for this
        await asyncio.sleep(0.05)
    await consumer.seek_to_end()
    for partition in consumer.assignment():
        await consumer.position(partition)
    producer = AIOKafkaProducer(
        bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    received = 0

    async def consume() -> None:
        nonlocal received
        while received < records:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            received += sum(len(batch) for batch in batches.values())

    try:
        started = time.perf_counter()
        consuming = asyncio.create_task(consume())
        pending = []
        for index in range(records):
            pending.append(await producer.send(topic, payload, key=str(index).encode()))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
        await asyncio.wait_for(consuming, timeout=120)
        return records / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


async def measure(runs: int, java_records: int, aiokafka_records: int) -> dict[str, Any]:
    producer_rates: list[float] = []
    consumer_rates: list[float] = []
    aiokafka_rates: list[float] = []
    for _ in range(runs):
        topic = f"koppel.bench.raw.{uuid.uuid4().hex[:8]}"
        await create_topic(topic)
        try:
            producer_rates.append(await asyncio.to_thread(java_producer, topic, java_records))
            consumer_rates.append(await asyncio.to_thread(java_consumer, topic, java_records))
            aiokafka_rates.append(await aiokafka_pipe(topic, aiokafka_records))
        finally:
            await delete_topic(topic)
    return {
        "java_producer_per_s": producer_rates,
        "java_consumer_per_s": consumer_rates,
        "aiokafka_pipe_per_s": aiokafka_rates,
        "record_bytes": RECORD_BYTES,
        "java_records": java_records,
        "aiokafka_records": aiokafka_records,
    }
