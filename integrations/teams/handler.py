"""The inbound translator: Teams activities → the core's commands and button presses.

Messages become ``Bot.command``; a card's ``Action.Submit`` (a message whose ``value``
is the button's data) and ``Action.Execute`` (an ``adaptiveCard/action`` invoke) become
``Bot.action``, or ``Bot.submit`` when the card was a form (see ``form_turn.py``);
install and conversation updates only remember where to DM the user. Nothing here
sends proactively: replies go back into the same turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import Activity

from bot.connect import Actor
from bot.dispatch import Bot
from bot.errors import ChatError
from bot.identity import TEAMS, ChatProfile, TeamRef, UserRef
from bot.messages import Message
from bot.ports import Store
from bot.records import UserRecord
from integrations.teams import origin
from integrations.teams.address import Address, from_activity, tenant_of
from integrations.teams.chat import message_activity
from integrations.teams.errors import connector_errors
from integrations.teams.form_card import executed_submission, submission_of
from integrations.teams.form_turn import replace_form, submit_form
from integrations.teams.mentions import is_person, mentions_of, neutral_text
from integrations.teams.render import CARD_CONTENT_TYPE, render_card
from integrations.teams.roster import member_email

log = logging.getLogger(__name__)

ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
MESSAGE_RESPONSE = "application/vnd.microsoft.activity.message"
ERROR_RESPONSE = "application/vnd.microsoft.error"
# Roster lookups (e-mail, team role, a mentioned person's object id) must not hold the
# turn: Teams resends an activity that is not answered within 15 s.
MEMBER_LOOKUP_TIMEOUT = 3.0
_MEMBERS = "calbot.teams.members"  # turn_state key: member id → roster entry or None


class CalbotTeamsHandler(TeamsActivityHandler):  # type: ignore[misc]
    def __init__(self, bot: Bot, store: Store, *, owners_are_admins: bool = True) -> None:
        super().__init__()
        self._bot = bot
        self._store = store
        # Anyone may create a team in many tenants, and an owner asking in it is stored
        # as an admin; an organisation that lists its admins (CALBOT_ADMINS) turns that off.
        self._owners_are_admins = owners_are_admins

    async def on_turn(self, turn_context: TurnContext) -> None:
        # The gateway reads the roster from this request's own (authenticated) Bot
        # Connector while the turn runs; see origin.py.
        with origin.serving(origin.origin_of(turn_context.activity)):
            await super().on_turn(turn_context)

    # --- messages and Action.Submit ----------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity: Activity = turn_context.activity
        actor = await self.actor(turn_context)
        submission = submission_of(activity.value)
        if submission is not None:
            outcome = await submit_form(self._bot, self._store, actor, submission, "submit")
            await replace_form(turn_context, outcome.card)
            if outcome.reply is not None:
                await self._reply(turn_context, outcome.reply)
            return
        pressed = submitted_action(activity.value)
        if pressed is not None:
            reply = await self._bot.action(actor, *pressed)
        elif activity.text:
            reply = await self._bot.command(actor, await self.command_text(turn_context))
        else:
            return  # e.g. a card input change with nothing to do
        if reply is not None:
            await self._reply(turn_context, reply)

    # --- Action.Execute ----------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        if turn_context.activity.name != ADAPTIVE_CARD_ACTION:
            return await super().on_invoke_activity(turn_context)
        # Handled here, not in on_adaptive_card_invoke: the SDK's typed response can't
        # carry a string value and serialises its own error replies into a 500
        # (reference/teams.md §2.4). A plain dict body goes out as is.
        submission = executed_submission(turn_context.activity.value)
        if submission is not None:
            actor = await self.actor(turn_context)
            outcome = await submit_form(self._bot, self._store, actor, submission, "execute")
            if outcome.reply is not None:
                await self._reply(turn_context, outcome.reply)
            # The form the user pressed is replaced: by itself with the errors marked,
            # or by the short "sent" card.
            return InvokeResponse(
                status=200,
                body={"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": outcome.card},
            )
        pressed = executed_action(turn_context.activity.value)
        if pressed is None:
            return invoke_error(400, "BadRequest", "expected an Action.Execute with data.action_id")
        actor = await self.actor(turn_context)
        reply = await self._bot.action(actor, *pressed)
        if reply is None:
            return InvokeResponse(
                status=200, body={"statusCode": 200, "type": MESSAGE_RESPONSE, "value": "Done."}
            )
        # The card the user pressed is replaced with the reply (Universal Actions).
        card = render_card(reply, actions="execute")
        return InvokeResponse(
            status=200, body={"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card}
        )

    # --- install and conversation updates --------------------------------------------

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        # Replaces TeamsActivityHandler's dispatch, which GETs every added member from
        # the roster (a burst on a large team install) and fails the turn on errors.
        activity: Activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        if any(m.id == bot_id for m in activity.members_added or []):
            await self.remember(turn_context)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self.remember(turn_context)
        # Whoever installed the app gets the consent onboarding card (once per install).
        await self._bot.installed(await self.actor(turn_context))

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        # Later sends fail with 403 BotNotInConversationRoster → ChatNotInstalled.
        log.info("teams app removed from a %s conversation", _scope(turn_context.activity))

    async def remember(self, turn_context: TurnContext) -> None:
        """Store the user's address so proactive DMs (connect links, nudges) can reach them."""
        actor = await self.actor(turn_context)
        await self._store.upsert_user(actor.user, actor.profile, actor.address)

    # --- who is asking -----------------------------------------------------------------

    async def actor(self, turn_context: TurnContext) -> Actor:
        activity: Activity = turn_context.activity
        sender = activity.from_property
        # Key users by tenant + Entra object id: roster e-mail may be withheld and the
        # 29:… id is per bot registration.
        user = UserRef(TEAMS, tenant_of(activity), sender.aad_object_id or sender.id)
        stored = await self._store.find_user(user)
        in_team = bool(team_id_of(activity))
        member = None
        if in_team or stored is None or stored.email is None:
            member = await self.member(turn_context, sender.id)
        role = str(getattr(member, "user_role", None) or "").lower()
        # Teams has no organisation-admin flag in an activity. Asked in a team, the
        # team's roster decides (owners are admins, for this request); elsewhere the
        # stored flag stands. The store overwrites it with what we pass, so pass it on.
        # CALBOT_ADMINS (ids or e-mails) is checked by the core on top of this.
        is_admin = stored.is_admin if stored else False
        if in_team and role and self._owners_are_admins:
            is_admin = role == "owner"
        profile = ChatProfile(
            display_name=sender.name or (stored.display_name if stored else ""),
            email=(stored.email if stored else None) or member_email(member),
            tz=activity.local_timezone or (stored.tz if stored else None),
            is_admin=is_admin,
            is_guest=role == "guest",
        )
        return Actor(
            user=user,
            profile=profile,
            address=dm_address(activity, stored),
            channel=asked_in(activity),
        )

    async def command_text(self, turn_context: TurnContext) -> str:
        """The message as the core reads it: bot mention gone, people as ``<@aad|Name>``."""
        activity: Activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        found = mentions_of(activity)
        aad_ids: dict[str, str] = {}
        for mention in found:
            if not is_person(mention, bot_id):
                continue
            aad = mention.aad_object_id
            if aad is None:
                # Mention entities carry the 29: id only; the roster maps it to the
                # Entra object id calbot keys people by.
                entry = await self.member(turn_context, mention.teams_id)
                aad = getattr(entry, "aad_object_id", None)
            if isinstance(aad, str) and aad:
                aad_ids[mention.teams_id] = aad
        return neutral_text(activity.text or "", found, aad_ids, bot_id)

    async def member(self, turn_context: TurnContext, member_id: str) -> Any | None:
        """One roster entry of this conversation (its team, in a channel), once per turn.

        None when the lookup fails: it only adds facts (e-mail, role, object id), and a
        user's turn must never fail over it.
        """
        cache: dict[str, Any] = turn_context.turn_state.setdefault(_MEMBERS, {})
        if member_id in cache:
            return cache[member_id]
        entry = None
        try:
            async with connector_errors("get member"):
                entry = await asyncio.wait_for(
                    TeamsInfo.get_member(turn_context, member_id), MEMBER_LOOKUP_TIMEOUT
                )
        except Exception as exc:
            log.info("teams member lookup failed: %s", exc)
        cache[member_id] = entry
        return entry

    async def _reply(self, turn_context: TurnContext, message: Message) -> None:
        try:
            async with connector_errors("reply"):
                # Real mentions only in a 1:1 chat, where they notify nobody.
                personal = _scope(turn_context.activity) == "personal"
                await turn_context.send_activity(message_activity(message, mentions=personal))
        except ChatError as exc:
            # The core already did the work (and queued any DM); a failed reply must
            # not turn into a 500 that makes Teams resend an activity we then dedupe.
            log.warning("teams reply failed: %s", exc)


def dm_address(activity: Activity, stored: UserRecord | None) -> Address:
    """Where to DM the sender: this chat if it is 1:1, else their known 1:1 chat."""
    fresh = from_activity(activity)
    if fresh["conversation_id"]:
        return fresh
    known = stored.address if stored else None
    if known and known.get("conversation_id") and known.get("user_id") == fresh["user_id"]:
        return {**fresh, "conversation_id": known["conversation_id"]}
    return fresh  # no 1:1 yet: the gateway creates one on the first DM


def team_id_of(activity: Activity) -> str | None:
    """The team a channel message belongs to (``channelData.team.id``), if any."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = data.get("team")
    return str(team["id"]) if isinstance(team, dict) and team.get("id") else None


def asked_in(activity: Activity) -> TeamRef | None:
    """The team a question was asked in: the default team for "who isn't synced?".

    In a team channel that is the whole team (its roster is the team's members; the
    channel's own conversation id carries a ``;messageid=`` suffix in threads), in a
    group chat the chat. In a 1:1 chat there is none. The label is what Teams tells us;
    team names are not in message activities, and fetching them would take the SDK's
    blocking Teams client.
    """
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team_id = team_id_of(activity)
    if team_id:
        team = data.get("team") or {}
        return TeamRef("conversation", team_id, str(team.get("name") or "this team"))
    conversation = activity.conversation
    if conversation is None or not conversation.id or _scope(activity) == "personal":
        return None
    return TeamRef("conversation", conversation.id, conversation.name or "this group chat")


def submitted_action(value: Any) -> tuple[str, str] | None:
    """``(action_id, value)`` from an Action.Submit's data, if it is one of our buttons."""
    if not isinstance(value, dict) or not isinstance(value.get("action_id"), str):
        return None
    return value["action_id"], _as_text(value.get("value"))


def executed_action(value: Any) -> tuple[str, str] | None:
    """``(action_id, value)`` from an ``adaptiveCard/action`` invoke value."""
    action = value.get("action") if isinstance(value, dict) else None
    if not isinstance(action, dict) or action.get("type") != "Action.Execute":
        return None
    raw = action.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    action_id = data.get("action_id") or action.get("verb")
    if not isinstance(action_id, str) or not action_id:
        return None
    return action_id, _as_text(data.get("value"))


def invoke_error(status: int, code: str, message: str) -> InvokeResponse:
    error = {"code": code, "message": message}
    body = {"statusCode": status, "type": ERROR_RESPONSE, "value": error}
    return InvokeResponse(status=status, body=body)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _scope(activity: Activity) -> str:
    conversation = activity.conversation
    return (conversation.conversation_type if conversation else None) or "personal"
