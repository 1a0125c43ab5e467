"""Koppel\x27s local demo: data generator, mail sink, webhook receiver and loader for `make run`."""
