"""`/calendar propose` on Slack, end to end over the wire.

Signed requests through the real bolt app, the mock Slack Web API and the in-process
Cronofy sandbox: the command opens a modal (`views.open`), its `view_submission` is
answered with field errors or closes it, the offers go to each interviewer's DM
through the outbox, the answers are `block_actions`, the booking lands in the sandbox
calendars and every card is edited in place (`chat.update`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import ClientResponse
from slack_sdk.models.views import View

from bot.slots.display import format_slot
from integrations.slack.forms import MAX_LABEL, MAX_MODAL_BLOCKS, MAX_TITLE
from tests.fakes.mock_slack import MockSlack, PostedMessage, validate_blocks
from tests.fakes.slack_payloads import (
    FORM,
    block_actions_body,
    command_body,
    new_trigger_id,
    view_submission_body,
)
from tests.integrations.slack.conftest import ALICE, Calbot

BOB, CAROL, DAN = "U2", "U3", "U4"
EMAILS = {BOB: "bob@contoso.com", CAROL: "carol@contoso.com", DAN: "dan@contoso.com"}
BOB_TZ, CAROL_TZ = "America/New_York", "Europe/Berlin"


# --- helpers ------------------------------------------------------------------------------


def _people(slack: MockSlack) -> None:
    """Bob (already in the workspace) in New York, Carol in Berlin, Dan in Paris."""
    slack.users[BOB].tz = BOB_TZ
    slack.add_user(CAROL, name="carol", real_name="Carol Chen", email=EMAILS[CAROL], tz=CAROL_TZ)
    slack.add_user(DAN, name="dan", real_name="Dan Dubois", email=EMAILS[DAN], tz="Europe/Paris")


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _text(blocks: list[dict[str, Any]]) -> str:
    """Everything a reader sees in the blocks, one line per text."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            lines.append(block["text"]["text"])
        for element in block.get("elements") or []:
            if element.get("type") in ("mrkdwn", "plain_text"):
                lines.append(element["text"])
    return "\n".join(lines)


async def _connect_for_real(calbot: Calbot, user: str) -> None:
    """`/calendar connect`, the link DM, consent at the sandbox, the callback."""
    await calbot.command("connect", user_id=user)
    await calbot.idle()
    await calbot.runtime.outbox.drain()
    link = next(
        b["url"]
        for m in reversed(calbot.slack.dms_to(user))
        for b in _buttons(m.blocks)
        if b.get("url")
    )
    opened = await calbot.client.get(urlsplit(link).path, allow_redirects=False)
    assert opened.status == 302
    async with (
        aiohttp.ClientSession() as browser,
        browser.post(
            f"{calbot.runtime.sandbox.url}/_sandbox/approve",
            json={
                "authorize_url": opened.headers["Location"],
                "email": EMAILS[user],
                "decision": "approve",
            },
        ) as approved,
    ):
        assert approved.status == 200, await approved.text()
        location = (await approved.json())["location"]
    parts = urlsplit(location)
    page = await calbot.client.get(f"{parts.path}?{parts.query}")
    assert page.status == 200, await page.text()
    await calbot.idle()
    await calbot.runtime.outbox.drain()


async def _panel(calbot: Calbot) -> None:
    _people(calbot.slack)
    for person in (BOB, CAROL):
        await _connect_for_real(calbot, person)
    calbot.slack.reset_calls()


async def _open_form(calbot: Calbot) -> tuple[ClientResponse, dict[str, Any]]:
    trigger = new_trigger_id()
    body = command_body(
        "propose", user_id=ALICE, response_url=calbot.slack.response_url("cmd"), trigger_id=trigger
    )
    response = await calbot.post(body, FORM)
    await calbot.idle()
    modal = calbot.slack.modal_for(trigger)
    assert modal is not None, "views.open was not called with the command's trigger_id"
    return response, modal


async def _submit(
    calbot: Calbot, modal: dict[str, Any], values: dict[str, Any], **kwargs: Any
) -> ClientResponse:
    return await calbot.post(view_submission_body(modal, values, **kwargs), FORM)


def _offer(slack: MockSlack, user: str) -> PostedMessage:
    (offer,) = [m for m in slack.dms_to(user) if "propose.accept" in str(m.blocks)]
    return offer


def _tracking(slack: MockSlack) -> PostedMessage:
    (tracking,) = [m for m in slack.dms_to(ALICE) if m.text.startswith("Tracking:")]
    return tracking


async def _press(
    calbot: Calbot, user: str, message: PostedMessage, button: dict[str, Any]
) -> ClientResponse:
    """`user` clicks `button` (as rendered: action id with any "#n" suffix) on `message`."""
    body = block_actions_body(
        button["action_id"],
        button.get("value"),
        user_id=user,
        channel_id=message.channel,
        message_ts=message.ts,
        response_url=calbot.slack.response_url(f"action-{user}"),
    )
    response = await calbot.post(body, FORM)
    assert response.status == 200
    await calbot.idle()
    return response


def _answers(slack: MockSlack, user: str) -> list[str]:
    """Ephemeral answers to `user`'s clicks (through the click's response_url)."""
    return [
        c.params["text"]
        for c in slack.calls_to("response_url")
        if c.path.endswith(f"/action-{user}")
    ]


def _button(message: PostedMessage, action: str, value: str | None = None) -> dict[str, Any]:
    return next(
        b
        for b in _buttons(message.blocks)
        if b["action_id"].split("#")[0] == action and (value is None or b.get("value") == value)
    )


# --- the form -----------------------------------------------------------------------------


async def test_propose_opens_a_valid_modal_right_after_the_ack(calbot: Calbot) -> None:
    started = time.monotonic()
    response, _ = await _open_form(calbot)
    assert response.status == 200 and await response.text() == ""
    (opened,) = calbot.slack.calls_to("views.open")
    assert opened.ok
    # Well inside the trigger's 3 s: only users.info and the pure form builder came first.
    assert opened.received_at - started < 1.0
    view = opened.params["view"]
    # slack_sdk's own model takes it unchanged, validators included (title ≤ 24 …).
    assert View(**view).to_dict() == view
    assert view["type"] == "modal" and view["callback_id"] == "propose"
    assert len(view["title"]["text"]) <= MAX_TITLE and view["title"]["text"]
    assert view["submit"]["text"] == "Find times" and view["close"]["text"] == "Cancel"
    assert 0 < len(view["blocks"]) <= MAX_MODAL_BLOCKS
    assert all(len(b["label"]["text"]) <= MAX_LABEL for b in view["blocks"])
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert {b["element"]["action_id"] for b in view["blocks"]} == set(blocks)
    assert blocks["candidate"]["element"]["type"] == "plain_text_input"
    assert blocks["candidate"]["optional"] is False
    assert blocks["candidate_email"]["optional"] is True
    assert blocks["duration"]["element"] == {
        "action_id": "duration",
        "type": "number_input",
        "is_decimal_allowed": False,
        "min_value": "15",
        "max_value": "240",
        "initial_value": "45",
    }
    assert blocks["required"]["element"]["type"] == "multi_users_select"
    assert blocks["pool"]["element"]["type"] == "multi_users_select"
    assert blocks["pool"]["optional"] is True
    assert blocks["window_start"]["element"]["type"] == "datepicker"
    assert len(blocks["window_start"]["element"]["initial_date"]) == 10
    # The coordinator's own zone (users.info `tz`) is the form's default.
    assert blocks["tz"]["element"]["initial_value"] == "Europe/London"
    # The modal is the answer: nothing ephemeral besides it.
    assert calbot.slack.calls_to("response_url") == []


async def test_an_expired_trigger_falls_back_to_the_one_line_form(calbot: Calbot) -> None:
    calbot.slack.fail_method("views.open", "expired_trigger_id")
    response = await calbot.command("propose")
    assert response.status == 200
    await calbot.idle()
    (opened,) = calbot.slack.calls_to("views.open")
    assert opened.response["error"] == "expired_trigger_id"
    (fallback,) = calbot.slack.calls_to("response_url")
    assert fallback.params["response_type"] == "ephemeral"
    shown = _text(fallback.params["blocks"])
    assert "type it in one line" in shown and '/calendar propose "Jane Doe" 45m' in shown
    validate_blocks(fallback.params["blocks"])


async def test_field_errors_come_back_in_the_modal_and_nothing_is_stored(calbot: Calbot) -> None:
    _people(calbot.slack)
    _, modal = await _open_form(calbot)
    calbot.slack.reset_calls()
    # Everything the ack needs is local: with users.info parked it still answers at once.
    calbot.slack.hold("users.info")
    started = time.monotonic()
    response = await asyncio.wait_for(
        _submit(
            calbot,
            modal,
            {
                "candidate": None,
                "duration": "500",
                "required": [BOB],
                "pool": [CAROL],
                "pool_required": "2",
            },
        ),
        timeout=3,
    )
    assert time.monotonic() - started < 1.5
    assert response.status == 200
    body = await response.json()
    assert body["response_action"] == "errors"
    assert body["errors"] == {
        "candidate": "Who is the candidate?",
        "duration": "Interviews last from 15 to 240 minutes.",
        "pool_required": "The pool has only 1 people.",
    }
    calbot.slack.release("users.info")
    await calbot.idle()
    assert await calbot.runtime.store.get_proposal(1) is None
    assert calbot.slack.calls_to("chat.postMessage") == []
    assert calbot.slack.calls_to("users.info") == []


async def test_no_interviewer_is_an_error_under_the_picker(calbot: Calbot) -> None:
    _, modal = await _open_form(calbot)
    response = await _submit(calbot, modal, {"candidate": "Jane Doe"})
    body = await response.json()
    assert body == {
        "response_action": "errors",
        "errors": {"required": "Add at least one interviewer who must attend."},
    }
    assert await calbot.runtime.store.get_proposal(1) is None


async def test_a_submission_found_wrong_only_after_the_ack_is_answered_in_a_dm(
    calbot: Calbot,
) -> None:
    calbot.slack.add_user("UBOT", name="helperbot", is_bot=True)
    _, modal = await _open_form(calbot)
    response = await _submit(calbot, modal, {"candidate": "Jane Doe", "required": ["UBOT"]})
    assert response.status == 200 and await response.text() == ""
    await calbot.idle()
    (dm,) = calbot.slack.dms_to(ALICE)
    assert "can't attend interviews" in dm.text
    assert await calbot.runtime.store.get_proposal(1) is None


# --- propose → accept → book ----------------------------------------------------------------


async def test_propose_accept_book_once_over_the_wire(calbot: Calbot) -> None:
    slack = calbot.slack
    await _panel(calbot)
    sandbox = calbot.runtime.sandbox.state
    searches = sandbox.request_count("/v1/availability")

    _, modal = await _open_form(calbot)
    response = await _submit(calbot, modal, {"candidate": "Jane Doe", "required": [BOB, CAROL]})
    # A plain ack closes the modal; the search runs after it.
    assert response.status == 200 and await response.text() == ""
    await calbot.idle()
    assert sandbox.request_count("/v1/availability") == searches + 1
    (answer,) = slack.dms_to(ALICE)
    assert "I've offered 5 times to the panel" in answer.text

    await calbot.runtime.outbox.drain()
    bob_offer, carol_offer = _offer(slack, BOB), _offer(slack, CAROL)
    tracking = _tracking(slack)
    for message in (bob_offer, carol_offer, tracking):
        validate_blocks(message.blocks)
    proposal = await calbot.runtime.store.get_proposal(1)
    assert proposal is not None and len(proposal.slots) == 5
    assert [p.user.ref.user_id for p in proposal.active] == [BOB, CAROL]
    first = proposal.slots[0]
    # Each interviewer reads the times in their own zone (from users.info `tz`).
    assert f"Times in {BOB_TZ}" in _text(bob_offer.blocks)
    assert f"Times in {CAROL_TZ}" in _text(carol_offer.blocks)
    assert format_slot(first, BOB_TZ).text in _text(bob_offer.blocks)
    assert format_slot(first, CAROL_TZ).text in _text(carol_offer.blocks)
    value = f"{proposal.id}:{first.id}"
    bob_accept = _button(bob_offer, "propose.accept", value)
    carol_accept = _button(carol_offer, "propose.accept", value)

    # Someone not on the panel crafting Bob's button is refused politely.
    await _press(calbot, DAN, bob_offer, bob_accept)
    (refusal,) = _answers(slack, DAN)
    assert "belongs to someone else" in refusal

    # Bob accepts: nothing to say to him, his card and the tracker change.
    await _press(calbot, BOB, bob_offer, bob_accept)
    assert _answers(slack, BOB) == []
    await calbot.runtime.outbox.drain()
    assert "you accepted" in _text(slack.messages[(bob_offer.channel, bob_offer.ts)].blocks)

    # Carol accepts the same slot: it is booked.
    slack.reset_calls()
    await _press(calbot, CAROL, carol_offer, carol_accept)
    assert _answers(slack, CAROL) == []
    await calbot.runtime.outbox.drain()
    for person in (BOB, CAROL):
        mine = [e for e in sandbox.events(EMAILS[person]) if e.created_by_app]
        assert len(mine) == 1, person
        assert mine[0].start == first.start
    updated = {(c.params["channel"], c.params["ts"]) for c in slack.calls_to("chat.update")}
    for message in (bob_offer, carol_offer, tracking):
        assert (message.channel, message.ts) in updated
        current = slack.messages[(message.channel, message.ts)]
        assert "Booked:" in _text(current.blocks), message.text
        validate_blocks(current.blocks)
    assert _buttons(slack.messages[(bob_offer.channel, bob_offer.ts)].blocks) == []
    booked_for_bob = slack.messages[(bob_offer.channel, bob_offer.ts)]
    assert format_slot(first, BOB_TZ).text in _text(booked_for_bob.blocks)

    # A replayed accept changes nothing: a polite answer, no edit, no second event.
    slack.reset_calls()
    await _press(calbot, BOB, bob_offer, bob_accept)
    (late,) = _answers(slack, BOB)
    assert "already booked" in late
    await calbot.runtime.outbox.drain()
    assert slack.calls_to("chat.update") == []
    for person in (BOB, CAROL):
        assert len([e for e in sandbox.events(EMAILS[person]) if e.created_by_app]) == 1


async def test_decline_none_and_cancel_buttons(calbot: Calbot) -> None:
    slack = calbot.slack
    await _panel(calbot)
    _, modal = await _open_form(calbot)
    await _submit(calbot, modal, {"candidate": "Kim Park", "required": [BOB, CAROL]})
    await calbot.idle()
    await calbot.runtime.outbox.drain()
    bob_offer, carol_offer = _offer(slack, BOB), _offer(slack, CAROL)
    tracking = _tracking(slack)

    await _press(calbot, BOB, bob_offer, _button(bob_offer, "propose.decline"))
    assert _answers(slack, BOB) == []  # nothing to say: the card changes
    await _press(calbot, CAROL, carol_offer, _button(carol_offer, "propose.none"))
    (thanks,) = _answers(slack, CAROL)
    assert "none of these times work" in thanks
    await calbot.runtime.outbox.drain()
    assert "you declined" in _text(slack.messages[(bob_offer.channel, bob_offer.ts)].blocks)
    tracked = slack.messages[(tracking.channel, tracking.ts)]
    assert "None of these work for: Carol Chen" in _text(tracked.blocks)

    # Only the coordinator may cancel.
    cancel = _button(tracked, "propose.cancel")
    await _press(calbot, BOB, tracked, cancel)
    assert "Only the coordinator" in _answers(slack, BOB)[-1]
    await _press(calbot, ALICE, tracked, cancel)
    assert "Cancelled" in _answers(slack, ALICE)[-1]
    await calbot.runtime.outbox.drain()
    for offer in (bob_offer, carol_offer):
        assert "Cancelled by the coordinator" in _text(
            slack.messages[(offer.channel, offer.ts)].blocks
        )


async def test_an_unconnected_interviewer_is_named_with_a_nudge_button(calbot: Calbot) -> None:
    slack = calbot.slack
    await _panel(calbot)
    searches = calbot.runtime.sandbox.state.request_count("/v1/availability")
    _, modal = await _open_form(calbot)
    await _submit(calbot, modal, {"candidate": "Sam Lee", "required": [BOB, DAN]})
    await calbot.idle()
    (answer,) = slack.dms_to(ALICE)
    assert "haven't connected" in _text(answer.blocks) and "Dan Dubois" in _text(answer.blocks)
    validate_blocks(answer.blocks)
    assert calbot.runtime.sandbox.state.request_count("/v1/availability") == searches

    await _press(calbot, ALICE, answer, _button(answer, "propose.nudge"))
    assert "link to connect" in _answers(slack, ALICE)[-1]
    await calbot.runtime.outbox.drain()
    assert any(b.get("url") for m in slack.dms_to(DAN) for b in _buttons(m.blocks))


async def test_one_line_propose_with_mentions(calbot: Calbot) -> None:
    slack = calbot.slack
    await _panel(calbot)
    response = await calbot.command('propose "Jane Doe" 45m with <@U2|bob> <@U3|carol> next week')
    assert response.status == 200
    await calbot.idle()
    assert slack.calls_to("views.open") == []
    (answer,) = slack.calls_to("response_url")
    assert "I've offered 5 times to the panel" in answer.params["text"]
    await calbot.runtime.outbox.drain()
    assert _offer(slack, BOB) and _offer(slack, CAROL)
    proposal = await calbot.runtime.store.get_proposal(1)
    assert proposal is not None
    assert [p.user.ref.user_id for p in proposal.active] == [BOB, CAROL]
    assert proposal.request["duration"] == 45
