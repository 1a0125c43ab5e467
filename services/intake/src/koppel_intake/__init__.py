"""Koppel intake service."""
