"""Neutral ``bot.forms.Form`` ⇄ a Slack modal. Pure: no I/O, no SDK calls.

One ``input`` block per field; its ``block_id`` *and* its element's ``action_id`` are the
field id, so a submission's ``view.state.values`` maps straight back to field ids and
the core's ``{field id: message}`` errors are already ``response_action: errors`` keys.
The modal's ``callback_id`` is the form id (that is how a submission finds its form)
and ``private_metadata`` carries the form's context untouched.

Plain dicts, as in render.py; the tests parse every modal back with slack_sdk's
``View`` so Slack's limits are checked there. Limits are applied here so a long label
degrades (truncated) instead of failing ``views.open``; what can't be cut without
changing its meaning (an option value, the context, too many fields) raises ValueError
and the caller shows the form's fallback text instead.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.forms import Form, FormErrors, FormField, FormValues
from integrations.slack.render import truncate

MAX_MODAL_BLOCKS = 100
MAX_TITLE = 24  # title, submit and close labels alike
MAX_LABEL = 2000
MAX_HINT = 2000
MAX_PLACEHOLDER = 150
MAX_TEXT_VALUE = 3000  # plain_text_input's own max_length ceiling
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255
# Slack documents no limit for a field error; one readable line is what fits under a field.
MAX_ERROR = 300
CLOSE_LABEL = "Cancel"


def modal_view(form: Form) -> dict[str, Any]:
    """The ``views.open`` view for ``form``."""
    if not form.fields:
        raise ValueError("a form needs at least one field")  # an empty modal can't submit
    if len(form.fields) > MAX_MODAL_BLOCKS:
        raise ValueError(f"a modal holds at most {MAX_MODAL_BLOCKS} blocks")
    if len(form.context) > MAX_PRIVATE_METADATA:
        raise ValueError(f"form context longer than {MAX_PRIVATE_METADATA} characters")
    if not form.id or len(form.id) > MAX_CALLBACK_ID:
        raise ValueError("form id must be 1 to 255 characters")
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": form.id,
        "title": _plain(truncate(form.title.strip() or "calbot", MAX_TITLE)),
        "submit": _plain(truncate(form.submit_label.strip() or "Submit", MAX_TITLE)),
        "close": _plain(CLOSE_LABEL),
        "blocks": [_input_block(field) for field in form.fields],
    }
    if form.context:
        view["private_metadata"] = form.context
    return view


def _input_block(field: FormField) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": field.id,
        "label": _plain(truncate(field.label.strip() or field.id, MAX_LABEL)),
        "element": _element(field),
        "optional": not field.required,
    }
    if field.hint:
        block["hint"] = _plain(truncate(field.hint, MAX_HINT))
    return block


def _element(field: FormField) -> dict[str, Any]:
    element: dict[str, Any] = {"action_id": field.id}
    initial = _one(field.initial)
    if field.kind == "number":
        # Whole numbers only; Slack itself refuses text and out-of-range numbers, the
        # core checks again (a crafted payload skips the client).
        element.update(type="number_input", is_decimal_allowed=False)
        if field.min_value is not None:
            element["min_value"] = str(field.min_value)
        if field.max_value is not None:
            element["max_value"] = str(field.max_value)
        if _whole_number_in_range(initial, field):
            element["initial_value"] = initial
    elif field.kind == "date":
        element["type"] = "datepicker"
        if _iso_date(initial):
            element["initial_date"] = initial
    elif field.kind == "select":
        element.update(type="static_select", options=_options(field))
        chosen = next((o for o in element["options"] if o["value"] == initial), None)
        if chosen is not None:
            element["initial_option"] = chosen
    elif field.kind == "users":
        # Returns Slack user ids: exactly the ids the core keys Slack people by.
        element["type"] = "multi_users_select"
        picked = _ids(field.initial)
        if picked:
            element["initial_users"] = picked
    else:
        element["type"] = "plain_text_input"
        if initial and len(initial) <= MAX_TEXT_VALUE:
            element["initial_value"] = initial
    if field.placeholder:  # every element kind used here takes one
        element["placeholder"] = _plain(truncate(field.placeholder, MAX_PLACEHOLDER))
    return element


def _options(field: FormField) -> list[dict[str, Any]]:
    if not field.options:
        raise ValueError(f"select field {field.id!r} has no options")
    if len(field.options) > MAX_OPTIONS:
        raise ValueError(f"select field {field.id!r} has more than {MAX_OPTIONS} options")
    options = []
    for value, label in field.options:
        if not value or len(value) > MAX_OPTION_VALUE:
            # A cut value would submit something else than what was shown.
            raise ValueError(f"option value of {field.id!r} must be 1 to 150 characters")
        text = truncate(label.strip() or value, MAX_OPTION_TEXT)
        options.append({"text": _plain(text), "value": value})
    return options


# --- reading a submission ---------------------------------------------------------------


def form_values(view: dict[str, Any]) -> FormValues:
    """``view.state.values`` of a ``view_submission`` → the core's ``FormValues``.

    Keyed by block id (= field id). People pickers give a list of user ids, everything
    else a string ("" when left empty). Anything malformed is skipped: the core reports
    a missing required field itself.
    """
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict):
        return {}
    result: FormValues = {}
    for block_id, actions in values.items():
        if not isinstance(actions, dict) or not actions:
            continue
        # Our blocks hold one element whose action_id is the field id; prefer it.
        raw = actions.get(block_id)
        if raw is None:
            raw = next(iter(actions.values()))
        if isinstance(raw, dict):
            result[str(block_id)] = _value_of(raw)
    return result


def _value_of(raw: dict[str, Any]) -> str | list[str]:
    kind = raw.get("type")
    if kind == "multi_users_select":
        return _ids(raw.get("selected_users"))
    if kind == "users_select":
        return _ids([raw.get("selected_user")])
    if kind == "datepicker":
        return _text(raw.get("selected_date"))
    if kind in ("static_select", "radio_buttons"):
        option = raw.get("selected_option")
        return _text(option.get("value")) if isinstance(option, dict) else ""
    if kind == "multi_static_select":
        options = raw.get("selected_options")
        if not isinstance(options, list):
            return []
        return [_text(o.get("value")) for o in options if isinstance(o, dict) and o.get("value")]
    return _text(raw.get("value"))


def field_errors(errors: FormErrors, view: dict[str, Any]) -> dict[str, str]:
    """The core's errors as ``response_action: errors`` wants them: {input block_id: text}.

    Slack refuses the whole response when a key is not an input block of the view, so
    an error for no field of this modal (the core judging the submission as a whole) is
    shown under the first input instead of being lost.
    """
    inputs = [
        str(b["block_id"])
        for b in view.get("blocks") or []
        if isinstance(b, dict) and b.get("type") == "input" and b.get("block_id")
    ]
    shown: dict[str, str] = {}
    loose: list[str] = []
    for key, message in errors.items():
        if key in inputs:
            shown[key] = message
        else:
            loose.append(message)
    if loose and inputs:
        first = inputs[0]
        shown[first] = " ".join([*loose, shown[first]] if first in shown else loose)
    return {key: truncate(text, MAX_ERROR) for key, text in shown.items()}


# --- pieces ---------------------------------------------------------------------------


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _one(value: str | list[str] | None) -> str:
    if isinstance(value, list):
        return value[0] if value else ""
    return value or ""


def _ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if isinstance(item, str) and item]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10  # fromisoformat also takes "20261201"; Slack wants YYYY-MM-DD


def _whole_number_in_range(text: str, field: FormField) -> bool:
    """Slack refuses a number_input whose initial value is not a number it would accept."""
    try:
        number = int(text)
    except ValueError:
        return False
    low, high = field.min_value, field.max_value
    return (low is None or number >= low) and (high is None or number <= high)
