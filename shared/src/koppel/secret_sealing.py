"""Webhook secrets sealed with AES-256-GCM, so they never travel or rest in clear.

Intake seals a consultant's webhook secret before the profile goes onto Kafka; only the
notifier opens it, in memory, just before signing (DOMAIN.md 8.6). The sealed form is one
self-describing string:

    sealed:v1:<key id>:<base64url(nonce || ciphertext and tag), unpadded>

The nonce is 96 random bits per sealing. The associated data binds the ciphertext to the
format version, the key id and the consultant id, so a sealed secret copied onto another
profile, or relabelled with another key id, does not open. A keyring holds several keys by
id: the active one seals, every one opens, which is how keys rotate.

    python -m koppel.secret_sealing new-key [KEY_ID]   # prints KEY_ID:base64key
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED_PREFIX = "sealed:"
VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_SECRET_BYTES = 256
"""Longer than any Standard Webhooks secret (`whsec_` and 64 bytes of key in base64)."""

KEY_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}"
_KEY_ID = re.compile(KEY_ID_PATTERN)
_BODY_MAX_CHARS = -(-(NONCE_BYTES + MAX_SECRET_BYTES + TAG_BYTES) * 4 // 3)
SEALED_PATTERN = rf"^sealed:v1:{KEY_ID_PATTERN}:[A-Za-z0-9_-]{{39,{_BODY_MAX_CHARS}}}$"
"""The shape of a sealed secret (a JSON Schema `pattern`); whether it opens is another matter."""
_SEALED = re.compile(SEALED_PATTERN)
_AAD_LABEL = b"koppel/webhook-secret"


class SecretKeyError(ValueError):
    """The key configuration cannot be used (the message names what to fix, never a key)."""


class UnsealCode(StrEnum):
    """Why a sealed secret did not open; recorded as the delivery's error code."""

    MALFORMED = "webhook_secret_malformed"
    UNKNOWN_KEY = "webhook_secret_unknown_key"
    NOT_AUTHENTIC = "webhook_secret_not_authentic"
    """Tampered, sealed for another consultant, or sealed with another key of the same id."""


class UnsealError(Exception):
    """A sealed secret that does not open with this keyring for this consultant."""

    def __init__(self, code: UnsealCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SealedSecret:
    """The parts of a sealed secret's string form."""

    key_id: str
    nonce: bytes
    ciphertext: bytes
    """The encrypted secret followed by GCM's 16-byte tag."""

    @classmethod
    def parse(cls, text: str) -> SealedSecret:
        if not _SEALED.fullmatch(text):
            raise UnsealError(UnsealCode.MALFORMED, "not a sealed secret of version v1")
        _prefix, _version, key_id, body = text.split(":")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise UnsealError(UnsealCode.MALFORMED, "the sealed body is not base64url") from None
        if len(raw) < NONCE_BYTES + TAG_BYTES + 1:
            raise UnsealError(UnsealCode.MALFORMED, "the sealed body is too short")
        return cls(key_id, raw[:NONCE_BYTES], raw[NONCE_BYTES:])

    def __str__(self) -> str:
        body = base64.urlsafe_b64encode(self.nonce + self.ciphertext).rstrip(b"=").decode()
        return f"{SEALED_PREFIX}{VERSION}:{self.key_id}:{body}"


def is_sealed(value: str) -> bool:
    """Whether `value` has the shape of a sealed secret (it may still not open)."""
    return _SEALED.fullmatch(value) is not None


def looks_sealed(value: str) -> bool:
    """Whether `value` claims to be sealed (by its prefix), well-formed or not."""
    return value.startswith(SEALED_PREFIX)


class SecretKeyring:
    """Keys by id; `active_key_id` seals, every key opens."""

    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if not keys:
            raise SecretKeyError("no key given")
        for key_id, key in keys.items():
            if not _KEY_ID.fullmatch(key_id):
                raise SecretKeyError(f"key id {key_id!r} must match {KEY_ID_PATTERN}")
            if len(key) != KEY_BYTES:
                raise SecretKeyError(f"key {key_id!r} must be {KEY_BYTES} bytes")
        if active_key_id not in keys:
            raise SecretKeyError(f"the active key {active_key_id!r} is not among the keys")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id

    @classmethod
    def parse(cls, text: str, active_key_id: str | None = None) -> SecretKeyring:
        """Keys written `id:base64key`, separated by commas or newlines; active: the first."""
        keys: dict[str, bytes] = {}
        for entry in re.split(r"[,\s]+", text.strip()):
            if not entry:
                continue
            key_id, colon, encoded = entry.partition(":")
            if not colon:
                raise SecretKeyError("each key must be written as id:base64key")
            if key_id in keys:
                raise SecretKeyError(f"key id {key_id!r} is given twice")
            keys[key_id] = _decode_key(key_id, encoded)
        if not keys:
            raise SecretKeyError("no key given")
        return cls(keys, active_key_id or next(iter(keys)))

    @property
    def key_ids(self) -> Sequence[str]:
        return tuple(self._ciphers)

    def seal(self, secret: str, *, consultant_id: str) -> str:
        """`secret` sealed with the active key for `consultant_id`'s profile."""
        plain = secret.encode()
        if not 0 < len(plain) <= MAX_SECRET_BYTES:
            raise ValueError(f"a secret to seal holds 1 to {MAX_SECRET_BYTES} bytes")
        key_id = self.active_key_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = self._ciphers[key_id].encrypt(
            nonce, plain, _associated_data(key_id, consultant_id)
        )
        return str(SealedSecret(key_id, nonce, ciphertext))

    def open(self, sealed: str, *, consultant_id: str) -> str:
        """The clear secret; raise `UnsealError` when it does not open for `consultant_id`."""
        parts = SealedSecret.parse(sealed)
        cipher = self._ciphers.get(parts.key_id)
        if cipher is None:
            raise UnsealError(
                UnsealCode.UNKNOWN_KEY, f"sealed with key {parts.key_id!r}, not configured"
            )
        try:
            plain = cipher.decrypt(
                parts.nonce, parts.ciphertext, _associated_data(parts.key_id, consultant_id)
            )
        except InvalidTag:
            raise UnsealError(
                UnsealCode.NOT_AUTHENTIC, "the sealed secret is not authentic for this consultant"
            ) from None
        try:
            return plain.decode()
        except UnicodeDecodeError:
            raise UnsealError(UnsealCode.MALFORMED, "the opened secret is not UTF-8") from None


def new_key(key_id: str | None = None) -> str:
    """A fresh random key as a keyring entry `id:base64key` (id: `k` and today's date)."""
    chosen = key_id or f"k{datetime.now(UTC):%Y%m%d}"
    if not _KEY_ID.fullmatch(chosen):
        raise SecretKeyError(f"key id {chosen!r} must match {KEY_ID_PATTERN}")
    return f"{chosen}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def _decode_key(key_id: str, encoded: str) -> bytes:
    try:
        if "-" in encoded or "_" in encoded:
            return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SecretKeyError(f"key {key_id!r} is not base64") from None


def _associated_data(key_id: str, consultant_id: str) -> bytes:
    return b"\x00".join((_AAD_LABEL, VERSION.encode(), key_id.encode(), consultant_id.encode()))


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "new-key" or len(args) > 2:
        sys.exit("usage: python -m koppel.secret_sealing new-key [KEY_ID]")
    try:
        print(new_key(args[1] if len(args) == 2 else None))
    except SecretKeyError as exc:
        sys.exit(f"koppel.secret_sealing: {exc}")


if __name__ == "__main__":
    main()
