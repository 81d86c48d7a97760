"""`/calendar propose` on Teams, end to end over the wire.

The form is an Adaptive Card with inputs and Teams' people picker; its submission comes
back as Action.Submit (a message) or Action.Execute (an invoke). Offers go to each
interviewer's 1:1 chat through the outbox, the answers are card buttons, the booking
lands in the Cronofy sandbox, and every card is edited in place (PUT).
"""

from __future__ import annotations

from typing import Any

from bot.slots.display import format_slot
from integrations.teams.form_card import FORM_VERB, PEOPLE_DATASET
from tests.integrations.teams.conftest import PERSONAL_CHAT, TeamsHarness
from tests.integrations.teams.propose_fixtures import (
    accept_buttons,
    add_person,
    as_sender,
    chat_of,
    connect_for_real,
    execute,
    form_action,
    inputs,
    last_card,
    offers,
    submit_form,
    warnings,
)
from tests.integrations.teams.team_fixtures import ALICE, BOB, CAROL, DAN, ERIN

BOB_TZ, CAROL_TZ = "America/New_York", "Europe/Berlin"


def _text(card: dict[str, Any]) -> str:
    return "\n".join(str(e.get("text", "")) for e in card["body"])


async def _open_form(teams: TeamsHarness) -> Any:
    response = await teams.say("propose")
    assert response.status == 201
    return teams.connector.posts(PERSONAL_CHAT)[-1]


async def _panel(teams: TeamsHarness) -> None:
    await connect_for_real(teams, BOB, BOB_TZ)
    await connect_for_real(teams, CAROL, CAROL_TZ)
    add_person(teams, DAN)
    teams.connector.clear()


async def test_propose_opens_a_card_form_with_the_people_picker(teams: TeamsHarness) -> None:
    form = await _open_form(teams)
    assert form.route == "reply"
    card = form.cards[0]
    assert card["version"] == "1.5"
    fields = inputs(card)
    assert fields["field.candidate"]["type"] == "Input.Text"
    assert fields["field.candidate"]["isRequired"] is True
    assert fields["field.duration"] == {
        "id": "field.duration",
        "label": "Duration (minutes)",
        "isRequired": True,
        "errorMessage": "This field is required.",
        "type": "Input.Number",
        "min": 15,
        "max": 240,
        "value": 45,
    }
    assert fields["field.window_start"]["type"] == "Input.Date"
    picker = fields["field.required"]
    assert picker["type"] == "Input.ChoiceSet" and picker["isMultiSelect"] is True
    assert picker["choices.data"] == {"type": "Data.Query", "dataset": PEOPLE_DATASET}
    action = form_action(card)
    assert action["type"] == "Action.Submit" and action["title"] == "Find times"
    assert action["data"]["form_id"] == "propose"
    assert "one line" in card["fallbackText"]


async def test_errors_come_back_in_the_same_form_and_nothing_is_stored(
    teams: TeamsHarness,
) -> None:
    form = await _open_form(teams)
    submitted = submit_form(
        teams, form, {"candidate": "", "duration": "500", "required": "", "title": "Tech"}
    )
    assert (await teams.post(submitted)).status == 201

    # The form message itself is edited (PUT on its id); no new message is posted.
    (edited,) = teams.connector.updates(activity_id=teams.connector.sent_id(form))
    assert teams.connector.posts(PERSONAL_CHAT) == [form]
    card = edited.cards[0]
    fields = inputs(card)
    assert fields["field.duration"]["value"] == 500  # what was typed stays
    assert fields["field.duration"]["errorMessage"] == "Interviews last from 15 to 240 minutes."
    assert fields["field.title"]["value"] == "Tech"
    shown = warnings(card)
    assert any("Who is the candidate?" in w for w in shown)
    assert any("15 to 240" in w for w in shown)
    assert any("at least one interviewer" in w for w in shown)
    assert form_action(card)["data"]["form_id"] == "propose"  # can be submitted again
    assert await teams.runtime.store.get_proposal(1) is None


async def test_an_unknown_person_in_the_picker_is_a_form_error(teams: TeamsHarness) -> None:
    teams.connector.strict_members = True
    form = await _open_form(teams)
    ghost = "00000000-dead-4bad-8bad-000000000000"
    await teams.post(submit_form(teams, form, {"candidate": "Ann", "required": ghost}))
    (edited,) = teams.connector.updates(activity_id=teams.connector.sent_id(form))
    assert any("can't find" in w for w in warnings(edited.cards[0]))
    assert await teams.runtime.store.get_proposal(1) is None


async def test_errors_through_action_execute_come_back_in_the_invoke_response(
    teams: TeamsHarness,
) -> None:
    await _panel(teams)
    form = await _open_form(teams)
    data = {**form_action(form.cards[0])["data"], "field.candidate": "", "field.duration": "5"}
    data["field.required"] = f"{BOB.aad},{CAROL.aad}"
    response = await teams.post(execute(teams, data, ALICE, verb=FORM_VERB))
    assert response.status == 200
    body = await response.json()
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    card = body["value"]
    assert any("Who is the candidate?" in w for w in warnings(card))
    picker = inputs(card)["field.required"]
    # The people already picked stay picked, shown by name.
    assert picker["value"] == f"{BOB.aad},{CAROL.aad}"
    assert {"title": "Bob Baker", "value": BOB.aad} in picker["choices"]
    assert form_action(card)["type"] == "Action.Execute"
    assert teams.connector.posts(PERSONAL_CHAT) == [form]
    assert await teams.runtime.store.get_proposal(1) is None


async def test_propose_accept_book_once_over_the_wire(teams: TeamsHarness) -> None:
    await _panel(teams)
    sandbox = teams.runtime.sandbox.state
    searches = sandbox.request_count("/v1/availability")
    form = await _open_form(teams)
    picked = f"{BOB.aad},{CAROL.aad}"
    submitted = submit_form(
        teams, form, {"candidate": "Jane Doe", "duration": "45", "required": picked}
    )
    assert (await teams.post(submitted)).status == 201
    assert sandbox.request_count("/v1/availability") == searches + 1

    # The form turned into a short "sent" card; the core's answer is a reply under it.
    (sent,) = teams.connector.updates(activity_id=teams.connector.sent_id(form))
    assert "Sent" in sent.text and not inputs(sent.cards[0])
    answer = teams.connector.posts(PERSONAL_CHAT)[-1]
    assert "I've offered 5 times to the panel" in answer.text

    await teams.runtime.outbox.drain()
    (bob_offer,) = offers(teams, BOB)
    (carol_offer,) = offers(teams, CAROL)
    assert f"Times in {BOB_TZ}" in bob_offer.text
    assert f"Times in {CAROL_TZ}" in carol_offer.text
    proposal = await teams.runtime.store.get_proposal(1)
    assert proposal is not None and len(proposal.slots) == 5
    first_slot = proposal.slots[0]
    assert format_slot(first_slot, BOB_TZ).text in bob_offer.text
    assert format_slot(first_slot, CAROL_TZ).text in carol_offer.text
    bob_accept = accept_buttons(bob_offer.cards[0])[0]
    carol_accept = next(
        b
        for b in accept_buttons(carol_offer.cards[0])
        if b["data"]["value"] == bob_accept["data"]["value"]
    )
    assert bob_accept["data"]["value"] == f"{proposal.id}:{first_slot.id}"
    (tracking,) = [
        c for c in teams.connector.posts(PERSONAL_CHAT) if c.body["summary"] == "Tracking: Jane Doe"
    ]

    # A stranger crafting the same button is refused politely; nothing changes.
    teams.connector.clear()
    stranger = as_sender(teams.activity("submit_personal", value=bob_accept["data"]), DAN)
    assert (await teams.post(stranger)).status == 201
    (refusal,) = teams.connector.posts(chat_of(DAN))
    assert "belongs to someone else" in refusal.text

    # Bob accepts with Action.Submit: no reply message, only card edits.
    teams.connector.clear()
    bob_press = as_sender(teams.activity("submit_personal", value=bob_accept["data"]), BOB)
    assert (await teams.post(bob_press)).status == 201
    assert teams.connector.posts() == []
    # Carol accepts with Action.Execute: 200 with no card change of its own.
    carol_press = execute(teams, carol_accept["data"], CAROL, verb="propose.accept")
    response = await teams.post(carol_press)
    assert response.status == 200
    assert (await response.json())["type"] == "application/vnd.microsoft.activity.message"
    assert teams.connector.posts() == []

    await teams.runtime.outbox.drain()
    for person in (BOB, CAROL):
        mine = [e for e in sandbox.events(person.email) if e.created_by_app]
        assert len(mine) == 1, person.email
        assert mine[0].start == first_slot.start
    for offer in (bob_offer, carol_offer):
        booked = last_card(teams, offer)
        assert "Booked:" in _text(booked)
        assert accept_buttons(booked) == []
    assert "Booked:" in _text(last_card(teams, tracking))
    assert all(u.method == "PUT" for u in teams.connector.updates())

    # Replays change nothing: the same activity again (deduplicated), or a new press.
    teams.connector.clear()
    assert (await teams.post(bob_press)).status == 201
    assert teams.connector.calls == []
    again = as_sender(teams.activity("submit_personal", value=bob_accept["data"]), BOB)
    await teams.post(again)
    (polite,) = teams.connector.posts(chat_of(BOB))
    assert "already booked" in polite.text
    await teams.runtime.outbox.drain()
    assert teams.connector.updates() == []
    for person in (BOB, CAROL):
        assert len([e for e in sandbox.events(person.email) if e.created_by_app]) == 1


async def test_one_line_propose_with_mentions(teams: TeamsHarness) -> None:
    await _panel(teams)
    activity = teams.activity(
        "message_personal",
        text='propose "Jane Doe" 45m with <at>Bob Baker</at> <at>Carol Chen</at> next week',
    )
    for person in (BOB, CAROL):
        activity["entities"].append(
            {
                "type": "mention",
                "text": f"<at>{person.name}</at>",
                "mentioned": {"id": person.teams_id, "name": person.name},
            }
        )
    assert (await teams.post(activity)).status == 201
    (answer,) = teams.connector.posts(PERSONAL_CHAT)
    assert "I've offered 5 times to the panel" in answer.text
    await teams.runtime.outbox.drain()
    assert len(offers(teams, BOB)) == 1 and len(offers(teams, CAROL)) == 1
    proposal = await teams.runtime.store.get_proposal(1)
    assert proposal is not None
    assert [p.user.ref.user_id for p in proposal.active] == [BOB.aad, CAROL.aad]


async def test_a_picked_person_calbot_never_met_is_found_and_can_be_nudged(
    teams: TeamsHarness,
) -> None:
    """Erin never wrote to calbot: Teams only knows her by the picker's object id.

    The strict connector answers member lookups only inside a conversation the person
    is in, so Erin is found in the 1:1 chat calbot opens with her, the one her nudge
    then goes to.
    """
    await connect_for_real(teams, BOB, BOB_TZ)
    teams.connector.strict_members = True
    teams.connector.add_member(
        ERIN.teams_id, name=ERIN.name, aad_object_id=ERIN.aad, email=ERIN.email
    )
    teams.connector.clear()
    form = await _open_form(teams)
    picked = f"{BOB.aad},{ERIN.aad}"
    await teams.post(submit_form(teams, form, {"candidate": "Jo Smith", "required": picked}))
    answer = teams.connector.posts(PERSONAL_CHAT)[-1]
    assert "haven't connected" in answer.text and "Erin Evans" in answer.text
    (created,) = teams.connector.find("create")
    assert created.body["members"] == [{"id": ERIN.aad}]
    erin_chat = created.response["id"]

    # The coordinator may nudge her own panel, admin or not.
    nudge = next(
        a
        for element in answer.cards[0]["body"]
        if element["type"] == "ActionSet"
        for a in element["actions"]
        if a["data"]["action_id"] == "propose.nudge"
    )
    await teams.post(teams.activity("submit_personal", value=nudge["data"]))
    await teams.runtime.outbox.drain()
    (link,) = [c for c in teams.connector.posts(erin_chat) if "/connect/" in str(c.body)]
    assert link.body["recipient"]["id"] == ERIN.teams_id


async def test_a_valid_action_execute_submission_replaces_the_form_with_sent(
    teams: TeamsHarness,
) -> None:
    await _panel(teams)
    form = await _open_form(teams)
    data = {**form_action(form.cards[0])["data"], "field.candidate": "Jane Doe"}
    data.update({"field.duration": 30.0, "field.required": f"{BOB.aad}, {CAROL.aad}"})
    sent_id = teams.connector.sent_id(form)
    response = await teams.post(execute(teams, data, ALICE, verb=FORM_VERB, reply_to=sent_id))
    assert response.status == 200
    card = (await response.json())["value"]
    assert "Sent" in _text(card) and not inputs(card)
    answer = teams.connector.posts(PERSONAL_CHAT)[-1]
    assert "I've offered 5 times to the panel" in answer.text
    proposal = await teams.runtime.store.get_proposal(1)
    assert proposal is not None and proposal.request["duration"] == 30


async def test_decline_none_and_cancel_buttons(teams: TeamsHarness) -> None:
    await _panel(teams)
    form = await _open_form(teams)
    picked = f"{BOB.aad},{CAROL.aad}"
    await teams.post(submit_form(teams, form, {"candidate": "Kim Park", "required": picked}))
    await teams.runtime.outbox.drain()
    (bob_offer,) = offers(teams, BOB)
    (carol_offer,) = offers(teams, CAROL)
    (tracking,) = [
        c for c in teams.connector.posts(PERSONAL_CHAT) if c.body["summary"] == "Tracking: Kim Park"
    ]

    def button(card: dict[str, Any], action_id: str) -> dict[str, Any]:
        return next(
            a["data"]
            for element in card["body"]
            if element["type"] == "ActionSet"
            for a in element["actions"]
            if a["data"]["action_id"] == action_id
        )

    teams.connector.clear()
    decline = button(bob_offer.cards[0], "propose.decline")
    await teams.post(as_sender(teams.activity("submit_personal", value=decline), BOB))
    assert teams.connector.posts() == []  # nothing to say: the card changes
    none = button(carol_offer.cards[0], "propose.none")
    await teams.post(as_sender(teams.activity("submit_personal", value=none), CAROL))
    (thanks,) = teams.connector.posts(chat_of(CAROL))
    assert "none of these times work" in thanks.text
    await teams.runtime.outbox.drain()
    assert "you declined" in _text(last_card(teams, bob_offer))
    assert "None of these work for: Carol Chen" in _text(last_card(teams, tracking))

    teams.connector.clear()
    cancel = button(last_card(teams, tracking), "propose.cancel")
    await teams.post(teams.activity("submit_personal", value=cancel))
    (cancelled,) = teams.connector.posts(PERSONAL_CHAT)
    assert "Cancelled" in cancelled.text
    await teams.runtime.outbox.drain()
    for offer in (bob_offer, carol_offer):
        assert "Cancelled by the coordinator" in _text(last_card(teams, offer))
    # Only the coordinator may cancel.
    teams.connector.clear()
    await teams.post(as_sender(teams.activity("submit_personal", value=cancel), BOB))
    (refused,) = teams.connector.posts(chat_of(BOB))
    assert "Only the coordinator" in refused.text
