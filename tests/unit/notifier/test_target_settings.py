"""WEBHOOK_ALLOWED_NETWORKS and WEBHOOK_ALLOW_PRIVATE_TARGETS as the notifier reads them."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from pydantic import ValidationError

from koppel_notifier.settings import Settings
from koppel_testing.configuration import start_refusal

SECRET = "unit-test-unsubscribe-secret-0123456789"


def settings(**env: Any) -> Settings:
    return Settings(KOPPEL_ENVIRONMENT="development", NOTIFIER_UNSUBSCRIBE_SECRET=SECRET, **env)


def refusal(settings: Settings, address: str) -> str | None:
    return settings.target_policy.refusal(ipaddress.ip_address(address))


def test_by_default_only_public_targets_are_allowed() -> None:
    default = settings()
    assert default.allowed_networks == ""
    assert refusal(default, "8.8.8.8") is None
    assert refusal(default, "127.0.0.1") == "webhook_target_not_allowed:loopback"


def test_allow_private_targets_still_refuses_cloud_metadata() -> None:
    private = settings(WEBHOOK_ALLOW_PRIVATE_TARGETS="true")
    assert refusal(private, "127.0.0.1") is None
    assert refusal(private, "10.0.0.1") is None
    assert refusal(private, "169.254.169.254") == "webhook_target_blocked:link-local"
    assert refusal(private, "::ffff:169.254.169.254") == "webhook_target_blocked:link-local"


def test_allowed_networks_open_exactly_those_networks() -> None:
    local = settings(WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8,::1/128")
    assert refusal(local, "127.0.0.1") is None
    assert refusal(local, "::1") is None
    assert refusal(local, "10.0.0.1") == "webhook_target_not_allowed:private"
    assert local.target_policy.allow_listed(ipaddress.ip_address("127.0.0.1"))


@pytest.mark.parametrize(
    "networks", ["169.254.0.0/16", "127.0.0.0/8,169.254.169.254/32", "0.0.0.0/0", "fe80::/10",
                 "::ffff:169.254.0.0/112", "192.0.0.0/24", "not-a-network"],
)  # fmt: skip
def test_a_blocked_or_bad_network_is_refused_at_start_up(networks: str) -> None:
    with pytest.raises(ValidationError, match="WEBHOOK_ALLOWED_NETWORKS"):
        settings(WEBHOOK_ALLOWED_NETWORKS=networks)


def test_the_start_up_refusal_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", "development")
    monkeypatch.setenv("NOTIFIER_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8,169.254.0.0/16")
    message = start_refusal(Settings, "koppel-notifier")
    assert "\n" not in message
    assert message.startswith("koppel-notifier: invalid configuration: WEBHOOK_ALLOWED_NETWORKS:")
    assert "169.254.0.0/16" in message
    assert "always blocked" in message
