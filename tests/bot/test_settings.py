from __future__ import annotations

import pytest

from bot.settings import ConfigError, load_settings


def test_defaults_run_on_sqlite_with_the_sandbox() -> None:
    settings = load_settings(_env_file=None)
    assert settings.DATABASE_URL.startswith("sqlite+aiosqlite://")
    assert settings.uses_cronofy_sandbox
    assert settings.teams_local_mode
    assert not settings.slack_enabled
    assert "off" in settings.surfaces()["slack"]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"PUBLIC_BASE_URL": "calbot.example.com"}, "PUBLIC_BASE_URL"),
        ({"CRONOFY_CLIENT_ID": "abc"}, "CRONOFY_CLIENT_SECRET"),
        ({"CRONOFY_CLIENT_ID": "abc", "CRONOFY_CLIENT_SECRET": "s"}, "TOKEN_ENCRYPTION_KEY"),
        ({"CRONOFY_DATA_CENTER": "mars"}, "CRONOFY_DATA_CENTER"),
        (
            {"MICROSOFT_APP_ID": "id", "MICROSOFT_APP_TYPE": "SingleTenant"},
            "MICROSOFT_APP_PASSWORD",
        ),
    ],
)
def test_a_bad_setting_is_named_in_one_line(overrides: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None, **overrides)
    message = str(info.value)
    assert message.startswith(named)
    assert "\n" not in message


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://calbot.example.com/")
    monkeypatch.setenv("CALBOT_ADMINS", "U1, alice@contoso.com")
    settings = load_settings(_env_file=None)
    assert settings.oauth_callback_url == "https://calbot.example.com/oauth/cronofy/callback"
    assert settings.admin_ids == {"u1", "alice@contoso.com"}
