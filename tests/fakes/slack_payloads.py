"""Slack request bodies as Slack sends them, and their v0 signatures.

body = command_body("connect", user_id="U1", response_url=mock.response_url())
await client.post("/slack/events", data=body, headers=signed_headers(body, SECRET)
                  | {"Content-Type": FORM})
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
TEAM = "T1"
APP_ID = "ACALBOT"
_triggers = itertools.count(1)


def new_trigger_id() -> str:
    """A fresh trigger_id: Slack's can be exchanged for a modal only once."""
    n = next(_triggers)
    return f"{int(time.time())}.{n}.{n:08x}"


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
    trigger_id: str | None = None,
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
            "trigger_id": trigger_id or new_trigger_id(),
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


def view_state(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """`view.state.values` as Slack's client fills it in when a modal is submitted.

    `values` by block id: a string (text, number, date, select value) or a list of user
    ids. Inputs not given keep their initial value, as they do on screen; None empties one.
    """
    state: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind = element["type"]
        given = values.get(block["block_id"], _initial(element))
        entry: dict[str, Any] = {"type": kind}
        if kind == "multi_users_select":
            entry["selected_users"] = list(given or [])
        elif kind == "datepicker":
            entry["selected_date"] = given or None
        elif kind == "static_select":
            entry["selected_option"] = next(
                (o for o in element.get("options") or [] if o["value"] == given), None
            )
        else:  # plain_text_input, number_input: what was typed, as text
            entry["value"] = None if given in (None, "") else str(given)
        state[block["block_id"]] = {element["action_id"]: entry}
    return state


def _initial(element: dict[str, Any]) -> Any:
    if element["type"] == "multi_users_select":
        return element.get("initial_users") or []
    if element["type"] == "datepicker":
        return element.get("initial_date")
    if element["type"] == "static_select":
        return (element.get("initial_option") or {}).get("value")
    return element.get("initial_value")


def view_submission_body(
    view: dict[str, Any],
    values: dict[str, Any] | None = None,
    *,
    user_id: str = "U1",
    team_id: str = TEAM,
    state: dict[str, Any] | None = None,
) -> str:
    """Pressing submit on `view` (a modal as views.open returned it) with `values`.

    `state` replaces the computed `view.state.values` (a crafted payload).
    """
    submitted = {
        **view,
        "state": {"values": state if state is not None else view_state(view, values or {})},
    }
    submitted.pop("trigger_id", None)  # the mock's own bookkeeping, not part of a view
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "calbot-test"},
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": team_id,
        },
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "trigger_id": new_trigger_id(),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
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
