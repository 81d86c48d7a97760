"""Which bot token to use for a workspace — the seam for multi-workspace installs.

One workspace with `SLACK_BOT_TOKEN`: `SingleWorkspaceTokens`. Multi-workspace OAuth
install (`SLACK_CLIENT_ID`): `InstalledTokens`, a lookup in the installation store that
`/slack/oauth_redirect` fills. Bolt's `authorize` and `SlackChat` both go through this
protocol, so nothing else knows which mode is on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

if TYPE_CHECKING:
    from storage.slack_installations import SlackInstallationStore

log = logging.getLogger(__name__)


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

    async def forget(self, *, team_id: str) -> None:
        """The workspace uninstalled calbot or revoked its bot token: stop using it."""
        ...


class SingleWorkspaceTokens:
    """One bot token for every request; `auth.test` is called once and remembered."""

    def __init__(self, token: str, client_factory: Callable[[str], AsyncWebClient]) -> None:
        self._token = token
        self._client_factory = client_factory
        self._identity: BotIdentity | None = None
        self._lock = asyncio.Lock()
        self._revoked = False

    async def lookup(self, *, team_id: str | None, enterprise_id: str | None) -> BotIdentity | None:
        if self._revoked:
            return None
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

    async def forget(self, *, team_id: str) -> None:
        # The token comes from the environment, so only this process can stop using it;
        # after a restart Slack answers `token_revoked`, which is ChatNotInstalled too.
        if self._identity is None or self._identity.team_id in (None, team_id):
            self._revoked = True


class InstalledTokens:
    """Bot tokens per workspace from the OAuth installation store (our database).

    No cache: an uninstall on one instance must stop every instance at once, and the
    lookup is one indexed row in a small table (it runs inside bolt's 3-second window).
    """

    def __init__(self, store: SlackInstallationStore) -> None:
        self._store = store

    async def lookup(self, *, team_id: str | None, enterprise_id: str | None) -> BotIdentity | None:
        bot = await self._store.find_bot_for_team(team_id) if team_id else None
        if bot is None and enterprise_id:
            # An org-wide (Enterprise Grid) install is stored without a team id.
            bot = await self._store.async_find_bot(
                enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True
            )
        if bot is None:
            return None
        return BotIdentity(
            token=bot.bot_token,
            team_id=bot.team_id or team_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            enterprise_id=bot.enterprise_id,
        )

    async def forget(self, *, team_id: str) -> None:
        deleted = await self._store.delete_team(team_id)
        log.warning("slack workspace %s: removed its installation (%d rows)", team_id, deleted)


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
