"""Slack `users.info` → the core's `ChatProfile`."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.identity import ChatProfile


def profile_from_user(user: dict[str, Any]) -> ChatProfile:
    """Map a `users.info` `user` object. Email needs the `users:read.email` scope."""
    profile = user.get("profile") or {}
    name = (
        profile.get("display_name")
        or profile.get("real_name")
        or user.get("real_name")
        or user.get("name")
        or ""
    )
    return ChatProfile(
        display_name=str(name),
        email=profile.get("email") or None,
        tz=user.get("tz") or None,
        # Workspace owners are admins too, even where Slack leaves is_admin false.
        is_admin=bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")),
        is_bot=bool(user.get("is_bot")) or user.get("id") == "USLACKBOT",
        deleted=bool(user.get("deleted")),
        # Multi- and single-channel guests can't be expected to connect a calendar.
        is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
    )


async def fetch_profile(client: AsyncWebClient, user_id: str) -> ChatProfile:
    """One `users.info` call; raises slack_sdk errors for the caller to map."""
    response = await client.users_info(user=user_id)
    user = response.get("user")
    return profile_from_user(user if isinstance(user, dict) else {})
