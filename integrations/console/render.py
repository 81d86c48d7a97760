"""Neutral message → plain terminal text, with buttons numbered for pressing."""

from __future__ import annotations

import re

from bot.messages import Actions, Button, Context, Divider, Fields, Header, Message, Section

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
_MENTION = re.compile(r"<@([^>|]+)(?:\|([^>]*))?>")


def plain(text: str) -> str:
    text = _BOLD.sub(r"\1", text)
    text = _LINK.sub(r"\1 <\2>", text)
    return _MENTION.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)


def render(message: Message, *, first_button: int = 1) -> str:
    lines: list[str] = []
    number = first_button
    for block in message.blocks:
        if isinstance(block, Header):
            lines.append(f"== {plain(block.text)} ==")
        elif isinstance(block, Section):
            lines.append(plain(block.text))
        elif isinstance(block, Fields):
            lines.extend(f"  {label}: {plain(value)}" for label, value in block.items)
        elif isinstance(block, Context):
            lines.append(f"  ({plain(block.text)})")
        elif isinstance(block, Divider):
            lines.append("  ----")
        elif isinstance(block, Actions):
            lines.append(
                "  " + "  ".join(_button(b, number + i) for i, b in enumerate(block.buttons))
            )
            number += len(block.buttons)
    return "\n".join(lines) if lines else plain(message.text)


def _button(button: Button, number: int) -> str:
    suffix = " ↗" if button.url else ""
    return f"[{number}] {button.label}{suffix}"
