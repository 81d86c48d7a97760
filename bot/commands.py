"""Turns `/calendar …` text and messages to the bot into intents. Pure and deterministic.

Adapters hand over text with mentions in one neutral form: ``<@USER>``, ``<#CHANNEL>`` and
``<!subteam^GROUP>`` (each may carry ``|label``), the form Slack itself sends when the
command escapes them. Free text must match a known question; anything else is `unknown`,
so ordinary chat is never mistaken for a command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

IntentName = Literal[
    "connect",
    "disconnect",
    "status",
    "team",
    "home",
    "setup",
    "propose",
    "digest",
    "help",
    "unknown",
]
TargetKind = Literal["user", "channel", "usergroup"]


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    id: str
    label: str = ""


@dataclass(frozen=True)
class Intent:
    name: IntentName
    target: Target | None = None
    text: str = ""


_TOKEN = re.compile(r"<(@|#|!subteam\^)([A-Za-z0-9._:@+-]{1,128})(?:\|([^>]{0,128}))?>")
_KIND: dict[str, TargetKind] = {"@": "user", "#": "channel", "!subteam^": "usergroup"}
_BOT_MENTION = re.compile(r"^\s*<@[^>]+>\s*")

_COMMANDS: dict[str, IntentName] = {
    "connect": "connect",
    "reconnect": "connect",
    "link": "connect",
    "disconnect": "disconnect",
    "unlink": "disconnect",
    "status": "status",
    "team": "team",
    "report": "team",
    "help": "help",
    "home": "home",
}

_SYNCED = r"(?:synced|syncing|connected|linked|set up|sync(?:ed)? up)"
_NOT = r"(?:isn'?t|is not|aren'?t|are not|hasn'?t|has not|haven'?t|have not|not)"
_WHO_NOT = re.compile(
    rf"^(?:so\s+)?who(?:'s|s| is| are)?\s+{_NOT}\s+(?:yet\s+)?{_SYNCED}(?:\s+yet)?"
    r"(?:\s+(?:in|on|for|from|of)\s+(?P<where><[^>]+>|[^\s?.!]+))?\s*(?:yet)?\s*[?.!]*$",
    re.I,
)
_STATUS_OF = re.compile(
    r"^(?:what(?:'s| is) the\s+)?(?:sync\s+|connection\s+|calendar\s+)?status\s+(?:of|for)\s+"
    r"(?P<where><[^>]+>|[^\s?.!]+)\s*[?.!]*$",
    re.I,
)
_IS_CONNECTED = re.compile(
    rf"^(?:is|has)\s+(?P<who><[^>]+>|\S+)\s+(?:calendar\s+)?(?:got\s+)?{_SYNCED}(?:\s+yet)?\s*[?.!]*$",
    re.I,
)


def parse_target(token: str) -> Target | None:
    """One escaped mention (`<@U…|name>`, `<#C…|name>`, `<!subteam^S…|name>`), or None."""
    match = _TOKEN.fullmatch(token.strip())
    if not match:
        return None
    sigil, ident, label = match.groups()
    return Target(_KIND[sigil], ident, (label or "").lstrip("@#"))


def parse_command(text: str) -> Intent:
    """Text after `/calendar`: the first word names the command, or it is a question."""
    raw = text or ""
    cleaned = _BOT_MENTION.sub("", raw).strip()
    if cleaned.lower().startswith("/calendar"):
        cleaned = cleaned[len("/calendar") :].strip()
    if not cleaned:
        return Intent("help", text=raw)
    question = _question(cleaned, raw)
    if question is not None:
        return question
    words = cleaned.split()
    if words[0].lower() in {"propose", "digest"}:
        verb: IntentName = "propose" if words[0].lower() == "propose" else "digest"
        return Intent(verb, text=cleaned[len(words[0]) :].strip())
    if [w.lower() for w in words] == ["admin", "setup"]:
        return Intent("setup", text=raw)
    name = _COMMANDS.get(words[0].lower().strip(".!,?"))
    if name is None:
        return Intent("unknown", text=raw)
    target = parse_target(words[1]) if len(words) > 1 else None
    if len(words) > 2 or (len(words) == 2 and target is None):
        return Intent("unknown", text=raw)
    if name == "status" and target is not None and target.kind != "user":
        name = "team"
    return Intent(name, target, text=raw)


def parse_message(text: str) -> Intent:
    """A DM to the bot or a message that mentions it: a command word or a known question."""
    return parse_command(text)


def _question(cleaned: str, raw: str) -> Intent | None:
    if match := _WHO_NOT.match(cleaned):
        where = match.group("where")
        if where is None:
            return Intent("team", text=raw)
        target = parse_target(where)
        return Intent("team", target, text=raw) if target else Intent("unknown", text=raw)
    if match := _STATUS_OF.match(cleaned):
        target = parse_target(match.group("where"))
        if target is None:
            return Intent("unknown", text=raw)
        return Intent("status" if target.kind == "user" else "team", target, text=raw)
    if match := _IS_CONNECTED.match(cleaned):
        target = parse_target(match.group("who"))
        if target is not None and target.kind == "user":
            return Intent("status", target, text=raw)
    return None
