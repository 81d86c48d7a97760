"""Turns `/calendar …` text and plain chat messages into intents. Pure and deterministic."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

IntentName = Literal["connect", "disconnect", "status", "help", "unknown"]

_WORDS: dict[str, IntentName] = {
    "connect": "connect",
    "link": "connect",
    "reconnect": "connect",
    "disconnect": "disconnect",
    "unlink": "disconnect",
    "status": "status",
    "help": "help",
    "?": "help",
}

_MENTION = re.compile(r"<@[^>]+>|<at>[^<]*</at>")


@dataclass(frozen=True)
class Intent:
    name: IntentName
    args: tuple[str, ...] = field(default_factory=tuple)
    text: str = ""


def parse_command(text: str) -> Intent:
    """Parse the text after `/calendar` (or a DM to the bot, or an @mention)."""
    cleaned = _MENTION.sub(" ", text or "").strip()
    if cleaned.startswith("/calendar"):
        cleaned = cleaned[len("/calendar") :].strip()
    if not cleaned:
        return Intent("help", text=text)
    words = cleaned.split()
    first = words[0].lower().strip(".!,")
    name = _WORDS.get(first, "unknown")
    return Intent(name, tuple(words[1:]), text=text)
