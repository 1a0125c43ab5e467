"""Adapters to the outside world: the Kafka publisher and the raw-topic consumer."""
