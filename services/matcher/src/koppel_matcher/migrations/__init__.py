"""Versioned SQL migrations of the matcher (applied by `koppel.migrations.migrate`)."""
