"""``TeamsChat``: the outbound gateway, calbot's ``ChatPort`` for Microsoft Teams.

The only module that calls ``continue_conversation`` / ``create_conversation`` /
``TeamsInfo``; every call goes through ``connector_errors`` so the core and the outbox
see neutral errors only. Addresses and sent-message references are plain JSON.

Where the credentials go: the SDK sends our bot token to whatever ``serviceUrl`` the
address holds. Addresses come from inbound activities, and the SDK trusts an inbound
``serviceUrl`` once the activity's JWT has been validated (in 4.17
``trust_service_url``/``is_trusted_service`` are no-op "always trusted"). That is fine
while the route authenticates every request whenever an app id is set; in local mode
there is no token to leak. A stricter deployment could allow-list Teams' connector
hosts (``smba.trafficmanager.net`` and the sovereign clouds') before storing one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationParameters,
)

from bot.errors import ChatNotFound
from bot.identity import TEAMS, ChatProfile, Member, Recipient, SentMessage, TeamRef, UserRef
from bot.messages import Message, Section
from bot.ports import Store
from bot.records import UserRecord
from integrations.teams import origin
from integrations.teams.address import (
    CHANNEL_ID,
    DEFAULT_SERVICE_URL,
    Address,
    to_reference,
    with_conversation,
)
from integrations.teams.errors import connector_errors
from integrations.teams.form_card import render_form
from integrations.teams.render import CARD_CONTENT_TYPE, ActionKind, plain_text, render_card
from integrations.teams.roster import PAGE_SIZE, member_email, roster_conversation, to_member

log = logging.getLogger(__name__)

T = TypeVar("T")


def message_activity(
    message: Message, *, actions: ActionKind = "submit", mentions: bool = True
) -> Activity:
    """A message activity carrying ``message`` as an Adaptive Card.

    ``mentions=False`` shows people as plain names: a mention in a channel or group
    chat notifies that person, and calbot's answers there should not ping anyone.
    A message with a ``form`` is that form, as a card with inputs; its blocks only
    describe the form, so they become the card's fallback text.
    """
    if message.form is not None:
        fallback = " ".join(plain_text(b.text) for b in message.blocks if isinstance(b, Section))
        card = render_form(message.form, actions=actions, fallback=fallback or message.text)
    else:
        card = render_card(message, actions=actions, names=None if mentions else {})
    return card_activity(card, summary=message.text)


def card_activity(card: dict[str, Any], *, summary: str) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        # Teams shows `summary` in notifications and the activity feed instead of "Card".
        summary=plain_text(summary)[:200],
        attachments=[Attachment(content_type=CARD_CONTENT_TYPE, content=card)],
    )


class TeamsChat:
    """Sends, edits and looks up on Teams on behalf of the core (``ChatPort``)."""

    platform = TEAMS

    def __init__(
        self,
        adapter: Any,
        *,
        app_id: str = "",
        store: Store | None = None,
        actions: ActionKind = "submit",
    ) -> None:
        self._adapter = adapter
        self._app_id = app_id
        self._store = store
        self._actions = actions

    # --- ChatPort ----------------------------------------------------------------------

    async def send_dm(self, recipient: Recipient, message: Message) -> SentMessage:
        address: Address = dict(recipient.address or {})
        if not address.get("conversation_id"):
            address = await self.open_personal_chat(recipient.user, address)
        activity = message_activity(message, actions=self._actions)

        async def send(ctx: TurnContext) -> str:
            response = await ctx.send_activity(activity)
            return str(getattr(response, "id", "") or "")

        activity_id = await self._in_conversation(address, send, what="send DM")
        return SentMessage(TEAMS, {"address": address, "activity_id": activity_id})

    async def update(self, sent: SentMessage, message: Message) -> None:
        address = sent.ref.get("address")
        activity_id = sent.ref.get("activity_id")
        if not isinstance(address, dict) or not address.get("conversation_id") or not activity_id:
            raise ChatNotFound("no Teams message reference to update")
        activity = message_activity(message, actions=self._actions)
        activity.id = str(activity_id)

        async def edit(ctx: TurnContext) -> None:
            await ctx.update_activity(activity)

        await self._in_conversation(address, edit, what="update message")

    async def profile(self, user: UserRef) -> ChatProfile:
        """Name and e-mail from the roster API (e-mail may be withheld), tz from our store.

        ``user.user_id`` is an Entra object id, as the people picker and mentions give
        them. Someone calbot cannot DM yet (never seen, or only stored without a Teams
        id) is looked up in Teams and remembered with the address a DM needs: the core
        asks for a profile right before it offers that person something.
        """
        stored = await self._store.find_user(user) if self._store is not None else None
        address = (stored.address if stored else None) or {}
        if stored is not None and address.get("conversation_id"):

            async def lookup(ctx: TurnContext) -> Any:
                member_id = address.get("user_id") or address.get("user_aad_id") or user.user_id
                return await TeamsInfo.get_member(ctx, member_id)

            member = await self._in_conversation(address, lookup, what="get member")
            return _merge(_profile_of(stored), member)
        # Learned from a roster (the first DM opens their 1:1), or no turn to look them
        # up from (a job): what we know is all there is.
        if stored is not None and (
            address.get("user_id") or origin.current(user.workspace_id) is None
        ):
            return _profile_of(stored)
        return await self._find_and_remember(user, stored)

    async def _find_and_remember(self, user: UserRef, stored: UserRecord | None) -> ChatProfile:
        """Find someone calbot has no DM address for, and store the one Teams gives.

        First in the conversation being served (a team's roster when asked in a
        channel); then in the bot's own 1:1 chat with them, which Teams opens (or hands
        back) for an Entra object id when calbot is installed for that person. That
        chat is where their offer goes anyway, and if it can't be opened they can't
        get one: ``ChatNotInstalled``. Nobody by that id: ``ChatNotFound``.
        """
        served = origin.current(user.workspace_id)
        if served is None:
            raise ChatNotFound(f"unknown Teams user {user}")
        base: Address = {
            "service_url": served.service_url,
            "tenant_id": user.workspace_id,
            "bot_id": served.bot_id or f"28:{self._app_id}",
            "bot_name": served.bot_name,
            "channel_id": CHANNEL_ID,
        }
        member: Any = None
        address: Address | None = None
        if served.roster_id:
            try:
                member = await self._member_in(
                    {**base, "conversation_id": served.roster_id}, user.user_id
                )
            except ChatNotFound:
                member = None
        if member is None:
            address = await self.open_personal_chat(user, {**base, "user_aad_id": user.user_id})
            member = await self._member_in(address, user.user_id)
        teams_id = getattr(member, "id", None) or user.user_id
        if address is None:
            address = {**base, "conversation_id": None, "conversation_type": "personal"}
        address = {**address, "user_id": teams_id, "user_aad_id": user.user_id}
        profile = _merge(_profile_of(stored) if stored else ChatProfile(display_name=""), member)
        if self._store is not None:
            await self._store.upsert_members(
                TEAMS, user.workspace_id, [(user.user_id, profile, address)]
            )
        return profile

    async def _member_in(self, address: Address, member_id: str) -> Any:
        async def lookup(ctx: TurnContext) -> Any:
            return await TeamsInfo.get_member(ctx, member_id)

        return await self._in_conversation(address, lookup, what="get member")

    async def members(
        self, workspace_id: str, team: TeamRef, *, on_behalf_of: Recipient | None = None
    ) -> list[Member]:
        """The roster of a team or group chat: one paged fetch, 500 members per call.

        ``team.id`` is the conversation whose roster is wanted (the team id for a team
        channel, the chat id for a group chat; see ``handler.asked_in``). The connector
        is the tenant's own (``serviceUrl`` of the request being served, see
        ``origin.py``); without one, Teams' public global endpoint.
        """
        conversation_id = roster_conversation(team)
        served = origin.current(workspace_id)
        dm_base: Address = {
            "service_url": served.service_url
            if served
            else _stored_service_url(on_behalf_of, workspace_id),
            "bot_id": (served.bot_id if served else None) or f"28:{self._app_id}",
            "bot_name": served.bot_name if served else None,
        }
        roster_address: Address = {
            **dm_base,
            "tenant_id": workspace_id,
            "conversation_id": conversation_id,
            "channel_id": CHANNEL_ID,
        }

        async def fetch(ctx: TurnContext) -> list[Any]:
            entries: list[Any] = []
            token: str | None = None
            while True:
                page = await TeamsInfo.get_paged_members(ctx, token, PAGE_SIZE)
                entries.extend(page.members or [])
                token = page.continuation_token
                if not token:
                    return entries

        entries = await self._in_conversation(roster_address, fetch, what="list members")
        found = [to_member(entry, workspace_id, dm_base) for entry in entries]
        members = [m for m in found if m is not None]
        await self._remember_new(workspace_id, members)
        return members

    async def _remember_new(self, workspace_id: str, members: list[Member]) -> None:
        """Store people we had never seen, with the address a DM to them needs.

        On Teams a DM needs the person's 29: id and the tenant's service URL, and the
        roster read is where we learn them; the per-person "Nudge" button carries only
        a user id. People already stored keep their record (and their known 1:1 chat).
        Two batched statements and one insert, whatever the team size.
        """
        if self._store is None or not members:
            return
        known = await self._store.sync_facts(TEAMS, workspace_id, [m.user.user_id for m in members])
        new = [m for m in members if m.user.user_id not in known]
        if new:
            await self._store.upsert_members(
                TEAMS, workspace_id, [(m.user.user_id, m.profile, m.address) for m in new]
            )

    # --- Teams specifics -------------------------------------------------------------

    async def open_personal_chat(self, user: UserRef, address: Address) -> Address:
        """Create (or, as Teams does for 1:1 chats, get back) the bot's chat with ``user``."""
        tenant = address.get("tenant_id") or user.workspace_id
        member_id = address.get("user_id") or address.get("user_aad_id") or user.user_id
        service_url = address.get("service_url") or DEFAULT_SERVICE_URL
        bot_id = address.get("bot_id") or f"28:{self._app_id}"
        # Both tenant fields: the Python schema serialises tenant_id as "tenantID" and
        # Teams documents channelData.tenant.id.
        params = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=bot_id, name=address.get("bot_name")),
            members=[ChannelAccount(id=member_id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}},
        )
        created: dict[str, str] = {}

        async def remember(ctx: TurnContext) -> None:
            created["id"] = ctx.activity.conversation.id
            created["service_url"] = ctx.activity.service_url

        async with connector_errors("create 1:1 conversation"):
            await self._adapter.create_conversation(
                self._app_id, remember, params, CHANNEL_ID, service_url, None
            )
        if not created.get("id"):
            raise ChatNotFound("Teams did not return a conversation id")
        base: Address = {
            "service_url": service_url,
            "tenant_id": tenant,
            "bot_id": bot_id,
            "bot_name": address.get("bot_name"),
            "user_id": address.get("user_id") or member_id,
            "user_aad_id": address.get("user_aad_id") or user.user_id,
            "channel_id": CHANNEL_ID,
        }
        return with_conversation(base, created["id"], created.get("service_url"))

    async def _in_conversation(
        self,
        address: Address,
        work: Callable[[TurnContext], Awaitable[T]],
        *,
        what: str,
    ) -> T:
        """Run ``work`` in a proactive turn in the address's conversation."""
        result: list[T] = []

        async def callback(ctx: TurnContext) -> None:
            # Continuation activities carry no channelData, and TeamsInfo reads the
            # tenant/team from it (TeamsChannelData(**None) would raise).
            if ctx.activity.channel_data is None:
                ctx.activity.channel_data = {"tenant": {"id": address.get("tenant_id")}}
            result.append(await work(ctx))

        async with connector_errors(what):
            await self._adapter.continue_conversation(to_reference(address), callback, self._app_id)
        return result[0]


def _profile_of(stored: UserRecord) -> ChatProfile:
    return ChatProfile(
        display_name=stored.display_name,
        email=stored.email,
        tz=stored.tz,
        is_admin=stored.is_admin,
    )


def _merge(known: ChatProfile, member: Any) -> ChatProfile:
    """What the roster says about a person over what we knew; tz and admin stay ours."""
    return ChatProfile(
        display_name=getattr(member, "name", None) or known.display_name,
        email=member_email(member) or known.email,
        tz=known.tz,
        is_admin=known.is_admin,
        is_bot=str(getattr(member, "id", None) or "").startswith("28:"),
    )


def _stored_service_url(person: Recipient | None, tenant_id: str) -> str:
    """Outside a turn (a scheduled job), the connector of the person the roster is read
    for: their address was stored from an authenticated activity or our own roster read
    of their tenant, the same address every DM to them is sent to."""
    address = (person.address or {}) if person is not None else {}
    url = address.get("service_url")
    if isinstance(url, str) and url and address.get("tenant_id") in (None, tenant_id):
        return url
    return DEFAULT_SERVICE_URL
