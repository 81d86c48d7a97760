"""Neutral forms ⇄ Slack modals (integrations/slack/forms.py), and the mock's views.* methods.

Every modal built here is parsed back with slack_sdk's `View` (its validators carry
Slack's limits) and checked by the mock's `views.open`, which applies the rules only
Slack's server knows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.forms import Form, FormField
from bot.propose_form import propose_form
from integrations.slack.forms import (
    MAX_ERROR,
    MAX_LABEL,
    MAX_MODAL_BLOCKS,
    MAX_TITLE,
    field_errors,
    form_values,
    modal_view,
)
from tests.fakes.mock_slack import MockSlack
from tests.fakes.slack_payloads import new_trigger_id, view_state

EVERY_KIND = Form(
    id="every-kind",
    title="A form with a title far longer than Slack allows",
    submit_label="Go",
    context="proposal:42",
    fields=(
        FormField(id="name", label="Name", required=True, placeholder="Jane", hint="Full name"),
        FormField(id="count", label="How many", kind="number", initial="3", min_value=1),
        FormField(id="day", label="Day", kind="date", initial="2026-03-02"),
        FormField(
            id="colour",
            label="Colour",
            kind="select",
            options=(("r", "Red"), ("g", "Green")),
            initial="g",
        ),
        FormField(id="people", label="People", kind="users", initial=["U2", "U3"]),
        FormField(id="note", label="L" * (MAX_LABEL + 50)),
    ),
)


def _valid(view: dict[str, Any]) -> None:
    assert View(**view).to_dict() == view
    assert len(view["title"]["text"]) <= MAX_TITLE
    assert len(view["blocks"]) <= MAX_MODAL_BLOCKS
    assert all(len(b["label"]["text"]) <= MAX_LABEL for b in view["blocks"])


def test_every_field_kind_becomes_its_slack_input() -> None:
    view = modal_view(EVERY_KIND)
    _valid(view)
    assert view["callback_id"] == "every-kind"
    assert view["private_metadata"] == "proposal:42"
    assert view["title"]["text"].endswith("…")
    elements = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert elements["name"]["type"] == "plain_text_input"
    assert elements["name"]["placeholder"]["text"] == "Jane"
    assert elements["count"] == {
        "action_id": "count",
        "type": "number_input",
        "is_decimal_allowed": False,
        "min_value": "1",
        "initial_value": "3",
    }
    assert elements["day"] == {
        "action_id": "day",
        "type": "datepicker",
        "initial_date": "2026-03-02",
    }
    assert elements["colour"]["type"] == "static_select"
    assert elements["colour"]["initial_option"]["value"] == "g"
    assert elements["people"] == {
        "action_id": "people",
        "type": "multi_users_select",
        "initial_users": ["U2", "U3"],
    }
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["name"]["optional"] is False and blocks["count"]["optional"] is True
    assert blocks["name"]["hint"]["text"] == "Full name"


def test_initial_values_slack_would_refuse_are_left_out() -> None:
    form = Form(
        id="f",
        title="T",
        fields=(
            FormField(id="n", label="N", kind="number", initial="500", max_value=240),
            FormField(id="x", label="X", kind="number", initial="4.5"),
            FormField(id="d", label="D", kind="date", initial="next week"),
            FormField(id="s", label="S", kind="select", options=(("a", "A"),), initial="zz"),
        ),
    )
    view = modal_view(form)
    _valid(view)
    for block in view["blocks"]:
        assert not {"initial_value", "initial_date", "initial_option"} & set(block["element"])


def test_the_propose_form_is_a_valid_modal() -> None:
    _valid(modal_view(propose_form("Asia/Kolkata", date(2026, 3, 27))))


@pytest.mark.parametrize(
    "form",
    [
        Form(id="f", title="T", fields=()),
        Form(id="f", title="T", fields=tuple(FormField(id=f"f{i}", label="x") for i in range(101))),
        Form(id="f", title="T", context="x" * 3001, fields=(FormField(id="a", label="A"),)),
        Form(id="f", title="T", fields=(FormField(id="s", label="S", kind="select"),)),
        Form(
            id="f",
            title="T",
            fields=(FormField(id="s", label="S", kind="select", options=(("v" * 151, "V"),)),),
        ),
    ],
    ids=["no fields", "101 fields", "long context", "no options", "long option value"],
)
def test_what_cant_be_shortened_without_changing_meaning_is_refused(form: Form) -> None:
    with pytest.raises(ValueError):
        modal_view(form)


def test_submitted_state_maps_back_to_form_values() -> None:
    view = modal_view(EVERY_KIND)
    state = view_state(view, {"name": "Ann", "count": "7", "note": None})
    assert form_values({"state": {"values": state}}) == {
        "name": "Ann",
        "count": "7",
        "day": "2026-03-02",
        "colour": "g",
        "people": ["U2", "U3"],
        "note": "",
    }


def test_malformed_state_is_skipped_not_fatal() -> None:
    crafted = {
        "state": {
            "values": {
                "a": "not a dict",
                "b": {},
                "c": {"c": {"type": "multi_users_select", "selected_users": "U1"}},
                "d": {"d": {"type": "static_select", "selected_option": None}},
                "e": {"e": {"type": "plain_text_input", "value": 12}},
                "f": {"other": {"type": "datepicker", "selected_date": None}},
            }
        }
    }
    assert form_values(crafted) == {"c": ["U1"], "d": "", "e": "12", "f": ""}
    assert form_values({"state": "nope"}) == {}
    assert form_values({}) == {}


def test_errors_go_under_input_blocks_only() -> None:
    view = modal_view(EVERY_KIND)
    errors = field_errors({"count": "Too many.", "whole": "Try later.", "name": "Who?"}, view)
    # Slack refuses an errors key that isn't an input block: loose ones join the first.
    assert errors == {"count": "Too many.", "name": "Try later. Who?"}
    (long,) = field_errors({"note": "x" * 500}, view).values()
    assert len(long) == MAX_ERROR and long.endswith("…")


async def test_mock_views_open_and_update_behave_like_slack() -> None:
    async with MockSlack.running() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        trigger = new_trigger_id()
        opened = await client.views_open(trigger_id=trigger, view=modal_view(EVERY_KIND))
        view_id, first_hash = opened["view"]["id"], opened["view"]["hash"]
        with pytest.raises(SlackApiError) as again:
            await client.views_open(trigger_id=trigger, view=modal_view(EVERY_KIND))
        assert again.value.response["error"] == "exchanged_trigger_id"

        no_submit = {**modal_view(EVERY_KIND)}
        no_submit.pop("submit")
        with pytest.raises(SlackApiError) as refused:
            await client.views_open(trigger_id=new_trigger_id(), view=no_submit)
        assert "must define submit" in str(refused.value.response["response_metadata"])

        shorter = modal_view(Form(id="every-kind", title="Done", fields=EVERY_KIND.fields[:1]))
        updated = await client.views_update(view_id=view_id, hash=first_hash, view=shorter)
        assert updated["view"]["id"] == view_id and len(updated["view"]["blocks"]) == 1
        with pytest.raises(SlackApiError) as stale:
            await client.views_update(view_id=view_id, hash=first_hash, view=shorter)
        assert stale.value.response["error"] == "hash_conflict"
        assert slack.modal_for(trigger) == slack.modals[view_id]
