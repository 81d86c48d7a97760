"""Button clicks (`block_actions`): ack at once, then hand the click to the core.

The core decides who may do what from the actor it is given: the workspace is the
payload's team (signed by Slack), never anything a button's value names.
Clicks on the App Home tab carry no `response_url`, so their answer goes to the user's
DM with the bot and the tab is published again to show what the click changed.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages import Message
from integrations.slack.actors import build_actor, team_of
from integrations.slack.home import publish_home
from integrations.slack.listeners import SORRY, SlackDeps
from integrations.slack.render import render, strip_action_suffix

log = logging.getLogger(__name__)

# Link buttons still send a click to the app; the browser does the work, we only ack.
LINK_ACTIONS = frozenset({"connect.open"})


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.block_action(re.compile(r".*"))
    async def on_block_action(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        context: Any,
    ) -> None:
        await ack()
        action_id = strip_action_suffix(str(action.get("action_id", "")))
        if action.get("url") or action_id in LINK_ACTIONS:
            return
        user_id = (body.get("user") or {}).get("id")
        if not user_id:
            return
        deps.background.spawn(
            run_action(
                deps,
                client,
                respond,
                team_id=team_of(body, context.team_id),
                user_id=str(user_id),
                action_id=action_id,
                value=_value(action),
                from_home=_from_home(body),
            ),
            name=f"slack action {action_id}",
        )


async def run_action(
    deps: SlackDeps,
    client: AsyncWebClient,
    respond: AsyncRespond,
    *,
    team_id: str,
    user_id: str,
    action_id: str,
    value: str,
    from_home: bool = False,
) -> None:
    try:
        actor = await build_actor(client, team_id, user_id)
        reply = await deps.bot.action(actor, action_id, value)
    except Exception:
        log.exception("action %s failed", action_id)
        reply = SORRY
    try:
        if from_home:
            if reply is not None:
                await answer_in_dm(client, user_id, reply)
            await publish_home(deps.bot, client, team_id, user_id)
        elif reply is not None:
            await respond(**render(reply), response_type="ephemeral", replace_original=False)
    except Exception as exc:
        log.warning("could not answer action %s: %s", action_id, type(exc).__name__)


async def answer_in_dm(client: AsyncWebClient, user_id: str, reply: Message) -> None:
    """Post `reply` in the user's DM with the bot: for requests without a response_url
    (App Home clicks, modal submissions)."""
    opened = await client.conversations_open(users=user_id)
    channel = (opened.get("channel") or {}).get("id")
    if channel:
        await client.chat_postMessage(channel=channel, **render(reply))


def _from_home(body: dict[str, Any]) -> bool:
    container = body.get("container") or {}
    view = body.get("view") or {}
    return container.get("type") == "view" and view.get("type") == "home"


def _value(action: dict[str, Any]) -> str:
    """Buttons carry `value`; selects carry `selected_option.value`."""
    if action.get("value") is not None:
        return str(action["value"])
    selected = action.get("selected_option")
    if isinstance(selected, dict) and selected.get("value") is not None:
        return str(selected["value"])
    return ""
