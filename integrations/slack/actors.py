"""Who sent a Slack command, click or message, as the core's `Actor`."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.connect import Actor
from bot.identity import SLACK, ChatProfile, TeamRef, UserRef
from integrations.slack.users import fetch_profile

log = logging.getLogger(__name__)


async def build_actor(
    client: AsyncWebClient, team_id: str, user_id: str, channel: TeamRef | None = None
) -> Actor:
    """The actor with a fresh `users.info` profile, looked up once for this request.

    A failed lookup does not stop the command: the core works without a profile (it only
    lacks the e-mail and time zone until the next successful lookup).
    """
    profile: ChatProfile | None
    try:
        profile = await fetch_profile(client, user_id)
    except Exception as exc:
        log.warning("users.info failed for %s: %s", user_id, type(exc).__name__)
        profile = None
    return Actor(user=UserRef(SLACK, team_id, user_id), profile=profile, channel=channel)


# Names Slack puts in `channel_name` when it won't tell the real one.
_PLACEHOLDER_NAMES = frozenset({"directmessage", "privategroup", "mpdm"})


def channel_of(channel_id: str | None, channel_name: str | None = None) -> TeamRef | None:
    """The channel a request came from, as a team for reports; None for a DM with the bot."""
    if not channel_id or channel_id.startswith("D"):
        return None
    label = "" if (channel_name or "") in _PLACEHOLDER_NAMES else (channel_name or "")
    return TeamRef("channel", channel_id, label)


def team_of(body: dict[str, Any], context_team_id: str | None) -> str:
    """The workspace of a payload: org-wide installs can send `team: null`, so fall back."""
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    for candidate in (
        body.get("team_id"),
        (body.get("user") or {}).get("team_id") if isinstance(body.get("user"), dict) else None,
        (body.get("event") or {}).get("team") if isinstance(body.get("event"), dict) else None,
        context_team_id,
    ):
        if candidate:
            return str(candidate)
    return ""
