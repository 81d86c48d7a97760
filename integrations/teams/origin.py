"""The authenticated inbound activity the current code runs on behalf of.

The core asks for a roster with only ``(workspace_id, TeamRef)``, but a Bot Connector
call also needs the tenant's ``serviceUrl`` (regional: ``…/emea/``, ``…/amer/``, or a
sovereign cloud's host). The one trustworthy source of it is an inbound activity whose
token the route has just checked, so the handler publishes that activity's service URL
(and the bot's own account) for the duration of the turn, and the gateway reads it.

This is request-scoped (a ``ContextVar``, like the request itself), not a cache: nothing
outlives the turn, so it is equally right on every instance. The service URL never comes
from a button value or any other data a client could shape, because the SDK sends our
bot token to whatever URL it is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from botbuilder.schema import Activity

from integrations.teams.address import DEFAULT_SERVICE_URL, tenant_of


@dataclass(frozen=True)
class Origin:
    service_url: str
    tenant_id: str
    bot_id: str | None = None
    bot_name: str | None = None
    # Where people can be looked up while serving it: the team (its roster) for a
    # channel message, else the chat itself (a group chat, or the asker's 1:1 chat).
    roster_id: str | None = None


_current: ContextVar[Origin | None] = ContextVar("calbot_teams_origin", default=None)


def origin_of(activity: Activity) -> Origin:
    bot = activity.recipient
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = data.get("team")
    team_id = team.get("id") if isinstance(team, dict) else None
    conversation = activity.conversation
    return Origin(
        service_url=activity.service_url or DEFAULT_SERVICE_URL,
        tenant_id=tenant_of(activity),
        bot_id=bot.id if bot else None,
        bot_name=bot.name if bot else None,
        roster_id=str(team_id) if team_id else (conversation.id if conversation else None),
    )


@contextmanager
def serving(origin: Origin) -> Iterator[Origin]:
    """Make ``origin`` current while handling one inbound activity (or in a test)."""
    token = _current.set(origin)
    try:
        yield origin
    finally:
        _current.reset(token)


def current(tenant_id: str) -> Origin | None:
    """The current turn's origin, if there is one and it belongs to ``tenant_id``."""
    found = _current.get()
    return found if found is not None and found.tenant_id == tenant_id else None
