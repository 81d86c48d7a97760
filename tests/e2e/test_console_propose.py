"""A coordinator proposes interview times; the panel accepts in chat; it is booked once."""

from __future__ import annotations

import asyncio

from bot.identity import ChatProfile
from tests.support import RunningCalbot

PANEL = {
    "alice": ChatProfile("Alice Coordinator", "alice@contoso.com", "Europe/London"),
    "bob": ChatProfile("Bob Baker", "bob@contoso.com", "Europe/London"),
    "carol": ChatProfile("Carol Chen", "carol@contoso.com", "America/New_York"),
    "dan": ChatProfile("Dan Dubois", "dan@contoso.com", "Europe/Paris"),
    "erin": ChatProfile("Erin Evans", "erin@contoso.com", "Europe/London"),
}


async def _panel(calbot: RunningCalbot, *people: str) -> None:
    calbot.console.profiles.update(PANEL)
    for user in people:
        await calbot.connect_calendar(user)


def _offer(calbot: RunningCalbot, user: str):
    return next(
        dm
        for dm in reversed(calbot.session(user).inbox())
        if "Interview" in getattr(dm.message.blocks[0], "text", "")
    )


def _accepts(dm) -> list:
    return [b for b in dm.message.buttons() if b.action_id == "propose.accept"]


async def test_propose_accept_and_book_once(calbot: RunningCalbot) -> None:
    await _panel(calbot, "bob", "carol")
    sandbox = calbot.runtime.sandbox.state
    before = sandbox.request_count("/v1/availability")
    alice = calbot.session("alice")
    reply = await alice.say('/calendar propose "Jane Doe" 45m with @bob @carol next week')
    assert reply.text.startswith("I've offered 5 times"), reply.text
    assert sandbox.request_count("/v1/availability") == before + 1, "one availability request"
    await calbot.settle()

    bob_offer, carol_offer = _offer(calbot, "bob"), _offer(calbot, "carol")
    assert "(Europe/London)" in bob_offer.message.blocks[3].text  # type: ignore[union-attr]
    assert "(America/New_York)" in carol_offer.message.blocks[3].text  # type: ignore[union-attr]
    assert len(_accepts(bob_offer)) == 5
    tracking = alice.last_dm()
    assert tracking.message.text == "Tracking: Jane Doe"

    first, second = _accepts(bob_offer)[:2]
    assert await calbot.session("bob").press(first) is None
    assert await calbot.session("bob").press(first) is None, "a replayed click changes nothing"
    stranger = await calbot.session("dan").press(first)
    assert stranger is not None and "belongs to someone else" in stranger.text
    await calbot.session("carol").press(_accepts(carol_offer)[0])
    await calbot.settle()

    for email in ("bob@contoso.com", "carol@contoso.com"):
        mine = [e for e in sandbox.events(email) if e.created_by_app]
        assert len(mine) == 1, email
    booked = _offer(calbot, "bob")
    assert booked.message.text.startswith("✅ Booked:") or "Booked:" in booked.message.text
    assert booked.message.buttons() == []
    assert "Booked:" in alice.last_dm().message.blocks[2].text  # type: ignore[union-attr]
    late = await calbot.session("bob").press(second)
    assert late is not None and "already booked" in late.text

    # The coordinator cancels: the events leave the calendars, every card says so.
    cancel = next(b for b in alice.last_dm().message.buttons() if b.action_id == "propose.cancel")
    answer = await alice.press(cancel)
    assert answer is not None and "events were removed" in answer.text
    await calbot.settle()
    assert [e for e in sandbox.events("bob@contoso.com") if e.created_by_app] == []
    assert "Cancelled" in _offer(calbot, "carol").message.text


async def test_two_accepts_at_the_same_moment_book_once(calbot: RunningCalbot) -> None:
    await _panel(calbot, "bob", "carol", "dan")
    alice = calbot.session("alice")
    await alice.say('/calendar propose "Sam Lee" 30m with @bob [any 1 of @carol @dan] next week')
    await calbot.settle()
    slot = _accepts(_offer(calbot, "bob"))[0]
    await calbot.session("bob").press(slot)
    carol_slot = next(b for b in _accepts(_offer(calbot, "carol")) if b.value == slot.value)
    dan_slot = next(b for b in _accepts(_offer(calbot, "dan")) if b.value == slot.value)
    await asyncio.gather(
        calbot.session("carol").press(carol_slot), calbot.session("dan").press(dan_slot)
    )
    await calbot.settle()
    sandbox = calbot.runtime.sandbox.state
    booked_bob = [e for e in sandbox.events("bob@contoso.com") if e.created_by_app]
    assert len(booked_bob) == 1


async def test_a_meeting_that_appeared_meanwhile_withdraws_the_slot(calbot: RunningCalbot) -> None:
    await _panel(calbot, "bob", "carol")
    alice = calbot.session("alice")
    await alice.say('/calendar propose "Kim Park" 60m with @bob @carol next week')
    await calbot.settle()
    first = _accepts(_offer(calbot, "bob"))[0]
    await calbot.session("bob").press(first)
    proposal = await calbot.runtime.store.get_proposal(int(first.value.split(":")[0]))
    assert proposal is not None
    slot = proposal.slot(int(first.value.split(":")[1]))
    assert slot is not None
    calbot.runtime.sandbox.state.add_busy("carol@contoso.com", slot.start, slot.end, "Dentist")
    carol_first = next(b for b in _accepts(_offer(calbot, "carol")) if b.value == first.value)
    await calbot.session("carol").press(carol_first)
    await calbot.settle()
    assert [
        e for e in calbot.runtime.sandbox.state.events("bob@contoso.com") if e.created_by_app
    ] == []
    offer = _offer(calbot, "bob")
    assert len(_accepts(offer)) == 4, "the taken slot is withdrawn, the rest stay open"
    assert "taken in someone's calendar" in " ".join(
        getattr(b, "text", "") for b in offer.message.blocks
    )


async def test_unconnected_interviewers_are_named_with_a_nudge_button(
    calbot: RunningCalbot,
) -> None:
    await _panel(calbot, "bob")
    alice = calbot.session("alice")
    reply = await alice.say('/calendar propose "Jo Smith" 45m with @bob @erin next week')
    assert "haven't connected" in reply.blocks[0].text  # type: ignore[union-attr]
    labels = [b.label for b in reply.buttons()]
    assert labels == ["Nudge Erin Evans", "Search again"]
    nudged = await alice.press(reply.buttons()[0])  # alice coordinates but isn't an admin
    assert nudged is not None and nudged.text == "I've sent Erin Evans a link to connect."
    await calbot.settle()
    assert "Alice Coordinator asked you" in calbot.session("erin").last_dm().message.blocks[1].text  # type: ignore[union-attr]
    await calbot.connect_calendar("erin")
    again = await alice.press(reply.buttons()[1])
    assert again is not None and again.text.startswith("I've offered")


async def test_a_stale_search_again_button_does_not_reopen_a_booked_interview(
    calbot: RunningCalbot,
) -> None:
    """The "Search again" reply stays in the coordinator's chat after the booking."""
    await _panel(calbot, "bob")
    alice = calbot.session("alice")
    reply = await alice.say('/calendar propose "Jo Smith" 45m with @bob @erin next week')
    search_again = reply.buttons()[1]
    await calbot.connect_calendar("erin")
    await alice.press(search_again)
    await calbot.settle()
    for user in ("bob", "erin"):
        await calbot.session(user).press(_accepts(_offer(calbot, user))[0])
    await calbot.settle()
    assert "Booked:" in _offer(calbot, "bob").message.text

    stale = await alice.press(search_again)
    assert stale is not None and "already booked" in stale.text
    await calbot.settle()
    booked = _offer(calbot, "bob")
    assert "Booked:" in booked.message.text and _accepts(booked) == []
    proposal = await calbot.runtime.store.get_proposal(int(search_again.value))
    assert proposal is not None and proposal.state == "booked"


async def test_the_form_validates_each_field(calbot: RunningCalbot) -> None:
    await _panel(calbot, "bob")
    alice = calbot.session("alice")
    opened = await alice.say("/calendar propose")
    assert opened.form is not None and opened.form.id == "propose"
    errors = await alice.submit(
        "propose",
        {"candidate": "", "duration": "500", "required": [], "pool": ["bob"], "pool_required": "3"},
    )
    assert isinstance(errors, dict)
    assert set(errors) >= {"candidate", "duration", "required", "pool_required"}
    nobody = await alice.submit("propose", {"candidate": "Ann", "required": ["ghost"]})
    assert isinstance(nobody, dict) and "ghost" in nobody["required"]
    ok = await alice.submit("propose", {"candidate": "Ann", "required": ["bob"], "duration": "30"})
    assert not isinstance(ok, dict) and getattr(ok, "text", "").startswith("I've offered")


async def test_a_required_interviewer_who_cant_make_it_is_replaced(calbot: RunningCalbot) -> None:
    await _panel(calbot, "bob", "carol", "dan")
    alice = calbot.session("alice")
    await alice.say('/calendar propose "Lee Wong" 45m with @bob @carol next week')
    await calbot.settle()
    none = next(
        b for b in _offer(calbot, "carol").message.buttons() if b.action_id == "propose.none"
    )
    await calbot.session("carol").press(none)
    await calbot.settle()
    tracking = alice.last_dm()
    replace = next(b for b in tracking.message.buttons() if b.action_id == "propose.replace")
    assert replace.label == "Replace Carol Chen"
    opened = await alice.press(replace)
    assert opened is not None and opened.form is not None
    refused = await calbot.session("bob").press(replace)
    assert refused is not None and "Only the coordinator" in refused.text
    errors = await alice.submit(opened.form.id, {"person": ["bob"]})
    assert errors == {"person": "That person is already on the panel."}
    done = await alice.submit(opened.form.id, {"person": ["dan"]})
    assert getattr(done, "text", "").startswith("I've offered")
    await calbot.settle()
    assert len(_accepts(_offer(calbot, "dan"))) == 5, "Dan got the new offer"
    assert _accepts(_offer(calbot, "carol")) == [], "Carol's card no longer offers times"


async def test_a_pool_member_without_a_calendar_is_asked_to_connect_before_accepting(
    calbot: RunningCalbot,
) -> None:
    """Left out of the search, Erin still sees the times; her Accept can't count, since
    the booking puts the interview in each accepting interviewer's calendar."""
    await _panel(calbot, "bob", "carol")
    alice = calbot.session("alice")
    reply = await alice.say(
        '/calendar propose "Ray Cho" 30m with @bob [any 1 of @carol @erin] next week'
    )
    assert "left out of the pool, not connected: Erin Evans" in reply.text, reply.text
    await calbot.settle()
    erin_slot = _accepts(_offer(calbot, "erin"))[0]
    answer = await calbot.session("erin").press(erin_slot)
    assert answer is not None and answer.text.startswith("Connect your calendar first")
    assert [b.label for b in answer.buttons()] == ["Connect my calendar"]
    await calbot.session("erin").press(answer.buttons()[0])
    await calbot.settle()
    assert calbot.session("erin").last_dm().message.buttons()[0].url, "a link to connect"

    await calbot.session("bob").press(erin_slot)  # the same time, pressed by Bob
    await calbot.settle()
    proposal = await calbot.runtime.store.get_proposal(int(erin_slot.value.split(":")[0]))
    assert proposal is not None and proposal.state == "open", "Erin's accept did not count"


async def test_an_interviewer_who_disconnects_after_accepting_does_not_stall_the_booking(
    calbot: RunningCalbot,
) -> None:
    await _panel(calbot, "bob", "carol")
    alice = calbot.session("alice")
    await alice.say('/calendar propose "Lee Wong" 30m with @bob @carol next week')
    await calbot.settle()
    slot = _accepts(_offer(calbot, "carol"))[0]
    await calbot.session("carol").press(slot)
    await calbot.session("carol").say("/calendar disconnect")
    bob_slot = next(b for b in _accepts(_offer(calbot, "bob")) if b.value == slot.value)
    await calbot.session("bob").press(bob_slot)
    await calbot.settle()

    proposal = await calbot.runtime.store.get_proposal(int(slot.value.split(":")[0]))
    assert proposal is not None and proposal.state == "booked"
    bob_events = [
        e for e in calbot.runtime.sandbox.state.events("bob@contoso.com") if e.created_by_app
    ]
    assert len(bob_events) == 1, "Bob's event is written (and invites Carol by e-mail)"
