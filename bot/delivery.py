"""Outbox items for a person's messages, and the "send once, then edit in place" rule."""

from __future__ import annotations

import hashlib

from bot.identity import Recipient
from bot.messages import Message
from bot.records import OutboxItem, UserRecord


def dm_item(
    user: UserRecord,
    key: str,
    payload: str,
    *,
    edit_of: str | None = None,
    channel: str | None = None,
) -> OutboxItem:
    """A DM to `user` (or a post in `channel` of their workspace) under outbox key `key`."""
    recipient = Recipient(user=user.ref, channel=channel) if channel else user.recipient
    return OutboxItem(
        key=key,
        platform=user.ref.platform,
        payload_json=payload,
        recipient=recipient,
        edit_of=edit_of,
    )


def send_or_edit(
    user: UserRecord,
    key: str,
    message: Message,
    *,
    already_sent: bool,
    channel: str | None = None,
) -> OutboxItem:
    """The first rendering of a card is sent under `key`; each later one edits it, keyed by
    its content, so the same content is never queued twice and a change always is."""
    payload = message.to_json()
    if not already_sent:
        return dm_item(user, key, payload, channel=channel)
    digest = hashlib.sha256(payload.encode()).hexdigest()[:16]
    return dm_item(user, f"{key}:{digest}", payload, edit_of=key, channel=channel)
