"""Neutral ``bot.forms.Form`` ⇄ an Adaptive Card 1.5 with inputs. Pure, no SDK.

Teams has no modal for bots outside task modules, so a form is a card: one ``Input.*``
per field and one submit button. Pressing it sends the button's ``data`` merged with
every input's value, as a message (``Action.Submit``) or an ``adaptiveCard/action``
invoke (``Action.Execute``, verb ``calbot.submit``); ``submission_of`` reads either.

The button's data carries the form definition itself. Neither path sends the card
back, and the core has no registry of open forms, so this is how a submission with
errors can be shown again exactly as it was, with nothing stored between the two
turns. A client could alter it, but only to change how its own form looks: every value
is still validated by the core.

Input ids are prefixed so no field id can collide with the button's own data keys
(``form_id``, ``action_id`` …), which Teams merges into the same object.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bot.forms import Form, FormErrors, FormField, FormValues
from integrations.teams.render import SCHEMA_URL, ActionKind, plain_text

FORM_VERB = "calbot.submit"
INPUT_PREFIX = "field."
# Teams' people picker: an Input.ChoiceSet whose choices come from the organisation's
# directory. It answers with Entra object ids, comma-separated: the ids calbot keys
# Teams users by.
PEOPLE_DATASET = "graph.microsoft.com/users"
_REQUIRED = "This field is required."


@dataclass(frozen=True)
class Submission:
    """A submitted form: its definition (from the button) and the values, core-shaped."""

    form: Form
    values: FormValues


def input_id(field: FormField) -> str:
    return f"{INPUT_PREFIX}{field.id}"


# --- rendering -----------------------------------------------------------------------


def render_form(
    form: Form,
    *,
    values: FormValues | None = None,
    errors: FormErrors | None = None,
    names: Mapping[str, str] | None = None,
    actions: ActionKind = "submit",
    fallback: str = "",
) -> dict[str, Any]:
    """The card for ``form``; with ``values`` and ``errors``, as submitted and marked.

    ``names`` maps user ids in a people field to display names, so people already
    picked show as names (the picker only resolves ids it was given as choices).
    """
    errors = errors or {}
    names = names or {}
    title = {"type": "TextBlock", "text": plain_text(form.title), "size": "Large"}
    body: list[dict[str, Any]] = [{**title, "weight": "Bolder", "wrap": True}]
    if errors:
        known = {f.id for f in form.fields}
        # Errors for no field of this form (the core may judge the whole submission).
        loose = [message for key, message in errors.items() if key not in known]
        summary = "Please check the fields marked below."
        body.append(_warning(" ".join([summary, *loose]) if loose else summary))
    for field in form.fields:
        value = values.get(field.id) if values is not None and field.id in values else None
        shown = field.initial if value is None else value
        body.append(_input(field, shown, errors.get(field.id), names))
        if field.hint:
            body.append(_small(field.hint))
        if field.id in errors:
            body.append(_warning(errors[field.id]))
    return {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": "1.5",
        "fallbackText": plain_text(fallback or form.title),
        "body": body,
        "actions": [_submit(form, actions)],
        "msteams": {"width": "Full"},
    }


def submitted_card(form: Form, note: str = "Sent. My answer is below.") -> dict[str, Any]:
    """What the form turns into once the core has accepted it: no inputs left to resend."""
    return {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": "1.5",
        "fallbackText": f"{plain_text(form.title)}: {note}",
        "body": [
            {"type": "TextBlock", "text": plain_text(form.title), "weight": "Bolder", "wrap": True},
            {"type": "TextBlock", "text": f"✅ {note}", "wrap": True},
        ],
        "msteams": {"width": "Full"},
    }


def _input(
    field: FormField, shown: str | list[str] | None, error: str | None, names: Mapping[str, str]
) -> dict[str, Any]:
    element: dict[str, Any] = {"id": input_id(field), "label": field.label}
    if field.required:
        element["isRequired"] = True
    if field.required or error:
        # Shown by the client when its own check fails (empty, out of range); the
        # core's message, when there is one, is the more precise.
        element["errorMessage"] = error or _REQUIRED
    if field.placeholder:
        element["placeholder"] = field.placeholder
    if field.kind == "number":
        element["type"] = "Input.Number"
        if field.min_value is not None:
            element["min"] = field.min_value
        if field.max_value is not None:
            element["max"] = field.max_value
        number = _number(_one(shown))
        if number is not None:
            element["value"] = number
    elif field.kind == "date":
        element["type"] = "Input.Date"
        if _one(shown):
            element["value"] = _one(shown)
    elif field.kind == "select":
        element.update(
            type="Input.ChoiceSet",
            style="compact",
            choices=[{"title": label, "value": value} for value, label in field.options],
        )
        if _one(shown):
            element["value"] = _one(shown)
    elif field.kind == "users":
        picked = _ids(shown)
        element.update(
            type="Input.ChoiceSet",
            isMultiSelect=True,
            # The picked people as static choices: the picker shows a preset value by
            # the title of its choice, so a re-shown form keeps names, not ids.
            choices=[{"title": names.get(uid) or uid, "value": uid} for uid in picked],
        )
        element["choices.data"] = {"type": "Data.Query", "dataset": PEOPLE_DATASET}
        if picked:
            element["value"] = ",".join(picked)
    else:
        element["type"] = "Input.Text"
        if _one(shown):
            element["value"] = _one(shown)
    return element


def _submit(form: Form, kind: ActionKind) -> dict[str, Any]:
    data = {"form_id": form.id, "context": form.context, "form": form.model_dump(mode="json")}
    if kind == "execute":
        return {
            "type": "Action.Execute",
            "title": form.submit_label,
            "verb": FORM_VERB,
            "data": data,
            "style": "positive",
        }
    return {"type": "Action.Submit", "title": form.submit_label, "data": data, "style": "positive"}


def _warning(text: str) -> dict[str, Any]:
    return {
        "type": "TextBlock",
        "text": f"⚠ {text}",
        "color": "Attention",
        "size": "Small",
        "spacing": "None",
        "wrap": True,
    }


def _small(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "size": "Small", "isSubtle": True, "wrap": True}


# --- reading a submission ---------------------------------------------------------------


def submission_of(data: Any) -> Submission | None:
    """The form submitted by an Action.Submit's ``value`` or an Action.Execute's ``data``.

    None when ``data`` is not one of our form buttons (e.g. an ordinary card button).
    """
    if not isinstance(data, dict) or not isinstance(data.get("form_id"), str):
        return None
    try:
        form = Form.model_validate(data.get("form"))
    except ValidationError:
        return None
    if form.id != data["form_id"]:
        return None
    return Submission(form, {f.id: _value(f, data.get(input_id(f))) for f in form.fields})


def executed_submission(value: Any) -> Submission | None:
    """The form submitted by an ``adaptiveCard/action`` invoke, if it is one."""
    action = value.get("action") if isinstance(value, dict) else None
    if not isinstance(action, dict) or action.get("type") != "Action.Execute":
        return None
    if action.get("verb") != FORM_VERB:
        return None
    return submission_of(action.get("data"))


def _value(field: FormField, raw: Any) -> str | list[str]:
    if field.kind == "users":
        return _ids(raw)
    return _scalar(raw)


def _ids(raw: Any) -> list[str]:
    """The people picker answers "id1,id2"; a preset value or a list arrives as is."""
    items = raw if isinstance(raw, list) else str(raw or "").split(",")
    return [text for text in (_scalar(item).strip() for item in items) if text]


def _scalar(raw: Any) -> str:
    """Inputs arrive as strings from Teams, but a client may send a number for
    Input.Number; ``30.0`` must reach the core as ``"30"``."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _one(shown: str | list[str] | None) -> str:
    if isinstance(shown, list):
        return shown[0] if shown else ""
    return shown or ""


def _number(text: str) -> int | float | None:
    """A number for Input.Number's ``value``; None for text that is not one (the field
    is then left empty and its error says why)."""
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number
