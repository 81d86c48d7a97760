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
# Ids Teams accepts in a card's mention entity: the Entra object id (what calbot keys
# users by), the bot-scoped "29:" id, or the "8:orgid:" form of the object id.
_TEAMS_USER = re.compile(
    r"(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|29:[^\s]+|8:orgid:[0-9a-fA-F-]{36})"
)
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

    ``names`` maps user ids in ``<@id>`` mentions to display names; a named id becomes a
    real Teams mention (``<at>`` text plus the card's mention entity), any other token
    its label or id as plain text. By default (``names=None``) every token that carries
    a label and a Teams user id (Entra object id, ``29:…`` or ``8:orgid:…``) is named,
    which is how the core writes people in reports. ``actions="execute"`` renders
    buttons as Universal Actions (``Action.Execute``, an ``adaptiveCard/action`` invoke)
    instead of ``Action.Submit`` (a message activity carrying ``value``); calbot
    handles both.

    Mention entities cost ~150 bytes a person: a card that would be too big with them
    shows the same people as **bold** names instead, before anything is left out.
    """
    named = mentionable(message) if names is None else dict(names)
    card = _build(message, named, actions, mention=True)
    if named and card_size(card) > MAX_CARD_BYTES:
        card = _build(message, named, actions, mention=False)
    return _fit(card)


def mentionable(message: Message) -> dict[str, str]:
    """``{user id: label}`` for the labelled people tokens in ``message`` Teams can mention."""
    texts = [message.text]
    for block in message.blocks:
        if isinstance(block, Section | Context):
            texts.append(block.text)
        elif isinstance(block, Fields):
            texts.extend(value for _, value in block.items)
    found: dict[str, str] = {}
    for text in texts:
        for match in _MENTION.finditer(text):
            uid, label = match.group(1), (match.group(2) or "").strip()
            if label and _TEAMS_USER.fullmatch(uid):
                found.setdefault(uid, label)
    return found


def _build(
    message: Message, names: Mapping[str, str], kind: ActionKind, *, mention: bool
) -> dict[str, Any]:
    people = _People(names, mention)
    body: list[dict[str, Any]] = []
    separate = False
    for block in message.blocks:
        if isinstance(block, Divider):
            separate = True
            continue
        element = _element(block, people, kind)
        if element is None:
            continue
        if separate:
            element.update(separator=True, spacing="Medium")
            separate = False
        body.append(element)
    if not body:
        body.append(_text(_markdown(message.text, people), wrap=True))
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": "1.5",
        "fallbackText": plain_text(message.text),
        "body": body,
        "msteams": {"width": "Full"},
    }
    if people.entities:
        card["msteams"]["entities"] = people.entities
    return card


def attachment(card: dict[str, Any]) -> dict[str, Any]:
    """The activity attachment for a card (no CardFactory needed)."""
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def card_size(card: dict[str, Any]) -> int:
    return len(json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode())


# --- blocks ------------------------------------------------------------------------


def _element(block: object, people: _People, kind: ActionKind) -> dict[str, Any] | None:
    if isinstance(block, Header):
        return _text(plain_text(block.text), size="Large", weight="Bolder", wrap=True)
    if isinstance(block, Section):
        return _text(_markdown(block.text, people), wrap=True)
    if isinstance(block, Context):
        return _text(_markdown(block.text, people), size="Small", isSubtle=True, wrap=True)
    if isinstance(block, Fields):
        facts = [
            {"title": plain_text(label), "value": _markdown(value, people)}
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


class _People:
    """How people tokens render in one card, and the mention entities behind them."""

    def __init__(self, names: Mapping[str, str], mention: bool) -> None:
        self._names = names
        self._mention = mention
        self._by_text: dict[str, str] = {}  # "<at>Name</at>" → user id
        self.entities: list[dict[str, Any]] = []

    def render(self, uid: str, label: str | None) -> str:
        name = _clean_name(self._names.get(uid) or label or "")
        if not name:
            return uid
        if uid not in self._names:
            return name
        at = f"<at>{name}</at>"
        owner = self._by_text.get(at)
        # Teams pairs each <at> text with its entity by the text alone, so two people
        # with the same name can't both be mentions: the second one is shown in bold.
        if not self._mention or (owner is not None and owner != uid):
            return f"**{name}**"
        if owner is None:
            self._by_text[at] = uid
            self.entities.append(
                {"type": "mention", "text": at, "mentioned": {"id": uid, "name": name}}
            )
        return at


def _markdown(text: str, people: _People) -> str:
    text = _MENTION.sub(lambda m: people.render(m.group(1), m.group(2)), text)
    # Adaptive Card markdown has no inline code: show the command itself.
    text = _CODE.sub(r"\1", text)
    # A single newline is not a line break in Adaptive Card markdown; a blank line is.
    return re.sub(r"\n+", "\n\n", text)


def plain_text(text: str) -> str:
    """Text for places without markdown (header, fallback, fact titles, summaries)."""
    text = _MENTION.sub(lambda m: m.group(2) or m.group(1), text)
    text = _CODE.sub(r"\1", text)
    return text.replace("**", "")


def _clean_name(name: str) -> str:
    """A display name as card text: no markup that could end the <at> tag or the bold."""
    return " ".join(name.replace("<", "").replace(">", "").replace("*", "").split())


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
