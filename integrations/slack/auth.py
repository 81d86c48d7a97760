"""Which bot token to use for a workspace — the seam for multi-workspace installs.

Today there is one workspace and one `SLACK_BOT_TOKEN` (`SingleWorkspaceTokens`). The
OAuth install (`/slack/install`, `/slack/oauth_redirect`, SQLAlchemy installation store)
will add a second `BotTokens` implementation that looks the team up in the store; bolt's
`authorize` and `SlackChat` both go through this protocol, so nothing else changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient


@dataclass(frozen=True)
class BotIdentity:
    """The bot token for a workspace and who the bot is there (from `auth.test`)."""

    token: str
    team_id: str | None
    bot_user_id: str | None
    bot_id: str | None
    enterprise_id: str | None = None


class BotTokens(Protocol):
    async def lookup(self, *, team_id: str | None, enterprise_id: str | None) -> BotIdentity | None:
        """The identity to act as in that workspace, or None if the app isn't installed."""
        ...


class SingleWorkspaceTokens:
    """One bot token for every request; `auth.test` is called once and remembered."""

    def __init__(self, token: str, client_factory: Callable[[str], AsyncWebClient]) -> None:
        self._token = token
        self._client_factory = client_factory
        self._identity: BotIdentity | None = None
        self._lock = asyncio.Lock()

    async def lookup(self, *, team_id: str | None, enterprise_id: str | None) -> BotIdentity | None:
        if self._identity is not None:
            return self._identity
        async with self._lock:
            if self._identity is None:
                # A failure raises and is not cached, so the next request tries again.
                auth = await self._client_factory(self._token).auth_test()
                self._identity = BotIdentity(
                    token=self._token,
                    team_id=auth.get("team_id"),
                    bot_user_id=auth.get("user_id"),
                    bot_id=auth.get("bot_id"),
                    enterprise_id=auth.get("enterprise_id"),
                )
            return self._identity


class BoltAuthorize(AsyncAuthorize):
    """Bolt's `authorize` step backed by `BotTokens`.

    A custom authorize (rather than `token=`) keeps single- and multi-workspace on one
    code path, and keeps our token lookup in charge even if bolt finds SLACK_CLIENT_ID
    in the environment (it would otherwise drop `token=` for its own OAuth defaults).
    """

    def __init__(self, tokens: BotTokens) -> None:
        super().__init__()
        self._tokens = tokens

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        identity = await self._tokens.lookup(team_id=team_id, enterprise_id=enterprise_id)
        if identity is None:
            return None  # bolt answers with its "please reinstall" message
        return AuthorizeResult(
            enterprise_id=identity.enterprise_id or enterprise_id,
            team_id=identity.team_id or team_id,
            bot_token=identity.token,
            bot_user_id=identity.bot_user_id,
            bot_id=identity.bot_id,
        )
