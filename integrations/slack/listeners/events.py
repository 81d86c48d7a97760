"""Events: @-mentions and DMs to the bot are commands; the rest is acknowledged.

Bolt acks every event before the listener runs, so Slack only retries when a delivery
didn't get a 2xx in time (a slow first `auth.test`, a restart). Retries carry the same
`event_id`; it is recorded in the database before any work, so a retry — or a second
instance receiving it — is skipped.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.say.async_say import AsyncSay
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import StoreUnavailable
from bot.messages import Message
from integrations.slack.actors import build_actor, channel_of, team_of
from integrations.slack.home import publish_home
from integrations.slack.listeners import SORRY, SlackDeps
from integrations.slack.render import render

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.event("app_mention")
    async def on_app_mention(
        body: dict[str, Any],
        event: dict[str, Any],
        say: AsyncSay,
        client: AsyncWebClient,
        context: Any,
    ) -> None:
        if _from_a_person(event):
            team_id = team_of(body, context.team_id)
            deps.background.spawn(
                handle_text(deps, body, event, say, client, team_id, thread=True),
                name="slack app_mention",
            )

    # Subscribed as `message.im`; bolt only accepts the base type "message" here.
    @app.event("message")
    async def on_message(
        body: dict[str, Any],
        event: dict[str, Any],
        say: AsyncSay,
        client: AsyncWebClient,
        context: Any,
    ) -> None:
        if event.get("channel_type") == "im" and _from_a_person(event):
            team_id = team_of(body, context.team_id)
            deps.background.spawn(
                handle_text(deps, body, event, say, client, team_id, thread=False),
                name="slack message.im",
            )

    # Every subscribed event needs a listener: an unhandled one gets a 404 and Slack retries.
    @app.event("app_home_opened")
    async def on_app_home_opened(
        body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient, context: Any
    ) -> None:
        # The event also fires for the Messages tab, where there is nothing to publish.
        if event.get("tab") != "home" or not event.get("user"):
            return
        team_id = team_of(body, context.team_id)
        deps.background.spawn(
            publish_home(deps.bot, client, team_id, str(event["user"])), name="slack app home"
        )

    async def on_access_lost(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        team_id = team_of(body, context.team_id)
        if event.get("type") == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            return  # only user tokens, and calbot holds none
        log.warning("slack access lost for team %s (%s)", team_id, event.get("type"))
        if deps.tokens is not None and team_id:
            # From now on the team's token is unknown: its queued messages fail as
            # ChatNotInstalled (dead, no retries) without another call to Slack.
            deps.background.spawn(deps.tokens.forget(team_id=team_id), name="slack uninstall")

    app.event("app_uninstalled")(on_access_lost)
    app.event("tokens_revoked")(on_access_lost)


def _from_a_person(event: dict[str, Any]) -> bool:
    """A new message typed by a person: no bots, edits, deletions, joins or other subtypes."""
    return bool(event.get("user")) and not event.get("bot_id") and not event.get("subtype")


async def handle_text(
    deps: SlackDeps,
    body: dict[str, Any],
    event: dict[str, Any],
    say: AsyncSay,
    client: AsyncWebClient,
    team_id: str,
    *,
    thread: bool,
) -> None:
    try:
        if not await _first_time(deps, body.get("event_id")):
            return
        # An @-mention in the bot's DM arrives twice (app_mention and message.im), with
        # different event ids but the same channel and ts.
        if not await _first_time(deps, f"message:{event.get('channel')}:{event.get('ts')}"):
            return
    except StoreUnavailable:
        # Can't tell whether this is a retry; answering "try again" twice beats silence.
        log.warning("slack message: database unavailable, answering 'try again'")
        reply: Message = SORRY
    else:
        reply = await _answer(deps, event, client, team_id)
    thread_ts = event.get("thread_ts") or (event.get("ts") if thread else None)
    try:
        await say(**render(reply), thread_ts=thread_ts)
    except Exception as exc:
        log.warning("could not reply to a slack message: %s", type(exc).__name__)


async def _answer(
    deps: SlackDeps, event: dict[str, Any], client: AsyncWebClient, team_id: str
) -> Message:
    try:
        where = None if event.get("channel_type") == "im" else channel_of(event.get("channel"))
        actor = await build_actor(client, team_id, str(event["user"]), where)
        reply = await deps.bot.command(actor, str(event.get("text") or ""))
    except Exception:
        log.exception("slack message command failed")
        reply = SORRY
    return reply


async def _first_time(deps: SlackDeps, key: object) -> bool:
    if not key:
        return True  # nothing to dedupe on; better to answer than to stay silent
    return await deps.store.first_time("slack", str(key), deps.clock.now())
