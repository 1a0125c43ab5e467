"""Fixtures every integration suite uses (each suite's conftest adds its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

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
