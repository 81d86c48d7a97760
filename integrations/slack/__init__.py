"""Slack adapter: slack-bolt `AsyncApp` on calbot's own aiohttp app.

`mount(runtime)` is called by the composition root. It adds `POST /slack/events`,
registers `SlackChat` as the "slack" ChatPort (the outbox delivers DMs through it) and,
with `SLACK_APP_TOKEN`, a Socket Mode starter for `serve` to await.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from integrations.slack.app import EVENTS_PATH, SlackAdapter, create_adapter

if TYPE_CHECKING:
    from integrations.runtime import Runtime

log = logging.getLogger(__name__)

__all__ = ["EVENTS_PATH", "SlackAdapter", "create_adapter", "mount"]


def mount(runtime: Runtime) -> None:
    settings = runtime.settings
    if not settings.slack_enabled:
        return
    if not settings.SLACK_BOT_TOKEN:
        # SLACK_CLIENT_ID without a bot token means multi-workspace OAuth install, which
        # plugs in at `integrations.slack.auth.BotTokens`; until then Slack stays off.
        log.error(
            "Slack is off: multi-workspace install (SLACK_CLIENT_ID) isn't available yet; "
            "set SLACK_BOT_TOKEN for a single workspace"
        )
        return
    adapter = create_adapter(
        bot=runtime.bot,
        store=runtime.store,
        clock=runtime.clock,
        signing_secret=settings.SLACK_SIGNING_SECRET or "",
        bot_token=settings.SLACK_BOT_TOKEN,
        api_url=settings.SLACK_API_URL,
        app_token=settings.SLACK_APP_TOKEN,
    )
    # Our own route on our own app (not bolt's web_app()): see reference/slack.md §2.2.
    runtime.web.router.add_post(EVENTS_PATH, adapter.handle_events)
    runtime.chats["slack"] = adapter.chat
    runtime.extras["slack"] = adapter
    if settings.SLACK_APP_TOKEN:
        runtime.extras.setdefault("starters", []).append(adapter.start_socket_mode)
    runtime.extras.setdefault("closers", []).append(adapter.close)
