"""How the world reaches intake: the HTTP API (the raw-topic consumer lives in adapters)."""
