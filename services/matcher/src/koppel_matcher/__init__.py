"""Koppel matcher service."""
