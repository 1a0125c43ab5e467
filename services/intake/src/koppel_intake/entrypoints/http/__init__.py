"""The intake HTTP API of contract §5: `create_app` and the pieces only it uses.

A package where the matcher has one `http.py` module: the same role, imported the same
way, but intake's API also guards, bounds and validates bodies and answers Kafka's own
failures, each in a module of its own (`guard`, `bodies`, `problems`, `observability`).
"""

from koppel_intake.entrypoints.http.app import create_app

__all__ = ["create_app"]
