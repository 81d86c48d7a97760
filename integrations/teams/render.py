"""Neutral ``bot.messages.Message`` → Adaptive Card 1.5, as a plain dict.

Pure functions, no SDK: the card is JSON the Bot Framework and the Agents SDK both send
as is. Teams renders Adaptive Cards up to 1.5, and its TextBlock markdown already
understands the neutral subset for ``**bold**``, ``_italic_`` and ``[label](url)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from bot.messages import Actions, Button, Context, Divider, Fields, Header, Message, Section

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
# Bots may send ~100 KB, but 28 KB is the smallest limit anywhere in Teams (connectors,
# workflows): staying under it means a card can be forwarded through any of them.
MAX_CARD_BYTES = 28_000

ActionKind = Literal["submit", "execute"]

_MENTION = re.compile(r"<@([^>|]+)(?:\|([^>]*))?>")
_CODE = re.compile(r"`([^`\n]+)`")
_STYLES = {"primary": "positive", "danger": "destructive"}
_TRIMMED_NOTE = "Part of this message was left out to fit Teams' size limit."


def render_card(
    message: Message,
    *,
    names: Mapping[str, str] | None = None,
    actions: ActionKind = "submit",
) -> dict[str, Any]:
    """The Adaptive Card for ``message``.

    ``names`` maps user ids in ``<@id>`` mentions to display names; a known name becomes
    a real Teams mention (``<at>`` text plus the card's mention entity), an unknown one
    plain text. ``actions="execute"`` renders buttons as Universal Actions
    (``Action.Execute``, an ``adaptiveCard/action`` invoke) instead of ``Action.Submit``
    (a message activity carrying ``value``); calbot handles both.
    """
    mentions: dict[str, str] = {}
    body: list[dict[str, Any]] = []
    separate = False
    for block in message.blocks:
        if isinstance(block, Divider):
            separate = True
            continue
        element = _element(block, names or {}, mentions, actions)
        if element is None:
            continue
        if separate:
            element.update(separator=True, spacing="Medium")
            separate = False
        body.append(element)
    if not body:
        body.append(_text(_markdown(message.text, names or {}, mentions), wrap=True))
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": "1.5",
        "fallbackText": _plain(message.text),
        "body": body,
        "msteams": {"width": "Full"},
    }
    if mentions:
        card["msteams"]["entities"] = [
            {"type": "mention", "text": f"<at>{name}</at>", "mentioned": {"id": uid, "name": name}}
            for uid, name in mentions.items()
        ]
    return _fit(card)


def attachment(card: dict[str, Any]) -> dict[str, Any]:
    """The activity attachment for a card (no CardFactory needed)."""
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def card_size(card: dict[str, Any]) -> int:
    return len(json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode())


# --- blocks ------------------------------------------------------------------------


def _element(
    block: object, names: Mapping[str, str], mentions: dict[str, str], kind: ActionKind
) -> dict[str, Any] | None:
    if isinstance(block, Header):
        return _text(_plain(block.text), size="Large", weight="Bolder", wrap=True)
    if isinstance(block, Section):
        return _text(_markdown(block.text, names, mentions), wrap=True)
    if isinstance(block, Context):
        return _text(_markdown(block.text, names, mentions), size="Small", isSubtle=True, wrap=True)
    if isinstance(block, Fields):
        facts = [
            {"title": _plain(label), "value": _markdown(value, names, mentions)}
            for label, value in block.items
        ]
        return {"type": "FactSet", "facts": facts} if facts else None
    if isinstance(block, Actions):
        buttons = [_action(b, kind) for b in block.buttons]
        return {"type": "ActionSet", "actions": buttons} if buttons else None
    return None


def _text(text: str, **props: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, **props}


def _action(button: Button, kind: ActionKind) -> dict[str, Any]:
    action: dict[str, Any]
    if button.url:
        action = {"type": "Action.OpenUrl", "title": button.label, "url": button.url}
    elif kind == "execute":
        action = {
            "type": "Action.Execute",
            "title": button.label,
            "verb": button.action_id,
            "data": {"action_id": button.action_id, "value": button.value},
        }
    else:
        action = {
            "type": "Action.Submit",
            "title": button.label,
            "data": {"action_id": button.action_id, "value": button.value},
        }
    if button.style:
        action["style"] = _STYLES[button.style]
    return action


# --- text --------------------------------------------------------------------------


def _markdown(text: str, names: Mapping[str, str], mentions: dict[str, str]) -> str:
    def mention(match: re.Match[str]) -> str:
        uid, label = match.group(1), match.group(2)
        name = names.get(uid) or label
        if not name:
            return uid
        if uid in names:
            # A real mention needs the entity as well as the <at> text (added by render_card).
            mentions[uid] = name
            return f"<at>{name}</at>"
        return name

    text = _MENTION.sub(mention, text)
    # Adaptive Card markdown has no inline code: show the command itself.
    text = _CODE.sub(r"\1", text)
    # A single newline is not a line break in Adaptive Card markdown; a blank line is.
    return re.sub(r"\n+", "\n\n", text)


def _plain(text: str) -> str:
    """Text for places without markdown (header, fallback, fact titles)."""
    text = _MENTION.sub(lambda m: m.group(2) or m.group(1), text)
    text = _CODE.sub(r"\1", text)
    return text.replace("**", "")


# --- size --------------------------------------------------------------------------


def _fit(card: dict[str, Any]) -> dict[str, Any]:
    """Keep the card under MAX_CARD_BYTES: drop trailing prose first, never the buttons."""
    if card_size(card) <= MAX_CARD_BYTES:
        return card
    body: list[dict[str, Any]] = card["body"]
    actions = [e for e in body if e["type"] == "ActionSet"]
    prose = [e for e in body if e["type"] != "ActionSet"]
    note = _text(_TRIMMED_NOTE, size="Small", isSubtle=True, wrap=True)
    while prose:
        card["body"] = [*prose, note, *actions]
        if card_size(card) <= MAX_CARD_BYTES:
            return card
        prose.pop()
    # Even the first element alone is too big: cut the fallback text down to size.
    budget = MAX_CARD_BYTES // 2
    card["fallbackText"] = card["fallbackText"][:500]
    card["body"] = [_text(card["fallbackText"][:budget], wrap=True), note, *actions]
    return card
