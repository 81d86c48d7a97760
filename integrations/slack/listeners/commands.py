"""`/calendar …`: ack at once, then ask the core and answer ephemerally."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages import Message
from integrations.slack.actors import build_actor, channel_of, team_of
from integrations.slack.listeners import SORRY, SlackDeps
from integrations.slack.render import render

log = logging.getLogger(__name__)

COMMAND = "/calendar"


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.command(COMMAND)
    async def calendar_command(
        ack: AsyncAck,
        command: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        context: Any,
    ) -> None:
        # Slack gives up after 3 s; users.info, the database and Cronofy come after this.
        await ack()
        deps.background.spawn(
            run_command(deps, client, respond, command, team_of(command, context.team_id)),
            name="slack /calendar",
        )


async def run_command(
    deps: SlackDeps,
    client: AsyncWebClient,
    respond: AsyncRespond,
    command: dict[str, Any],
    team_id: str,
) -> None:
    reply: Message
    try:
        where = channel_of(command.get("channel_id"), command.get("channel_name"))
        actor = await build_actor(client, team_id, command["user_id"], where)
        reply = await deps.bot.command(actor, command.get("text") or "")
    except Exception:
        log.exception("/calendar failed")
        reply = SORRY
    try:
        # response_url works anywhere, even where the bot is no member (postEphemeral does not).
        await respond(**render(reply), response_type="ephemeral")
    except Exception as exc:
        log.warning("could not answer /calendar via response_url: %s", type(exc).__name__)
