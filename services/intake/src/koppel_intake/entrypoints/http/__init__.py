"""The intake HTTP API of DOMAIN.md §5."""
