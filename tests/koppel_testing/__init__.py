"""What the test suites share: values and builders every suite would otherwise copy.

Importable as `koppel_testing` because pytest puts `tests/` on the path (`pythonpath` in
pyproject.toml); it ships in no package.
"""

from __future__ import annotations

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""A Standard Webhooks secret (`whsec_` and 24 bytes of key) for test consultants."""
