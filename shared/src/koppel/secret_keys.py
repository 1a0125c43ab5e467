"""Where a service finds the keys that seal webhook secrets (intake and the notifier).

`KOPPEL_SECRET_KEYS` (or a file named by `KOPPEL_SECRET_KEYS_FILE`) lists the keys as
`id:base64key`, separated by commas or newlines; `KOPPEL_SECRET_ACTIVE_KEY` names the one
that seals (default: the first). There is no built-in key: a service that needs keys and
finds none refuses to start, and the local scripts generate a development key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

from koppel.secret_sealing import SecretKeyError, SecretKeyring

KEYS = "KOPPEL_SECRET_KEYS"
KEYS_FILE = "KOPPEL_SECRET_KEYS_FILE"
ACTIVE_KEY = "KOPPEL_SECRET_ACTIVE_KEY"


class SecretKeySettings(BaseSettings):
    """Mixed into a service's `Settings`; validation fails with the variable to fix."""

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
        if self.secret_keys is not None and self.secret_keys_file is not None:
            raise ValueError(f"set {KEYS} or {KEYS_FILE}, not both")
        if self.secret_keys is not None:
            text, source = self.secret_keys.get_secret_value(), KEYS
        elif self.secret_keys_file is not None:
            try:
                text = self.secret_keys_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(
                    f"{KEYS_FILE}: cannot read the file ({type(exc).__name__})"
                ) from None
            source = KEYS_FILE
        else:
            raise ValueError(
                f"{KEYS} (or {KEYS_FILE}) must hold the keys that seal webhook secrets;"
                " make one with: python -m koppel.secret_sealing new-key"
            )
        try:
            keyring = SecretKeyring.parse(text)
        except SecretKeyError as exc:
            raise ValueError(f"{source}: {exc}") from None
        active = self.secret_active_key
        if not active or active == keyring.active_key_id:
            return keyring
        if active not in keyring.key_ids:
            raise ValueError(f"{ACTIVE_KEY}: {active!r} is not among the keys of {source}")
        return SecretKeyring.parse(text, active)
