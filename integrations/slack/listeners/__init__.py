"""Bolt listeners, one small module per kind of request (as in bolt's starter template)."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp

from bot.dispatch import Bot
from bot.messages import simple
from bot.ports import Clock, Store
from integrations.slack.auth import BotTokens
from integrations.slack.background import Background

SORRY = simple("Sorry, something went wrong on my side. Please try again in a minute.")


@dataclass(frozen=True)
class SlackDeps:
    """What the listeners need from the core."""

    bot: Bot
    store: Store
    clock: Clock
    background: Background
    tokens: BotTokens | None = None  # to forget a workspace that uninstalled calbot


def register_listeners(app: AsyncApp, deps: SlackDeps) -> None:
    from integrations.slack.listeners import actions, commands, events, views

    commands.register(app, deps)
    actions.register(app, deps)
    events.register(app, deps)
    views.register(app, deps)
