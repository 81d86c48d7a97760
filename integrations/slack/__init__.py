"""Slack adapter: slack-bolt `AsyncApp` on calbot's own aiohttp app.

`mount(runtime)` is called by the composition root. It adds `POST /slack/events`
(and, with `SLACK_CLIENT_ID`, the install routes `GET /slack/install` and
`GET /slack/oauth_redirect`), registers `SlackChat` as the "slack" ChatPort (the outbox
delivers DMs through it) and, with `SLACK_APP_TOKEN`, a Socket Mode starter for `serve`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from integrations.slack.app import EVENTS_PATH, SlackAdapter, create_adapter
from integrations.slack.auth import BotTokens

if TYPE_CHECKING:
    from integrations.runtime import Runtime

log = logging.getLogger(__name__)

__all__ = ["EVENTS_PATH", "SlackAdapter", "create_adapter", "mount"]


def mount(runtime: Runtime) -> None:
    settings = runtime.settings
    if not settings.slack_enabled:
        return
    tokens: BotTokens | None = None
    if settings.SLACK_CLIENT_ID:
        # Multi-workspace: /slack/install + /slack/oauth_redirect, tokens per workspace
        # from the installation store (DESIGN: the client id wins over a bot token).
        from integrations.slack.install import mount_install
        from integrations.slack.manifest import ManifestError

        if settings.SLACK_BOT_TOKEN:
            log.warning("SLACK_BOT_TOKEN is ignored: SLACK_CLIENT_ID turns on the OAuth install")
        try:
            tokens = mount_install(runtime)
        except ManifestError as exc:  # the scopes to ask for come from manifest.yml
            log.error("Slack is off: the OAuth install needs manifest.yml: %s", exc)
            return
    adapter = create_adapter(
        bot=runtime.bot,
        store=runtime.store,
        clock=runtime.clock,
        signing_secret=settings.SLACK_SIGNING_SECRET or "",
        bot_token=settings.SLACK_BOT_TOKEN,
        tokens=tokens,
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
