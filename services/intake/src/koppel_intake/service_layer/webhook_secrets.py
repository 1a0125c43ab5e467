"""Intake seals webhook secrets: none leaves intake in clear, on a topic or a dead letter.

A profile's secret arrives in clear (`whsec_…`) or already sealed (a replayed canonical
event or dead letter). A clear one is sealed with the active key for that consultant; a
sealed one passes unchanged once it is seen to open for that consultant, so a secret
sealed for another profile, or with a key no longer configured, is refused at the door
rather than failing every delivery later.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import SecretStr

from koppel.contract import ConsultantProfile
from koppel.contract.consultant import WEBHOOK_SECRET_PREFIX
from koppel.secret_sealing import MAX_SECRET_BYTES, SecretKeyring, UnsealError, is_sealed

log = structlog.get_logger(__name__)

SECRET_FIELD = ("notification", "webhook_secret")
# Anything shaped like a Standard Webhooks secret, wherever it sits in a dead letter.
_CLEAR_SECRET = re.compile(rb"(?<![A-Za-z0-9_-])whsec_[A-Za-z0-9+/=_-]{8,}")
_REMOVED = b"whsec_removed"


class SecretRefusedError(ValueError):
    """A sealed webhook secret that does not open for this consultant with our keys."""


def sealed_profile(profile: ConsultantProfile, keyring: SecretKeyring) -> ConsultantProfile:
    """`profile` with its webhook secret in sealed form; raise `SecretRefusedError`."""
    secret = profile.notification.webhook_secret
    if secret is None:
        return profile
    value = secret.get_secret_value()
    if is_sealed(value):
        try:
            keyring.open(value, consultant_id=profile.id)
        except UnsealError as exc:
            raise SecretRefusedError(f"{exc} ({exc.code.value})") from None
        return profile
    sealed = SecretStr(keyring.seal(value, consultant_id=profile.id))
    notification = profile.notification.model_copy(update={"webhook_secret": sealed})
    return profile.model_copy(update={"notification": notification})


@dataclass(frozen=True)
class Scrubbed:
    """A dead letter's value without clear secrets; `action` says what was done, if anything."""

    value: bytes | None
    action: str | None = None


def scrub_dead_letter(value: bytes | None, keyring: SecretKeyring) -> Scrubbed:
    """`value` with the webhook secret sealed (or removed when it cannot be), for a DLQ.

    The known place is `notification.webhook_secret` of the profile, in the `data` of a
    structured CloudEvent or as the whole value in binary mode. It is sealed for the
    profile's `id`, so the dead letter still replays; without a usable id it is removed.
    Whatever still looks like a `whsec_` secret anywhere else in the value is removed. Never
    raises: a value that cannot be scrubbed is left out of the dead letter.
    """
    if value is None or WEBHOOK_SECRET_PREFIX.encode() not in value:
        return Scrubbed(value)
    try:
        return _scrubbed(value, keyring)
    except Exception:  # the dead letter must still be written, and without a clear secret
        log.exception("a dead letter's value could not be scrubbed; leaving it out")
        return Scrubbed(None, "value left out: it could not be scrubbed")


def _scrubbed(value: bytes, keyring: SecretKeyring) -> Scrubbed:
    actions: list[str] = []
    document = _json_object(value)
    if document is not None:
        profile = document.get("data") if "specversion" in document else document
        if isinstance(profile, dict):
            action = _seal_in_place(profile, keyring)
            if action is not None:
                actions.append(action)
                value = _dumps(document)
    value, stray = _CLEAR_SECRET.subn(_REMOVED, value)
    if stray:
        actions.append("other whsec_ text removed")
    return Scrubbed(value, "; ".join(actions) or None)


def _seal_in_place(profile: dict[str, Any], keyring: SecretKeyring) -> str | None:
    notification = profile.get("notification")
    if not isinstance(notification, dict):
        return None
    secret = notification.get("webhook_secret")
    if not isinstance(secret, str) or not secret.startswith(WEBHOOK_SECRET_PREFIX):
        return None
    consultant_id = profile.get("id")
    location = ".".join(SECRET_FIELD)
    if (
        isinstance(consultant_id, str)
        and consultant_id
        and len(secret.encode()) <= MAX_SECRET_BYTES
    ):
        notification["webhook_secret"] = keyring.seal(secret, consultant_id=consultant_id)
        return f"{location} sealed"
    del notification["webhook_secret"]
    return f"{location} removed (no consultant id to seal it for)"


def _dumps(document: dict[str, Any]) -> bytes:
    try:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate, read from a \ud800 escape: keep it escaped
        return json.dumps(document, separators=(",", ":")).encode()


def _json_object(value: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(value)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None
