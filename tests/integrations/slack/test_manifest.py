"""`manifest.yml` validates against Slack's official manifest schema (read in place, offline)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from integrations.slack.listeners import commands
from integrations.slack.manifest import ManifestError, bot_scopes, render_manifest

REPO = Path(__file__).resolve().parents[3]
SCHEMAS = REPO / ".." / "shared" / "schemas" / "slack"
ENTRY = SCHEMAS / "manifest.schema.json"
# The entry schema refers to the versioned ones by these URLs; serve the local copies.
REMOTE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/{name}"


def _registry() -> Registry[Any]:
    resources = []
    for path in sorted(SCHEMAS.glob("manifest.schema.*.json")):
        schema = json.loads(path.read_text())
        resources.append((REMOTE.format(name=path.name), Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def _validator() -> Draft7Validator:
    # Fail rather than skip: CI has shared/ beside the checkout, and a skipped check
    # would let a broken manifest through unnoticed.
    assert ENTRY.exists(), f"Slack manifest schema not found at {ENTRY.resolve()}"
    return Draft7Validator(json.loads(ENTRY.read_text()), registry=_registry())


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load((REPO / "manifest.yml").read_text())


def test_manifest_validates_against_the_official_schema(manifest: dict[str, Any]) -> None:
    errors = sorted(_validator().iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_schema_check_catches_mistakes(manifest: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(manifest))
    broken["display_information"]["name"] = "x" * 36  # longer than Slack allows
    broken["features"]["slash_commands"][0]["command"] = "calendar"  # no leading slash
    assert list(_validator().iter_errors(broken))


def test_manifest_matches_what_the_adapter_serves(manifest: dict[str, Any]) -> None:
    events_url = "https://calbot.example.com/slack/events"
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == commands.COMMAND
    assert command["url"] == events_url
    # bot/commands.py reads targets from Slack's escaped form (<#C…|name>, <!subteam^S…>).
    assert command["should_escape"] is True
    assert manifest["settings"]["interactivity"] == {"is_enabled": True, "request_url": events_url}
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"] == events_url
    assert set(events["bot_events"]) == {
        "app_home_opened",
        "app_mention",
        "message.im",
        "app_uninstalled",
        "tokens_revoked",
    }
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "im:write",
        "users:read",
        "users:read.email",
        "usergroups:read",
        "channels:read",
        "groups:read",
        "app_mentions:read",
        "im:history",
    }
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"]
    assert home["messages_tab_read_only_enabled"] is False
    assert manifest["features"]["bot_user"]["display_name"] == "calbot"
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert len(manifest["display_information"]["long_description"]) >= 174  # Slack UI minimum
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["display_information"]["background_color"])


def _slack_manifest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python app.py slack-manifest` as an operator runs it (no .env, no stray SLACK_*)."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "MICROSOFT_", "CRONOFY_", "CALBOT_"))
        and k not in {"DATABASE_URL", "TOKEN_ENCRYPTION_KEY", "PUBLIC_BASE_URL"}
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(REPO / "app.py"), "slack-manifest"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**environment, **env},
        check=False,
    )


def test_slack_manifest_command_fills_in_the_public_url(tmp_path: Path) -> None:
    result = _slack_manifest(tmp_path, PUBLIC_BASE_URL="https://calbot.acme.test/")
    assert result.returncode == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    errors = list(_validator().iter_errors(printed))
    assert not errors, "\n".join(e.message for e in errors)
    assert "calbot.example.com" not in result.stdout
    assert "# Slack app manifest for calbot" in result.stdout  # the explanations stay
    events = "https://calbot.acme.test/slack/events"
    assert printed["features"]["slash_commands"][0]["url"] == events
    assert printed["settings"]["event_subscriptions"]["request_url"] == events
    assert printed["settings"]["interactivity"]["request_url"] == events
    assert printed["oauth_config"]["redirect_urls"] == [
        "https://calbot.acme.test/slack/oauth_redirect"
    ]
    assert printed["settings"]["socket_mode_enabled"] is False
    # Everything else is manifest.yml as it is.
    original = yaml.safe_load((REPO / "manifest.yml").read_text())
    assert printed["oauth_config"]["scopes"] == original["oauth_config"]["scopes"]
    assert printed["display_information"] == original["display_information"]


def test_slack_manifest_command_in_socket_mode(tmp_path: Path) -> None:
    result = _slack_manifest(
        tmp_path, PUBLIC_BASE_URL="https://calbot.acme.test", SLACK_APP_TOKEN="xapp-1-A1-1-x"
    )
    assert result.returncode == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    assert not list(_validator().iter_errors(printed))
    settings = printed["settings"]
    assert settings["socket_mode_enabled"] is True
    # Commands, clicks and events come over the WebSocket: no request URLs...
    assert "https://calbot.acme.test/slack/events" not in result.stdout
    assert "url" not in printed["features"]["slash_commands"][0]
    assert settings["interactivity"] == {"is_enabled": True}
    assert "request_url" not in settings["event_subscriptions"]
    assert settings["event_subscriptions"]["bot_events"]
    # ...but installing through OAuth is still a browser round trip.
    assert printed["oauth_config"]["redirect_urls"] == [
        "https://calbot.acme.test/slack/oauth_redirect"
    ]


def test_render_manifest_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"missing\.yml"):
        render_manifest("https://x.test", socket_mode=False, path=tmp_path / "missing.yml")
    with pytest.raises(ManifestError, match="scopes"):
        (tmp_path / "empty.yml").write_text("oauth_config: {}\n")
        bot_scopes(tmp_path / "empty.yml")
