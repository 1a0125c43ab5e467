"""Adapters: PostgreSQL repositories, the shards' Kafka + PostgreSQL unit of work, Kafka clients."""
