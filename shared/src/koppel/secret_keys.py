"""Where a service finds the keys that seal webhook secrets (intake and the notifier).

`KOPPEL_SECRET_KEYS` (or a file named by `KOPPEL_SECRET_KEYS_FILE`) lists the keys as
`id:base64key`, separated by commas or newlines; `KOPPEL_SECRET_ACTIVE_KEY` names the one
that seals (default: the first). There is no built-in key, not even in development: a
service that needs keys and finds none refuses to start, and the local scripts generate a
development key. Outside development a placeholder key (an id such as `change-me`, or a key
of one repeated byte, like compose's all-zero default) is refused too.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator

from koppel.secret_policy import Environment, configured_secret, weakness
from koppel.secret_sealing import SecretKeyError, SecretKeyring
from koppel.settings import ServiceSettings

KEYS = "KOPPEL_SECRET_KEYS"
KEYS_FILE = "KOPPEL_SECRET_KEYS_FILE"
ACTIVE_KEY = "KOPPEL_SECRET_ACTIVE_KEY"
_ADVICE = "make one with `python -m koppel.secret_sealing new-key`"


class SecretKeySettings(ServiceSettings):
    """Settings of a service that seals or opens webhook secrets; validation names the
    variable to fix and never shows a key."""

    secret_keys: SecretStr | None = Field(
        default=None, validation_alias=KEYS, description="id:base64key entries, comma-separated"
    )
    secret_keys_file: Path | None = Field(
        default=None, validation_alias=KEYS_FILE, description=f"a file holding {KEYS}"
    )
    secret_active_key: str | None = Field(
        default=None, validation_alias=ACTIVE_KEY, description="the key id that seals"
    )

    @model_validator(mode="after")
    def _usable_keys(self) -> Self:
        self.secret_keyring()
        return self

    def secret_keyring(self) -> SecretKeyring:
        """The configured keyring; raise `ValueError` naming the variable when unusable."""
        if self.secret_keys is None and self.secret_keys_file is None:
            raise ValueError(
                f"{KEYS} (or {KEYS_FILE}) must hold the keys that seal webhook secrets; {_ADVICE}"
            )
        text = configured_secret(KEYS, self.secret_keys, self.secret_keys_file, self.environment)
        source = KEYS if self.secret_keys is not None else KEYS_FILE
        try:
            keyring = SecretKeyring.parse(text or "")
        except SecretKeyError as exc:
            raise ValueError(f"{source}: {exc}") from None
        if self.environment is not Environment.DEVELOPMENT:
            _refuse_placeholder_keys(source, text or "")
        active = self.secret_active_key
        if not active or active == keyring.active_key_id:
            return keyring
        if active not in keyring.key_ids:
            raise ValueError(f"{ACTIVE_KEY}: {active!r} is not among the keys of {source}")
        return SecretKeyring.parse(text or "", active)


def _refuse_placeholder_keys(source: str, text: str) -> None:
    for entry in text.replace(",", " ").split():
        key_id, _, encoded = entry.partition(":")
        if weakness(entry) is not None or len(set(_decoded(encoded))) <= 1:
            raise ValueError(
                f"{source}: key {key_id!r} is a placeholder outside development; {_ADVICE}"
            )


def _decoded(encoded: str) -> bytes:
    # Already validated by SecretKeyring.parse; both alphabets decode here.
    return base64.urlsafe_b64decode(
        encoded.replace("+", "-").replace("/", "_") + "=" * (-len(encoded) % 4)
    )
