"""`SlackChat`: the core's `ChatPort` on the Slack Web API (used by the outbox)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ChatError, ChatNotFound, ChatNotInstalled
from bot.identity import ChatProfile, Member, Recipient, SentMessage, TeamRef, UserRef
from bot.messages import Message
from integrations.slack.auth import BotTokens
from integrations.slack.errors import to_chat_error
from integrations.slack.render import fallback_text, render_blocks
from integrations.slack.roster import fetch_members
from integrations.slack.users import fetch_profile

T = TypeVar("T")


class SlackChat:
    """Sends and edits DMs. Every SDK error leaves as a neutral `ChatError`.

    Retries belong to the outbox (it knows about Retry-After and never double-sends a
    key), so the clients this class gets must not retry on their own.
    """

    platform = "slack"

    def __init__(self, tokens: BotTokens, client_factory: Callable[[str], AsyncWebClient]) -> None:
        self._tokens = tokens
        self._client_factory = client_factory

    async def send_dm(self, recipient: Recipient, message: Message) -> SentMessage:
        user = recipient.user
        client = await self._client(user.workspace_id)
        opened = await self._call(lambda: client.conversations_open(users=user.user_id))
        channel = (opened.get("channel") or {}).get("id")
        if not channel:
            raise ChatNotFound(f"no DM channel for {user}")
        posted = await self._call(
            lambda: client.chat_postMessage(
                channel=channel,
                text=fallback_text(message),
                blocks=render_blocks(message),
                unfurl_links=False,  # a personal link must not be fetched by unfurlers
                unfurl_media=False,
            )
        )
        # The team is kept so that an edit uses that workspace's token later.
        ref = {"channel": posted.get("channel") or channel, "ts": posted["ts"]}
        return SentMessage("slack", {**ref, "team": user.workspace_id})

    async def update(self, sent: SentMessage, message: Message) -> None:
        channel, ts = sent.ref.get("channel"), sent.ref.get("ts")
        if not channel or not ts:
            raise ChatNotFound("sent message reference has no channel/ts")
        client = await self._client(sent.ref.get("team"))
        await self._call(
            lambda: client.chat_update(
                channel=channel,
                ts=ts,
                text=fallback_text(message),
                blocks=render_blocks(message),
            )
        )

    async def profile(self, user: UserRef) -> ChatProfile:
        client = await self._client(user.workspace_id)
        return await self._call(lambda: fetch_profile(client, user.user_id))

    async def members(self, workspace_id: str, team: TeamRef) -> list[Member]:
        client = await self._client(workspace_id)
        return await self._call(lambda: fetch_members(client, workspace_id, team))

    # --- helpers ---------------------------------------------------------------------

    async def _client(self, team_id: str | None) -> AsyncWebClient:
        tokens = self._tokens
        identity = await self._call(lambda: tokens.lookup(team_id=team_id, enterprise_id=None))
        if identity is None:
            raise ChatNotInstalled(f"calbot is not installed in Slack workspace {team_id}")
        return self._client_factory(identity.token)

    @staticmethod
    async def _call(call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except ChatError:
            raise
        except Exception as exc:
            raise to_chat_error(exc) from exc
