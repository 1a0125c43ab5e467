"""What intake does with a valid command or a raw record, independent of HTTP and Kafka."""
