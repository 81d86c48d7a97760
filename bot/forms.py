"""Neutral forms: a Slack modal, a Teams Adaptive Card with inputs, or console prompts.

A command that needs several answers returns a `Form`; the adapter shows it and hands
the submitted values back to `Bot.submit(actor, form_id, values)`. Field errors come
back as {field id: message} and the adapter shows them next to the fields.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

FieldKind = Literal["text", "number", "users", "date", "select"]


class FormField(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    kind: FieldKind = "text"
    required: bool = False
    placeholder: str = ""
    hint: str = ""
    initial: str | list[str] | None = None
    # For "select": (value, label) pairs.
    options: tuple[tuple[str, str], ...] = ()
    min_value: int | None = None
    max_value: int | None = None


class Form(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    submit_label: str = "Submit"
    fields: tuple[FormField, ...]
    # Carried through the platform untouched (e.g. a proposal id when editing).
    context: str = ""

    def to_json(self) -> str:
        return self.model_dump_json()


FormValues = dict[str, str | list[str]]
FormErrors = dict[str, str]
