"""Adapters: PostgreSQL repositories, Kafka clients and wire ↔ domain translation."""
