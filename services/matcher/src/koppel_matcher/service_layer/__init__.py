"""Service layer: what the matcher does with each event, independent of Kafka and HTTP."""
