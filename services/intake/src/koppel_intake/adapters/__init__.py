"""Implementations of the service layer's ports: the Kafka producer, an in-memory one."""
