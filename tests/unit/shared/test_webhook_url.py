"""What intake can check of a webhook URL without the notifier's configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from koppel.cloudevents import describe_validation_error
from koppel.contract import NotificationPreferences
from koppel.contract.webhook_url import MAX_WEBHOOK_URL_LENGTH
from koppel_testing import WEBHOOK_SECRET as SECRET

PREFIX = "https://hooks.example.org/"


def preferences(url: str) -> NotificationPreferences:
    return NotificationPreferences.model_validate(
        {"channels": ["webhook"], "webhook_url": url, "webhook_secret": SECRET}
    )


def refusal(url: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        preferences(url)
    [error] = caught.value.errors()
    assert error["loc"] == ("webhook_url",)
    return caught.value


def test_a_url_of_2048_characters_is_accepted_and_one_more_is_not() -> None:
    longest = PREFIX + "a" * (MAX_WEBHOOK_URL_LENGTH - len(PREFIX))
    assert MAX_WEBHOOK_URL_LENGTH == 2048
    assert str(preferences(longest).webhook_url) == longest
    refusal(longest + "a")


def test_the_limit_holds_for_the_encoded_form_sent_on() -> None:
    # 700 'é' are 700 characters as given but 4,200 once percent-encoded.
    error = refusal(PREFIX + "é" * 700)
    assert "2048" in describe_validation_error(error)


@pytest.mark.parametrize(
    "url",
    ["https://user:hunter2@hooks.example.org/k", "https://user@hooks.example.org/k",
     "https://:hunter2@hooks.example.org/k", "http://user:hunter2@127.0.0.1:8090/k"],
)  # fmt: skip
def test_a_url_with_user_or_password_is_refused_without_echoing_them(url: str) -> None:
    described = describe_validation_error(refusal(url))
    assert "user name or password" in described
    assert "hunter2" not in described


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8090/webhooks/c-1", "http://hooks.example.org/k", PREFIX + "k"]
)
def test_http_and_https_are_both_accepted_the_notifier_decides_on_http(url: str) -> None:
    assert str(preferences(url).webhook_url) == url
