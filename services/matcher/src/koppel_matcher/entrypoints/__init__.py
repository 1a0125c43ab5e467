"""Entrypoints: the Kafka shard workers and their supervisor, and the read API."""
