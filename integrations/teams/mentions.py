"""Teams ``<at>Name</at>`` mentions in a message → the core's neutral text.

Teams writes a mention as ``<at>Name</at>`` in ``activity.text`` and names the person in
a ``mention`` entity (``mentioned.id`` = their ``29:`` id). The core's parser expects
``<@ID|label>`` tokens, with calbot's user id (the Entra object id) as ID. The bot's
own mention is dropped; a person whose object id could not be found keeps their plain
name, so the question reads as unknown rather than being answered about someone else.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botbuilder.schema import Activity


@dataclass(frozen=True)
class Mention:
    text: str  # exactly as in activity.text, e.g. "<at>Alice Example</at>"
    teams_id: str  # mentioned.id: "29:…" for people, "28:…" for bots, "19:…" for tags
    name: str
    aad_object_id: str | None = None  # present in some payloads; else looked up


def mentions_of(activity: Activity) -> list[Mention]:
    found: list[Mention] = []
    for entity in activity.entities or []:
        if (getattr(entity, "type", "") or "").lower() != "mention":
            continue
        props: dict[str, Any] = getattr(entity, "additional_properties", None) or {}
        mentioned = props.get("mentioned") or {}
        text, teams_id = props.get("text"), mentioned.get("id")
        if not isinstance(text, str) or not text or not isinstance(teams_id, str):
            continue
        name = mentioned.get("name") or _inner(text)
        aad = mentioned.get("aadObjectId")
        found.append(Mention(text, teams_id, str(name), aad if isinstance(aad, str) else None))
    return found


def is_person(mention: Mention, bot_id: str | None) -> bool:
    """Users only: not the bot itself, other bots (28:), tags, channels or teams (19:)."""
    return mention.teams_id != bot_id and mention.teams_id.startswith(("29:", "8:orgid:"))


def neutral_text(
    text: str, mentions: list[Mention], aad_ids: Mapping[str, str], bot_id: str | None
) -> str:
    """``text`` with people as ``<@aad|Name>``, the bot's mention removed, HTML unescaped.

    ``aad_ids`` maps a mention's Teams id to the person's Entra object id; other
    mentions (tags, channels, people we could not resolve) keep their plain name.
    Entity texts are replaced as whole strings, so only what Teams marked as a mention
    is converted, never a name the user happened to type.
    """
    replacements: dict[str, str] = {}
    for mention in mentions:
        aad = aad_ids.get(mention.teams_id)
        if mention.teams_id == bot_id:
            replacements[mention.text] = ""
        elif aad:
            replacements[mention.text] = f"<@{aad}|{_label(mention.name)}>"
        else:
            replacements.setdefault(mention.text, _label(mention.name))
    if not replacements:
        return " ".join(_typed(text).split())
    longest_first = sorted(replacements, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(t) for t in longest_first))
    parts: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        parts.append(_typed(text[position : match.start()]))
        parts.append(f" {replacements[match.group(0)]} ")
        position = match.end()
    parts.append(_typed(text[position:]))
    return " ".join("".join(parts).split())


def _typed(text: str) -> str:
    """What the user typed, as plain text. Angle brackets go: a ``<@…>`` token must only
    ever come from a mention Teams vouched for, never from text that looks like one."""
    return html.unescape(text).replace("<", " ").replace(">", " ")


def _inner(text: str) -> str:
    return re.sub(r"</?at>", "", text)


def _label(name: str) -> str:
    """A label the core's token grammar accepts: no '>' or '|', at most 128 characters."""
    clean = html.unescape(name).replace(">", "").replace("<", "").replace("|", " ")
    return " ".join(clean.split())[:128]
