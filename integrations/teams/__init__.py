"""Microsoft Teams adapter: a thin port over the Bot Framework SDK (botbuilder 4.17).

The SDK is out of support and its successor is the Microsoft 365 Agents SDK, so all of
it stays in this folder behind plain-JSON addresses and neutral errors:

    route.py    POST /api/messages (our own handler; auth, dedupe, invoke bodies)
    handler.py  inbound translator (TeamsActivityHandler → Bot.command / Bot.action)
    chat.py     outbound gateway (TeamsChat, the ChatPort)
    errors.py   Bot Connector failures → ChatThrottled / ChatNotInstalled / …
    render.py   neutral Message → Adaptive Card 1.5 dict
    form_card.py  neutral Form ⇄ Adaptive Card with inputs (people picker included)
    form_turn.py  a submitted form card → Bot.submit → the form with errors, or "sent"
    address.py  plain-JSON conversation addresses
    auth.py     credentials and the adapter
"""

from __future__ import annotations

import logging
from typing import Any

from integrations.teams.auth import build_adapter
from integrations.teams.chat import TeamsChat
from integrations.teams.handler import CalbotTeamsHandler
from integrations.teams.route import MessagesRoute

log = logging.getLogger(__name__)

ROUTE = "/api/messages"

__all__ = ["ROUTE", "CalbotTeamsHandler", "MessagesRoute", "TeamsChat", "mount"]


def mount(runtime: Any) -> None:
    """Add ``POST /api/messages`` to ``runtime.web`` and register the Teams ChatPort."""
    settings = runtime.settings
    if not settings.teams_enabled:
        log.info("Teams: off (no MICROSOFT_APP_ID, and Cronofy is not the sandbox)")
        return
    local = settings.teams_local_mode
    adapter, authentication = build_adapter(settings)
    handler = CalbotTeamsHandler(
        runtime.bot, runtime.store, owners_are_admins=not settings.admin_ids
    )
    route = MessagesRoute(
        adapter=adapter,
        authentication=authentication,
        handler=handler,
        store=runtime.store,
        clock=runtime.clock,
        local_mode=local,
    )
    runtime.web.router.add_post(ROUTE, route.handle)
    # setdefault: a test may have passed its own "teams" ChatPort to build_runtime.
    runtime.chats.setdefault(
        "teams", TeamsChat(adapter, app_id=settings.MICROSOFT_APP_ID or "", store=runtime.store)
    )
    runtime.extras["teams"] = {"adapter": adapter, "handler": handler, "route": route}
    if local:
        log.warning(
            "Teams: local mode (no MICROSOFT_APP_ID): %s accepts activities WITHOUT "
            "authentication and sends replies without a token. Use only for local "
            "development and tests; set MICROSOFT_APP_ID/PASSWORD/TENANT_ID in production.",
            ROUTE,
        )
    else:
        log.info(
            "Teams: %s bot %s on %s; every request must carry a Bot Framework token",
            settings.MICROSOFT_APP_TYPE,
            settings.MICROSOFT_APP_ID,
            ROUTE,
        )
