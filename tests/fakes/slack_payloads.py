"""Slack request bodies as Slack sends them, and their v0 signatures.

body = command_body("connect", user_id="U1", response_url=mock.response_url())
await client.post("/slack/events", data=body, headers=signed_headers(body, SECRET)
                  | {"Content-Type": FORM})
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
TEAM = "T1"
APP_ID = "ACALBOT"


def signed_headers(body: str, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    """`X-Slack-Request-Timestamp` and `X-Slack-Signature` for a raw body."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def command_body(
    text: str,
    *,
    user_id: str = "U1",
    team_id: str = TEAM,
    channel_id: str = "C1",
    response_url: str,
    command: str = "/calendar",
) -> str:
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "team_domain": "calbot-test",
            "channel_id": channel_id,
            "channel_name": "interviewers",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "1337.42.abcdef",
        }
    )


def block_actions_body(
    action_id: str,
    value: str | None = None,
    *,
    user_id: str = "U1",
    team_id: str = TEAM,
    channel_id: str = "D1",
    message_ts: str = "1700000001.000001",
    response_url: str | None,
    url: str | None = None,
    home: bool = False,
) -> str:
    """A button click. `home=True`: pressed on the App Home tab (a view, no response_url)."""
    action: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "block_id": "b1",
        "text": {"type": "plain_text", "text": "Button", "emoji": True},
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    if url is not None:
        action["url"] = url
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": "1337.42.abcdef",
        "team": {"id": team_id, "domain": "calbot-test"},
        "channel": {"id": channel_id, "name": "directmessage"},
        "message": {"type": "message", "ts": message_ts, "text": "", "blocks": []},
        "response_url": response_url,
        "actions": [action],
    }
    if home:
        view_id = f"V{user_id}"
        for gone in ("channel", "message", "response_url"):
            payload.pop(gone)
        payload["container"] = {"type": "view", "view_id": view_id}
        payload["view"] = {
            "id": view_id,
            "team_id": team_id,
            "type": "home",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": "h1",
            "app_id": APP_ID,
            "bot_id": "BCALBOT",
        }
    return urlencode({"payload": json.dumps(payload)})


def event_body(event: dict[str, Any], *, event_id: str = "Ev001", team_id: str = TEAM) -> str:
    return json.dumps(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": "UCALBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
    )


def dm_event(
    text: str,
    *,
    user_id: str = "U1",
    channel: str = "D1",
    ts: str = "1700000100.000100",
    **extra: Any,
) -> dict[str, Any]:
    """A `message.im` event: a person typing in their DM with the bot."""
    return {
        "type": "message",
        "channel": channel,
        "user": user_id,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "im",
        **extra,
    }


def home_opened_event(user_id: str = "U1", *, tab: str = "home") -> dict[str, Any]:
    """`app_home_opened`: a user entered the app's Home (or Messages) tab."""
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D" + user_id.lstrip("UW"),
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }


def mention_event(
    text: str,
    *,
    user_id: str = "U1",
    channel: str = "C1",
    ts: str = "1700000200.000200",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "type": "app_mention",
        "channel": channel,
        "user": user_id,
        "text": f"<@UCALBOT> {text}",
        "ts": ts,
        "event_ts": ts,
        **extra,
    }
