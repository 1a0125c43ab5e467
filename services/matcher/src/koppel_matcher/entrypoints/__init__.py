"""Entrypoints: the Kafka shard consumers and their supervisor, and the read API."""
