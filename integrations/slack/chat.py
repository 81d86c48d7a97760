"""`SlackChat`: the core's `ChatPort` on the Slack Web API (used by the outbox).

DMs go to the bot's IM channel with the user: its id comes from `conversations.open`
once and is then remembered (`DmChannels`); posts are paced per workspace (`PostPacer`).
`send_dm_keyed` tags each post with the outbox key in Slack message metadata, so a send
whose outcome a dead process never recorded can be found in the DM's history instead of
being posted a second time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ChatError, ChatNotFound, ChatNotInstalled, ChatThrottled
from bot.identity import ChatProfile, Member, Recipient, SentMessage, TeamRef, UserRef
from bot.messages import Message
from integrations.slack.auth import BotIdentity, BotTokens
from integrations.slack.dm_channels import DmChannels
from integrations.slack.errors import to_chat_error
from integrations.slack.pacing import PostPacer
from integrations.slack.render import fallback_text, render_blocks
from integrations.slack.roster import fetch_members
from integrations.slack.users import fetch_profile

T = TypeVar("T")

OUTBOX_EVENT = "calbot_outbox"  # metadata event_type of every keyed post
# How far back an in-doubt send looks. A DM rarely gets more than a few messages between
# a crash and the restart; `conversations.history` is Tier 3, so one small page it is.
HISTORY_LOOKBACK = 20


def outbox_metadata(key: str) -> dict[str, Any]:
    return {"event_type": OUTBOX_EVENT, "event_payload": {"key": key}}


def find_keyed(messages: list[dict[str, Any]], key: str, bot_id: str | None) -> str | None:
    """The ts of the message our bot posted with outbox `key`, if it is among `messages`."""
    for message in messages:
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") != OUTBOX_EVENT:
            continue
        if (metadata.get("event_payload") or {}).get("key") != key:
            continue
        if bot_id and message.get("bot_id") not in (None, bot_id):
            continue  # another app's look-alike, not ours
        return str(message["ts"])
    return None


class SlackChat:
    """Sends and edits DMs. Every SDK error leaves as a neutral `ChatError`.

    Retries belong to the outbox (it knows about Retry-After and never double-sends a
    key), so the clients this class gets must not retry on their own.
    """

    platform = "slack"

    def __init__(
        self,
        tokens: BotTokens,
        client_factory: Callable[[str], AsyncWebClient],
        *,
        dm_channels: DmChannels | None = None,
        pacer: PostPacer | None = None,
    ) -> None:
        self._tokens = tokens
        self._client_factory = client_factory
        self.dm_channels = dm_channels or DmChannels()
        self.pacer = pacer or PostPacer()

    async def send_dm(self, recipient: Recipient, message: Message) -> SentMessage:
        _, client = await self._client(recipient.user.workspace_id)
        return await self._post_dm(client, recipient.user, message, metadata=None)

    async def send_dm_keyed(
        self, recipient: Recipient, message: Message, key: str, in_doubt: bool
    ) -> SentMessage:
        """Post tagged with `key`; when an earlier attempt may have landed, find it first."""
        user = recipient.user
        identity, client = await self._client(user.workspace_id)
        if in_doubt:
            found = await self._find_in_dm(client, identity, user, key)
            if found is not None:
                return found
        return await self._post_dm(client, user, message, metadata=outbox_metadata(key))

    async def update(self, sent: SentMessage, message: Message) -> None:
        channel, ts = sent.ref.get("channel"), sent.ref.get("ts")
        if not channel or not ts:
            raise ChatNotFound("sent message reference has no channel/ts")
        _, client = await self._client(sent.ref.get("team"))
        await self._call(
            lambda: client.chat_update(
                channel=channel,
                ts=ts,
                text=fallback_text(message),
                blocks=render_blocks(message),
            )
        )

    async def post_to_channel(
        self, workspace_id: str, channel: str, message: Message
    ) -> SentMessage:
        """Consent alerts to CALBOT_ALERT_CHANNEL (a channel id, or a name the bot is in)."""
        _, client = await self._client(workspace_id)
        answer = await self._call(
            lambda: client.chat_postMessage(
                channel=channel.lstrip("#"),
                text=fallback_text(message),
                blocks=render_blocks(message),
            )
        )
        return self._sent(str(answer["channel"]), str(answer["ts"]), workspace_id)

    async def profile(self, user: UserRef) -> ChatProfile:
        _, client = await self._client(user.workspace_id)
        return await self._call(lambda: fetch_profile(client, user.user_id))

    async def members(
        self, workspace_id: str, team: TeamRef, *, on_behalf_of: Recipient | None = None
    ) -> list[Member]:
        _, client = await self._client(workspace_id)
        return await self._call(lambda: fetch_members(client, workspace_id, team))

    # --- DMs -------------------------------------------------------------------------

    async def _post_dm(
        self,
        client: AsyncWebClient,
        user: UserRef,
        message: Message,
        *,
        metadata: dict[str, Any] | None,
    ) -> SentMessage:
        team = user.workspace_id

        async def post(channel: str) -> SentMessage:
            await self.pacer.acquire(team)
            try:
                posted = await self._call(
                    lambda: client.chat_postMessage(
                        channel=channel,
                        text=fallback_text(message),
                        blocks=render_blocks(message),
                        metadata=metadata,
                        unfurl_links=False,  # a personal link must not be fetched by unfurlers
                        unfurl_media=False,
                    )
                )
            except ChatThrottled as exc:
                self.pacer.throttled(team, exc.retry_after)
                raise
            self.pacer.landed(team)
            return self._sent(posted.get("channel") or channel, str(posted["ts"]), team)

        return await self._in_dm(client, user, post)

    async def _find_in_dm(
        self, client: AsyncWebClient, identity: BotIdentity, user: UserRef, key: str
    ) -> SentMessage | None:
        async def look(channel: str) -> SentMessage | None:
            history = await self._call(
                lambda: client.conversations_history(
                    channel=channel, limit=HISTORY_LOOKBACK, include_all_metadata=True
                )
            )
            ts = find_keyed(list(history.get("messages") or []), key, identity.bot_id)
            return None if ts is None else self._sent(channel, ts, user.workspace_id)

        return await self._in_dm(client, user, look)

    async def _in_dm(
        self, client: AsyncWebClient, user: UserRef, work: Callable[[str], Awaitable[T]]
    ) -> T:
        """Run `work` on the user's DM channel; a remembered id that went stale is reopened.

        Safe to repeat: `channel_not_found` means the call did nothing.
        """
        cached = self.dm_channels.get(user.workspace_id, user.user_id)
        if cached is not None:
            try:
                return await work(cached)
            except ChatNotFound as exc:
                if str(exc) != "channel_not_found":
                    raise
                self.dm_channels.forget(user.workspace_id, user.user_id)
        return await work(await self._open_dm(client, user))

    async def _open_dm(self, client: AsyncWebClient, user: UserRef) -> str:
        opened = await self._call(lambda: client.conversations_open(users=user.user_id))
        channel = (opened.get("channel") or {}).get("id")
        if not channel:
            raise ChatNotFound(f"no DM channel for {user}")
        self.dm_channels.put(user.workspace_id, user.user_id, str(channel))
        return str(channel)

    @staticmethod
    def _sent(channel: str, ts: str, team: str) -> SentMessage:
        # The team is kept so that an edit uses that workspace's token later.
        return SentMessage("slack", {"channel": channel, "ts": ts, "team": team})

    # --- helpers ---------------------------------------------------------------------

    async def _client(self, team_id: str | None) -> tuple[BotIdentity, AsyncWebClient]:
        tokens = self._tokens
        identity = await self._call(lambda: tokens.lookup(team_id=team_id, enterprise_id=None))
        if identity is None:
            raise ChatNotInstalled(f"calbot is not installed in Slack workspace {team_id}")
        return identity, self._client_factory(identity.token)

    @staticmethod
    async def _call(call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except ChatError:
            raise
        except Exception as exc:
            raise to_chat_error(exc) from exc
