"""`/calendar …`: ack at once, then ask the core and answer ephemerally.

A reply that carries a form (`/calendar propose` with no text) opens it as a modal
with the command's `trigger_id`. Slack lets a trigger be exchanged for 3 s, so nothing
slow stands between the ack and `views.open`: only `users.info` (the coordinator's time
zone sets the form's defaults) and the core's form builder, which does no I/O. Should
the trigger have expired anyway, the form's fallback text (the one-line way to type it)
is the answer instead.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.forms import Form
from bot.messages import Message
from integrations.slack.actors import build_actor, channel_of, team_of
from integrations.slack.forms import modal_view
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
    if reply.form is not None and await open_form(
        client, str(command.get("trigger_id") or ""), reply.form
    ):
        return
    try:
        # response_url works anywhere, even where the bot is no member (postEphemeral does not).
        await respond(**render(reply), response_type="ephemeral")
    except Exception as exc:
        log.warning("could not answer /calendar via response_url: %s", type(exc).__name__)


async def open_form(client: AsyncWebClient, trigger_id: str, form: Form) -> bool:
    """Open `form` as a modal. False when it could not be (the caller says why in text).

    Any refusal counts, not only `expired_trigger_id`: a modal Slack won't show must
    still leave the person with something to do.
    """
    if not trigger_id:
        return False
    try:
        view = modal_view(form)
    except ValueError:
        log.exception("form %s can't be a Slack modal", form.id)
        return False
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("views.open refused form %s: %s", form.id, exc.response.get("error"))
        return False
    except Exception as exc:
        log.warning("views.open failed for form %s: %s", form.id, type(exc).__name__)
        return False
    return True
