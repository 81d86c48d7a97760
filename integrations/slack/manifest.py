"""`manifest.yml`, the one place Slack's app settings live: the bot scopes the OAuth
install asks for, and `python app.py slack-manifest` (the file with real URLs in it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from integrations.slack.app import EVENTS_PATH

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
PLACEHOLDER = "https://calbot.example.com"


class ManifestError(Exception):
    """manifest.yml is missing or unusable (the message names the file)."""


def load_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{path} is not a Slack app manifest")
    return data


def bot_scopes(path: Path = MANIFEST) -> list[str]:
    """The bot scopes to request at install: the same ones a manifest-created app has."""
    scopes = load_manifest(path).get("oauth_config", {}).get("scopes", {}).get("bot") or []
    if not scopes:
        raise ManifestError(f"{path} lists no oauth_config.scopes.bot")
    return [str(scope) for scope in scopes]


def render_manifest(public_base_url: str, *, socket_mode: bool, path: Path = MANIFEST) -> str:
    """manifest.yml for this deployment, comments kept (it is pasted into Slack's UI).

    Socket Mode (SLACK_APP_TOKEN) receives commands, clicks and events over the
    WebSocket, so their request URLs go; the OAuth redirect URL stays, as installs are
    still a browser round trip over HTTPS.
    """
    try:
        text = path.read_text().replace(PLACEHOLDER, public_base_url.rstrip("/"))
    except OSError as exc:
        raise ManifestError(f"{path}: {exc}") from exc
    if socket_mode:
        events_url = re.escape(public_base_url.rstrip("/") + EVENTS_PATH)
        text = re.sub(rf"(?m)^[ \t]*(?:url|request_url): {events_url}[ \t]*\n", "", text)
        text, count = re.subn(
            r"(?m)^([ \t]*socket_mode_enabled:)[ \t]*false[ \t]*$", r"\1 true", text
        )
        if count != 1:
            raise ManifestError(f"{path}: no `socket_mode_enabled: false` to switch on")
    return text
