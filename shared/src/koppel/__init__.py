"""Koppel shared event contract: models, CloudEvents envelope, topics, settings and logging."""
