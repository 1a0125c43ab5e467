"""Sealing webhook secrets: round trip, tampering, another profile, rotation, configuration."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import ValidationError

from koppel import secret_keys
from koppel.contract.consultant import NotificationPreferences
from koppel.secret_sealing import (
    SealedSecret,
    SecretKeyError,
    SecretKeyring,
    UnsealCode,
    UnsealError,
    is_sealed,
    new_key,
)
from koppel_intake.settings import Settings as IntakeSettings
from koppel_notifier.settings import Settings as NotifierSettings
from koppel_testing import WEBHOOK_SECRET as SECRET
from koppel_testing.configuration import start_refusal

OLD, NEW = new_key("old"), new_key("new")


def keyring(*entries: str, active: str | None = None) -> SecretKeyring:
    return SecretKeyring.parse(",".join(entries), active)


def test_a_sealed_secret_opens_for_its_consultant_and_shows_nothing_in_clear() -> None:
    keys = keyring(NEW)

    sealed = keys.seal(SECRET, consultant_id="c-1")

    assert is_sealed(sealed)
    assert sealed.startswith("sealed:v1:new:")
    assert SECRET not in sealed
    assert SECRET.removeprefix("whsec_") not in sealed
    assert keys.open(sealed, consultant_id="c-1") == SECRET


def test_each_sealing_takes_a_fresh_nonce() -> None:
    keys = keyring(NEW)

    first, second = (keys.seal(SECRET, consultant_id="c-1") for _ in range(2))

    assert first != second
    assert SealedSecret.parse(first).nonce != SealedSecret.parse(second).nonce
    assert len(SealedSecret.parse(first).nonce) == 12


def test_a_secret_copied_onto_another_profile_does_not_open() -> None:
    keys = keyring(NEW)
    sealed = keys.seal(SECRET, consultant_id="c-1")

    with pytest.raises(UnsealError) as caught:
        keys.open(sealed, consultant_id="c-2")

    assert caught.value.code is UnsealCode.NOT_AUTHENTIC


@pytest.mark.parametrize("position", [0, 5, 12, 30, -1])
def test_a_tampered_byte_anywhere_is_refused(position: int) -> None:
    keys = keyring(NEW)
    parts = SealedSecret.parse(keys.seal(SECRET, consultant_id="c-1"))
    raw = bytearray(parts.nonce + parts.ciphertext)
    raw[position] ^= 0x01
    tampered = SealedSecret(parts.key_id, bytes(raw[:12]), bytes(raw[12:]))

    with pytest.raises(UnsealError) as caught:
        keys.open(str(tampered), consultant_id="c-1")

    assert caught.value.code is UnsealCode.NOT_AUTHENTIC


def test_a_ciphertext_relabelled_with_another_key_id_does_not_open() -> None:
    shared = base64.b64encode(bytes(range(32))).decode()
    keys = keyring(f"a:{shared}", f"b:{shared}")
    sealed = keys.seal(SECRET, consultant_id="c-1")

    with pytest.raises(UnsealError) as caught:
        keys.open(sealed.replace(":a:", ":b:", 1), consultant_id="c-1")

    assert caught.value.code is UnsealCode.NOT_AUTHENTIC


@pytest.mark.parametrize(
    "text",
    [SECRET, "sealed:v2:new:" + "A" * 60, "sealed:v1:new:short", "sealed:v1::" + "A" * 60],
)
def test_what_is_not_a_sealed_secret_is_malformed(text: str) -> None:
    with pytest.raises(UnsealError) as caught:
        keyring(NEW).open(text, consultant_id="c-1")

    assert caught.value.code is UnsealCode.MALFORMED


def test_rotation_old_records_open_new_records_use_the_new_key() -> None:
    before = keyring(OLD)
    sealed_before = before.seal(SECRET, consultant_id="c-1")

    during = keyring(OLD, NEW, active="new")
    sealed_during = during.seal(SECRET, consultant_id="c-1")

    assert SealedSecret.parse(sealed_during).key_id == "new"
    assert during.open(sealed_before, consultant_id="c-1") == SECRET
    assert during.open(sealed_during, consultant_id="c-1") == SECRET

    after = keyring(NEW)
    assert after.open(sealed_during, consultant_id="c-1") == SECRET
    with pytest.raises(UnsealError) as caught:
        after.open(sealed_before, consultant_id="c-1")
    assert caught.value.code is UnsealCode.UNKNOWN_KEY
    assert "old" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no key given"),
        ("nocolon", "id:base64key"),
        ("a:not*base64", "not base64"),
        (f"a:{base64.b64encode(b'short').decode()}", "32 bytes"),
        (f"{OLD},{OLD}", "given twice"),
        (f"bad id:{OLD.partition(':')[2]}", "id:base64key"),
    ],
)
def test_an_unusable_key_list_is_refused(text: str, problem: str) -> None:
    with pytest.raises(SecretKeyError, match=problem):
        SecretKeyring.parse(text)


def test_url_safe_base64_keys_are_read_too() -> None:
    key = bytes([251] * 32)
    url_safe = base64.urlsafe_b64encode(key).decode().rstrip("=")
    keys = keyring(f"u:{url_safe}")
    assert keys.open(keys.seal(SECRET, consultant_id="c"), consultant_id="c") == SECRET


# ------------------------------------------------------------------ configuration


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No keys configured, in development (where the keys are required all the same)."""
    for name in (secret_keys.KEYS, secret_keys.KEYS_FILE, secret_keys.ACTIVE_KEY):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", "development")
    return monkeypatch


def test_the_first_key_seals_unless_another_is_named(no_keys: pytest.MonkeyPatch) -> None:
    no_keys.setenv(secret_keys.KEYS, f"{OLD},{NEW}")
    assert secret_keys.SecretKeySettings().secret_keyring().active_key_id == "old"

    no_keys.setenv(secret_keys.ACTIVE_KEY, "new")
    assert secret_keys.SecretKeySettings().secret_keyring().active_key_id == "new"


def test_the_keys_may_come_from_a_file(no_keys: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "secret-keys"
    path.write_text(f"{OLD}\n{NEW}\n")
    no_keys.setenv(secret_keys.KEYS_FILE, str(path))
    no_keys.setenv(secret_keys.ACTIVE_KEY, "new")

    keys = secret_keys.SecretKeySettings().secret_keyring()

    assert keys.key_ids == ("old", "new")
    assert keys.active_key_id == "new"


@pytest.mark.parametrize("settings", [IntakeSettings, NotifierSettings])
@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({}, "KOPPEL_SECRET_KEYS (or KOPPEL_SECRET_KEYS_FILE) must hold"),
        ({"KOPPEL_SECRET_KEYS": "k:dG9vIHNob3J0"}, "KOPPEL_SECRET_KEYS: key 'k' must be 32"),
        ({"KOPPEL_SECRET_KEYS_FILE": "/nonexistent/keys"}, "KOPPEL_SECRET_KEYS_FILE: cannot read"),
        (
            {"KOPPEL_SECRET_KEYS": NEW, "KOPPEL_SECRET_ACTIVE_KEY": "old"},
            "KOPPEL_SECRET_ACTIVE_KEY",
        ),
    ],
)
def test_a_service_without_usable_keys_refuses_to_start_naming_the_variable(
    no_keys: pytest.MonkeyPatch,
    settings: type[IntakeSettings] | type[NotifierSettings],
    environment: dict[str, str],
    named: str,
) -> None:
    for name, value in environment.items():
        no_keys.setenv(name, value)

    message = start_refusal(settings, "koppel-service")
    assert message.startswith("koppel-service: invalid configuration: ")
    assert named in message
    assert "\n" not in message
    assert NEW.partition(":")[2] not in message


COMPOSE_PLACEHOLDER = "change-me:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


@pytest.mark.parametrize(
    "keys",
    [
        COMPOSE_PLACEHOLDER,
        f"prod:{base64.b64encode(bytes(32)).decode()}",
        f"{NEW},{COMPOSE_PLACEHOLDER}",
    ],
)
def test_production_refuses_a_placeholder_key(no_keys: pytest.MonkeyPatch, keys: str) -> None:
    no_keys.setenv("KOPPEL_ENVIRONMENT", "production")
    no_keys.setenv(secret_keys.KEYS, keys)

    with pytest.raises(ValidationError, match=r"KOPPEL_SECRET_KEYS: key .* is a placeholder"):
        secret_keys.SecretKeySettings()


def test_production_takes_random_keys_and_development_the_placeholder(
    no_keys: pytest.MonkeyPatch,
) -> None:
    no_keys.setenv(secret_keys.KEYS, COMPOSE_PLACEHOLDER)
    assert secret_keys.SecretKeySettings().secret_keyring().key_ids == ("change-me",)

    no_keys.setenv("KOPPEL_ENVIRONMENT", "production")
    no_keys.setenv(secret_keys.KEYS, f"{NEW},{OLD}")
    assert secret_keys.SecretKeySettings().secret_keyring().key_ids == ("new", "old")


def test_the_keys_never_show_in_the_settings_repr(no_keys: pytest.MonkeyPatch) -> None:
    no_keys.setenv(secret_keys.KEYS, NEW)
    assert NEW.partition(":")[2] not in repr(IntakeSettings())


# ------------------------------------------------------------------ the contract


def test_the_contract_accepts_a_sealed_secret_and_keeps_it_sealed_on_the_wire() -> None:
    sealed = keyring(NEW).seal(SECRET, consultant_id="c-1")
    prefs = NotificationPreferences.model_validate(
        {"channels": ["webhook"], "webhook_url": "https://h.example/x", "webhook_secret": sealed}
    )

    assert prefs.model_dump(mode="json")["webhook_secret"] == sealed
    assert sealed not in repr(prefs)


def test_a_malformed_sealed_secret_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        NotificationPreferences.model_validate({"webhook_secret": "sealed:v1:new:???"})

    [error] = caught.value.errors()
    assert error["loc"] == ("webhook_secret",)
    assert "sealed:v1" in error["msg"]
