"""The form card as pure functions: Form → Adaptive Card inputs, submitted data → FormValues."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.forms import Form, FormField
from bot.propose_form import propose_form
from integrations.teams.form_card import (
    FORM_VERB,
    PEOPLE_DATASET,
    executed_submission,
    render_form,
    submission_of,
    submitted_card,
)
from integrations.teams.render import MAX_CARD_BYTES, card_size

FORM = Form(
    id="demo",
    title="Demo",
    submit_label="Go",
    context="ctx-1",
    fields=(
        FormField(id="name", label="Name", required=True, placeholder="Jane", hint="Full name"),
        FormField(id="size", label="Size", kind="number", min_value=1, max_value=9, initial="3"),
        FormField(id="day", label="Day", kind="date", initial="2026-12-01"),
        FormField(id="color", label="Color", kind="select", options=(("r", "Red"), ("b", "Blue"))),
        FormField(id="people", label="People", kind="users", required=True),
    ),
)


def _inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in card["body"] if e["type"].startswith("Input.")}


def _data(card: dict[str, Any]) -> dict[str, Any]:
    return dict(card["actions"][0]["data"])


def test_each_field_kind_becomes_its_input() -> None:
    card = render_form(FORM)
    fields = _inputs(card)
    assert fields["field.name"] == {
        "id": "field.name",
        "label": "Name",
        "isRequired": True,
        "errorMessage": "This field is required.",
        "placeholder": "Jane",
        "type": "Input.Text",
    }
    assert fields["field.size"]["type"] == "Input.Number"
    assert (fields["field.size"]["min"], fields["field.size"]["max"]) == (1, 9)
    assert fields["field.size"]["value"] == 3
    assert fields["field.day"] == {
        "id": "field.day",
        "label": "Day",
        "type": "Input.Date",
        "value": "2026-12-01",
    }
    assert fields["field.color"]["choices"] == [
        {"title": "Red", "value": "r"},
        {"title": "Blue", "value": "b"},
    ]
    people = fields["field.people"]
    assert people["choices.data"] == {"type": "Data.Query", "dataset": PEOPLE_DATASET}
    assert people["isMultiSelect"] is True and people["choices"] == []
    assert "Full name" in [e.get("text") for e in card["body"]]
    (submit,) = card["actions"]
    assert submit["type"] == "Action.Submit" and submit["title"] == "Go"
    assert _data(card)["form_id"] == "demo" and _data(card)["context"] == "ctx-1"


def test_execute_kind_uses_the_calbot_submit_verb() -> None:
    (submit,) = render_form(FORM, actions="execute")["actions"]
    assert submit["type"] == "Action.Execute" and submit["verb"] == FORM_VERB


def test_submitted_values_map_to_form_values() -> None:
    data = _data(render_form(FORM))
    data.update({"field.name": " Ann ", "field.size": 4.0, "field.people": "a1, b2,,"})
    submission = submission_of(data)
    assert submission is not None and submission.form == FORM
    assert submission.values == {
        "name": " Ann ",
        "size": "4",
        "day": "",
        "color": "",
        "people": ["a1", "b2"],
    }


def test_an_action_execute_invoke_is_read_the_same_way() -> None:
    data = {**_data(render_form(FORM, actions="execute")), "field.people": "a1"}
    value = {"action": {"type": "Action.Execute", "verb": FORM_VERB, "data": data}}
    submission = executed_submission(value)
    assert submission is not None and submission.values["people"] == ["a1"]
    other = {"action": {"type": "Action.Execute", "verb": "propose.accept", "data": data}}
    assert executed_submission(other) is None


def test_other_data_is_not_a_form() -> None:
    data = _data(render_form(FORM))
    assert submission_of({"action_id": "propose.accept", "value": "1:2"}) is None
    assert submission_of({**data, "form_id": "other"}) is None
    assert submission_of({**data, "form": {"id": "demo"}}) is None
    assert submission_of("text") is None


def test_errors_are_shown_under_their_fields_with_the_values_kept() -> None:
    values: dict[str, str | list[str]] = {
        "name": "",
        "size": "12",
        "day": "2026-12-02",
        "color": "b",
        "people": ["a1"],
    }
    errors = {"size": "Between 1 and 9.", "people": "Nobody called a1.", "whole": "Try later."}
    card = render_form(FORM, values=values, errors=errors, names={"a1": "Ann Able"})
    fields = _inputs(card)
    assert fields["field.size"]["value"] == 12
    assert fields["field.size"]["errorMessage"] == "Between 1 and 9."
    assert fields["field.day"]["value"] == "2026-12-02"
    assert fields["field.color"]["value"] == "b"
    assert fields["field.people"]["value"] == "a1"
    assert fields["field.people"]["choices"] == [{"title": "Ann Able", "value": "a1"}]
    assert "value" not in fields["field.name"]
    order = [e.get("id") or e.get("text") for e in card["body"]]
    assert order.index("⚠ Between 1 and 9.") == order.index("field.size") + 1
    assert order[1] == "⚠ Please check the fields marked below. Try later."


def test_a_number_field_with_text_is_left_empty() -> None:
    card = render_form(FORM, values={"size": "lots"}, errors={"size": "A number, please."})
    assert "value" not in _inputs(card)["field.size"]


def test_the_propose_form_fits_and_the_sent_card_has_no_inputs() -> None:
    form = propose_form("Europe/London", date(2026, 11, 27))
    assert card_size(render_form(form)) < MAX_CARD_BYTES
    sent = submitted_card(form)
    assert not _inputs(sent) and "actions" not in sent
