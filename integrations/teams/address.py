"""Teams conversation addresses as plain JSON, and the only place they meet SDK types.

The store keeps what it takes to DM someone later as a plain dict (never a pickled or
``serialize()``-d SDK object), so the Bot Framework SDK can be swapped for the
Microsoft 365 Agents SDK without migrating data. Keys:

    service_url        where this tenant's Bot Connector lives (from the inbound activity)
    tenant_id          Entra tenant, from ``channelData.tenant.id``
    conversation_id    the user's 1:1 chat with the bot, or None until one is known
    conversation_type  "personal" (the only kind a DM address may hold)
    bot_id, bot_name   the bot's own channel account ("28:<app id>")
    user_id            the user's Teams id ("29:…")
    user_aad_id        the user's Entra object id
    channel_id         always "msteams"
"""

from __future__ import annotations

from typing import Any

from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
)

CHANNEL_ID = "msteams"
# Teams' public global Bot Connector, for a first 1:1 with someone who never wrote to
# us (GCC/GCCH/DoD tenants have their own; the next inbound activity corrects it).
DEFAULT_SERVICE_URL = "https://smba.trafficmanager.net/teams/"

Address = dict[str, Any]


def tenant_of(activity: Activity) -> str:
    """The Entra tenant id. Teams sends it as ``channelData.tenant.id``.

    ``conversation.tenant_id`` is usually None for real Teams payloads: the schema maps
    that attribute to the JSON key ``tenantID`` while Teams sends ``tenantId``, which
    ends up in ``additional_properties``.
    """
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant")
    if isinstance(tenant, dict) and tenant.get("id"):
        return str(tenant["id"])
    conversation = activity.conversation
    if conversation is not None:
        extra = getattr(conversation, "additional_properties", None) or {}
        found = conversation.tenant_id or extra.get("tenantId")
        if found:
            return str(found)
    return ""


def conversation_type(activity: Activity) -> str:
    conversation = activity.conversation
    return (conversation.conversation_type if conversation else None) or "personal"


def from_activity(activity: Activity, *, personal: bool | None = None) -> Address:
    """The DM address of the activity's sender.

    Only a personal (1:1) conversation may be stored as the place to DM someone: a
    connect link must never land in a channel or a group chat. For other conversations
    the address keeps everything but the conversation, and the first DM creates the 1:1.
    """
    is_personal = conversation_type(activity) == "personal" if personal is None else personal
    sender = activity.from_property or ChannelAccount()
    bot = activity.recipient or ChannelAccount()
    conversation = activity.conversation
    return {
        "service_url": activity.service_url or DEFAULT_SERVICE_URL,
        "tenant_id": tenant_of(activity),
        "conversation_id": conversation.id if is_personal and conversation else None,
        "conversation_type": "personal",
        "bot_id": bot.id,
        "bot_name": bot.name,
        "user_id": sender.id,
        "user_aad_id": sender.aad_object_id,
        "channel_id": CHANNEL_ID,
    }


def with_conversation(address: Address, conversation_id: str, service_url: str | None) -> Address:
    """The same address once its 1:1 conversation exists."""
    return {
        **address,
        "conversation_id": conversation_id,
        "conversation_type": "personal",
        "service_url": service_url or address.get("service_url") or DEFAULT_SERVICE_URL,
    }


def to_reference(address: Address) -> ConversationReference:
    """An SDK conversation reference for ``continue_conversation`` (never stored)."""
    return ConversationReference(
        channel_id=address.get("channel_id") or CHANNEL_ID,
        service_url=address.get("service_url") or DEFAULT_SERVICE_URL,
        conversation=ConversationAccount(
            id=address["conversation_id"],
            conversation_type=address.get("conversation_type") or "personal",
            tenant_id=address.get("tenant_id"),
            is_group=False,
        ),
        bot=ChannelAccount(id=address.get("bot_id"), name=address.get("bot_name")),
        user=ChannelAccount(id=address.get("user_id"), aad_object_id=address.get("user_aad_id")),
    )
