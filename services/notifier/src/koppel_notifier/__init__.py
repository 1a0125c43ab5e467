"""Koppel notifier service."""
