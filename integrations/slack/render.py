"""Neutral `bot.messages.Message` → Slack Block Kit (plain dicts) and mrkdwn.

Plain dicts rather than `slack_sdk.models` objects: they serialise the same, cost
nothing to build, and the tests parse them back with `slack_sdk.models.blocks` to prove
they are well-formed. Slack's limits are enforced here so a long report degrades
(split, truncated with an ellipsis) instead of failing with `invalid_blocks`.
"""

from __future__ import annotations

import re
from typing import Any

from bot.messages import Actions, Button, Context, Divider, Fields, Header, Message, Section

MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100  # a Home tab view takes twice a message's blocks
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_TEXT = 2000
MAX_ACTIONS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_BUTTON_URL = 3000
MAX_ACTION_ID = 255
MAX_FALLBACK_TEXT = 4000

# Slack wants action ids unique within a message's blocks; a repeated neutral id gets
# "#<n>" appended here and `strip_action_suffix` removes it when the click comes back.
# "#" rather than ":" so neutral ids that end in ":<digits>" survive the round trip.
SUFFIX_SEP = "#"
_SUFFIX = re.compile(re.escape(SUFFIX_SEP) + r"\d+$")

_TOKENS = re.compile(
    r"(?P<code>`[^`\n]+`)"  # inline code: left exactly as written
    # <@U123>, <@U123|Alice>, <#C123|general>, <!subteam^S1|@team>: Slack syntax already
    r"|(?P<mention><(?:@|#|!)[^<>|\s]+(?:\|[^<>\n]*)?>)"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>[a-z][a-z0-9+.-]*://[^)\s]+)\)"  # [label](url)
    r"|\*\*(?P<bold>.+?)\*\*",  # **bold**
    re.IGNORECASE,
)


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(text: str) -> str:
    """The neutral Markdown subset → Slack mrkdwn.

    `**bold**` → `*bold*`, `[label](url)` → `<url|label>`; `_italic_`, inline code and
    `<@U123>` mentions pass through; any other `&`, `<`, `>` is escaped.
    """
    out: list[str] = []
    pos = 0
    for match in _TOKENS.finditer(text):
        out.append(escape(text[pos : match.start()]))
        if match.group("code") or match.group("mention"):
            out.append(match.group(0))
        elif match.group("url"):
            label = escape(match.group("label")).replace("|", "¦")
            out.append(f"<{_escape_url(match.group('url'))}|{label}>")
        else:
            out.append(f"*{to_mrkdwn(match.group('bold'))}*")
        pos = match.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def to_plain(text: str) -> str:
    """The neutral Markdown subset → plain text (headers and button labels)."""

    def plain(match: re.Match[str]) -> str:
        if match.group("code"):
            return match.group(0)[1:-1]
        if match.group("mention"):
            return match.group(0)
        if match.group("url"):
            return match.group("label")
        return to_plain(match.group("bold"))

    return _TOKENS.sub(plain, text)


def strip_action_suffix(action_id: str) -> str:
    """The neutral action id of a clicked Slack element (undoes the uniqueness suffix)."""
    return _SUFFIX.sub("", action_id)


def fallback_text(message: Message) -> str:
    """The `text` Slack shows in notifications and where blocks can't be rendered."""
    return truncate(to_mrkdwn(message.text), MAX_FALLBACK_TEXT) or " "


def render_blocks(message: Message, *, max_blocks: int = MAX_BLOCKS) -> list[dict[str, Any]]:
    """Block Kit blocks for a message: at most `max_blocks`, each within Slack's limits."""
    blocks: list[dict[str, Any]] = []
    used_ids: set[str] = set()
    button_index = 0
    for block in message.blocks:
        if isinstance(block, Header):
            text = truncate(to_plain(block.text).strip(), MAX_HEADER_TEXT)
            if text:
                blocks.append({"type": "header", "text": _plain(text)})
        elif isinstance(block, Section):
            blocks.extend(_section(chunk) for chunk in _chunks(to_mrkdwn(block.text)))
        elif isinstance(block, Fields):
            blocks.extend(_fields(block.items))
        elif isinstance(block, Actions):
            elements = []
            for button in block.buttons:
                elements.append(_button(button, button_index, used_ids))
                button_index += 1
            for start in range(0, len(elements), MAX_ACTIONS):
                chunk = elements[start : start + MAX_ACTIONS]
                blocks.append({"type": "actions", "elements": chunk})
        elif isinstance(block, Context):
            text = truncate(to_mrkdwn(block.text).strip(), MAX_CONTEXT_TEXT)
            if text:
                blocks.append({"type": "context", "elements": [_mrkdwn(text)]})
        elif isinstance(block, Divider):
            blocks.append({"type": "divider"})
    if not blocks:
        # chat.update keeps the old blocks when none are sent, so always send some.
        blocks = [_section(chunk) for chunk in _chunks(to_mrkdwn(message.text))]
        blocks = blocks or [_section("…")]  # Slack rejects empty text; an empty card is a bug
    if len(blocks) > max_blocks:
        blocks = _compact(blocks, max_blocks)
    if len(blocks) > max_blocks:
        blocks = [
            *blocks[: max_blocks - 1],
            {"type": "context", "elements": [_mrkdwn("_(message shortened: too long for Slack)_")]},
        ]
    return blocks


def _compact(blocks: list[dict[str, Any]], max_blocks: int) -> list[dict[str, Any]]:
    """Fewer blocks, same content, before anything is cut: every context line joins the
    section above it, then neighbouring plain sections merge until the blocks fit (each
    section within 3000 characters).

    A proposal offering 20 times (the most the form allows) renders 3 blocks per time
    and would otherwise lose its last times and its "None of these work" button.
    """
    folded: list[dict[str, Any]] = []
    for block in blocks:
        above = folded[-1] if folded else None
        if above is not None and _is_plain_section(above) and _is_text_context(block):
            joined = f"{above['text']['text']}\n{block['elements'][0]['text']}"
            if len(joined) <= MAX_SECTION_TEXT:
                folded[-1] = _section(joined)
                continue
        folded.append(block)
    if len(folded) <= max_blocks:
        return folded
    merged: list[dict[str, Any]] = []
    excess = len(folded) - max_blocks
    for block in folded:
        above = merged[-1] if merged else None
        if excess <= 0:
            merged.append(block)  # merge only as much as needed: sections read better apart
            continue
        if above is not None and _is_plain_section(above) and _is_plain_section(block):
            joined = f"{above['text']['text']}\n{block['text']['text']}"
            if len(joined) <= MAX_SECTION_TEXT:
                merged[-1] = _section(joined)
                excess -= 1
                continue
        merged.append(block)
    return merged


def _is_plain_section(block: dict[str, Any]) -> bool:
    return block["type"] == "section" and set(block) == {"type", "text"}


def _is_text_context(block: dict[str, Any]) -> bool:
    elements = block.get("elements") or []
    return block["type"] == "context" and len(elements) == 1 and elements[0]["type"] == "mrkdwn"


# --- pieces ---------------------------------------------------------------------------


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _chunks(text: str, limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Split long mrkdwn into section-sized pieces, at line breaks where possible."""
    text = text.strip()
    if not text:
        return []
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _fields(items: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    fields = [
        _mrkdwn(truncate(f"*{to_mrkdwn(label)}*\n{to_mrkdwn(value) or ' '}", MAX_FIELD_TEXT))
        for label, value in items
    ]
    return [
        {"type": "section", "fields": fields[start : start + MAX_FIELDS]}
        for start in range(0, len(fields), MAX_FIELDS)
    ]


def _button(button: Button, index: int, used_ids: set[str]) -> dict[str, Any]:
    action_id = button.action_id
    if action_id in used_ids:
        action_id = f"{action_id}{SUFFIX_SEP}{index}"
    if len(action_id) > MAX_ACTION_ID:
        # An id is how a click finds its handler: cutting it would misroute the click.
        raise ValueError(f"action_id longer than {MAX_ACTION_ID} characters: {action_id[:40]}…")
    used_ids.add(action_id)
    element: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": _plain(truncate(to_plain(button.label).strip() or "Open", MAX_BUTTON_TEXT)),
    }
    if button.value:
        if len(button.value) > MAX_BUTTON_VALUE:
            # Same reasoning: a truncated value would act on the wrong thing.
            raise ValueError(f"button value longer than {MAX_BUTTON_VALUE} characters")
        element["value"] = button.value
    if button.url:
        if len(button.url) > MAX_BUTTON_URL:
            raise ValueError(f"button url longer than {MAX_BUTTON_URL} characters")
        element["url"] = button.url
    if button.style:
        element["style"] = button.style
    return element


def _escape_url(url: str) -> str:
    # Inside <url|label> only these would end the link early.
    return url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def home_view(message: Message) -> dict[str, Any]:
    """The App Home tab for `views.publish` (up to 100 blocks; no fallback text there)."""
    return {"type": "home", "blocks": render_blocks(message, max_blocks=MAX_HOME_BLOCKS)}


def render(message: Message) -> dict[str, Any]:
    """`text` + `blocks` keyword arguments for chat.postMessage, chat.update and respond()."""
    return {"text": fallback_text(message), "blocks": render_blocks(message)}
