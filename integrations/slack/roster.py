"""Who is on a team: a user group, a channel, or the whole workspace, with profiles.

Ids come from `usergroups.users.list` or paginated `conversations.members`. Profiles
come from `users.info` for a small team, else from one paginated `users.list` pass
(Tier 2, so a 10,000-person workspace is ~50 calls instead of 10,000). A report is
interactive, not outbox work, so a short 429 is waited out here instead of failing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ChatThrottled
from bot.identity import SLACK, Member, TeamRef, UserRef
from integrations.slack.errors import to_chat_error
from integrations.slack.users import profile_from_user

T = TypeVar("T")

SMALL_TEAM = 50  # up to this many people, users.info each beats scanning users.list
USERS_PAGE = 200  # Slack's recommended page size for users.list
MEMBERS_PAGE = 1000
LOOKUP_CONCURRENCY = 8
MAX_RATE_LIMIT_WAIT = 30.0
MAX_RATE_LIMIT_RETRIES = 3


async def fetch_members(client: AsyncWebClient, workspace_id: str, team: TeamRef) -> list[Member]:
    """Everyone on `team` (bots, guests and deactivated included; the core sorts them)."""
    if team.kind == "workspace":
        users = await _all_users(client)
        return [_member(workspace_id, user) for user in users.values()]
    ids = await _member_ids(client, team)
    if len(ids) <= SMALL_TEAM:
        users = await _users_by_id(client, ids)
    else:
        users = await _all_users(client)
        missing = [i for i in ids if i not in users]  # e.g. Slack Connect guests
        users.update(await _users_by_id(client, missing[:SMALL_TEAM]))
    return [_member(workspace_id, users[i]) for i in ids if i in users]


async def _member_ids(client: AsyncWebClient, team: TeamRef) -> list[str]:
    if team.kind == "usergroup":
        response = await patiently(
            lambda: client.usergroups_users_list(usergroup=team.id, include_disabled=False)
        )
        return _unique(response.get("users") or [])
    if team.kind in ("channel", "conversation"):
        ids: list[str] = []
        cursor = None
        while True:
            page = await patiently(
                partial(
                    client.conversations_members, channel=team.id, limit=MEMBERS_PAGE, cursor=cursor
                )
            )
            ids.extend(page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return _unique(ids)
    raise ValueError(f"Slack has no team kind {team.kind!r}")


async def _all_users(client: AsyncWebClient) -> dict[str, dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        page = await patiently(partial(client.users_list, limit=USERS_PAGE, cursor=cursor))
        for user in page.get("members") or []:
            users[str(user["id"])] = user
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return users


async def _users_by_id(client: AsyncWebClient, ids: list[str]) -> dict[str, dict[str, Any]]:
    gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)

    async def one(user_id: str) -> dict[str, Any] | None:
        async with gate:
            try:
                response = await patiently(lambda: client.users_info(user=user_id))
            except SlackApiError as exc:
                if (getattr(exc.response, "data", None) or {}).get("error") == "user_not_found":
                    return None  # left since the member list was read
                raise
            user = response.get("user")
            return user if isinstance(user, dict) else None

    found = await asyncio.gather(*(one(i) for i in ids))
    return {str(user["id"]): user for user in found if user is not None}


async def patiently(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Web API call, sleeping through short rate limits (429 + Retry-After)."""
    for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
        try:
            return await call()
        except SlackApiError as exc:
            wait = _short_rate_limit(exc)
            if wait is None or attempt == MAX_RATE_LIMIT_RETRIES:
                raise
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


def _short_rate_limit(exc: SlackApiError) -> float | None:
    mapped = to_chat_error(exc)
    if isinstance(mapped, ChatThrottled) and mapped.retry_after <= MAX_RATE_LIMIT_WAIT:
        return mapped.retry_after
    return None


def _member(workspace_id: str, user: dict[str, Any]) -> Member:
    return Member(
        user=UserRef(SLACK, workspace_id, str(user["id"])), profile=profile_from_user(user)
    )


def _unique(ids: list[Any]) -> list[str]:
    return list(dict.fromkeys(str(i) for i in ids))
