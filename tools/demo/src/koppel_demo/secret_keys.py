"""A development key for the services that seal webhook secrets, made fresh per run.

Intake and the notifier have no built-in key and refuse to start without one; what starts
them for a run (tests, benchmarks) passes this unless the environment names keys already.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from koppel import secret_keys
from koppel.secret_sealing import new_key


def development_secret_keys(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`{KOPPEL_SECRET_KEYS: <random key>}`, or nothing when `environ` configures keys."""
    if secret_keys.KEYS in environ or secret_keys.KEYS_FILE in environ:
        return {}
    return {secret_keys.KEYS: new_key("dev")}
