"""The neutral message model: one card definition, rendered by each chat adapter.

Text uses a small Markdown subset every renderer understands: ``**bold**``,
``_italic_``, ``[label](https://url)`` and ``<@user_id>`` mentions. Adapters translate it
to Slack mrkdwn, Adaptive Card markdown or plain console text. No use case builds
Block Kit or Adaptive Card JSON itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.forms import Form


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Button(_Frozen):
    """A button: either an action the bot handles (``action_id`` + ``value``) or a link."""

    label: str
    action_id: str
    value: str = ""
    url: str | None = None
    style: Literal["primary", "danger"] | None = None


class Header(_Frozen):
    kind: Literal["header"] = "header"
    text: str


class Section(_Frozen):
    kind: Literal["section"] = "section"
    text: str


class Fields(_Frozen):
    """Label/value pairs shown side by side where the platform can."""

    kind: Literal["fields"] = "fields"
    items: tuple[tuple[str, str], ...]


class Actions(_Frozen):
    kind: Literal["actions"] = "actions"
    buttons: tuple[Button, ...]


class Context(_Frozen):
    """Small print under the main content."""

    kind: Literal["context"] = "context"
    text: str


class Divider(_Frozen):
    kind: Literal["divider"] = "divider"


Block = Annotated[
    Header | Section | Fields | Actions | Context | Divider, Field(discriminator="kind")
]


class Message(_Frozen):
    """A chat message. ``text`` is the plain fallback used for notifications.

    With ``form``, the adapter opens that form (a Slack modal, a Teams card with inputs,
    console prompts) instead of, or next to, showing the blocks.
    """

    text: str
    blocks: tuple[Block, ...] = ()
    form: Form | None = None

    def buttons(self) -> list[Button]:
        return [b for block in self.blocks if isinstance(block, Actions) for b in block.buttons]

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, raw: str) -> Message:
        return cls.model_validate_json(raw)


def simple(text: str) -> Message:
    """A one-paragraph message."""
    return Message(text=text, blocks=(Section(text=text),))
