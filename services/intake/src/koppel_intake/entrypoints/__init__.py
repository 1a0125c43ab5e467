"""How the world reaches intake: the HTTP API (`http`) and the raw-topic consumer."""
