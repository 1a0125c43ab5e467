"""Fixtures every integration suite uses (each suite's conftest adds its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from koppel_testing.integration_intake import intake_client
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import OpenReader, TopicReader


@pytest.fixture
async def reader(kafka: str) -> AsyncIterator[OpenReader]:
    """Opens `TopicReader`s at the current end of a topic; closes them after the test."""
    opened: list[TopicReader] = []

    async def open_reader(topic: str) -> TopicReader:
        topic_reader = await TopicReader.at_end(kafka, topic)
        opened.append(topic_reader)
        return topic_reader

    yield open_reader
    for topic_reader in opened:
        await topic_reader.close()


@pytest.fixture(scope="session")
async def kafka_io(kafka: str) -> AsyncIterator[TopicWriter]:
    """Writes Koppel events onto the canonical topics (one producer for the session)."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        yield TopicWriter(producer)
    finally:
        await producer.stop()


@pytest.fixture
async def intake_api(kafka: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of intake's production app (real Kafka publisher, real lifespan), raw
    consumer off, with a valid token."""
    async with intake_client(kafka, "integration-token") as client:
        yield client
