"""An admin asks who isn't synced, reads the report, and nudges people — at the console."""

from __future__ import annotations

from datetime import timedelta

from bot.identity import ChatProfile
from bot.ports import NewConnection, TokenSet
from tests.support import RunningCalbot


def _org(calbot: RunningCalbot) -> None:
    chat = calbot.console
    chat.profiles.update(
        {
            "alice": ChatProfile(
                "Alice Admin", "alice@contoso.com", "Europe/London", is_admin=True
            ),
            "bob": ChatProfile("Bob Baker", "bob@contoso.com", "Europe/London"),
            "carol": ChatProfile("Carol Chen", "carol@contoso.com", "America/New_York"),
            "dan": ChatProfile("Dan Dubois", "dan@contoso.com", "Europe/Paris"),
            "helper": ChatProfile("Helper Bot", is_bot=True),
            "gone": ChatProfile("Old Account", deleted=True),
        }
    )
    chat.channels["interviewers"] = ["alice", "bob", "carol", "dan", "helper", "gone"]


def _text(message) -> str:
    return "\n".join(getattr(b, "text", "") for b in message.blocks)


async def test_admin_report_groups_people_by_reason(calbot: RunningCalbot) -> None:
    _org(calbot)
    await calbot.connect_calendar("alice")
    await calbot.connect_calendar("bob")
    carol = calbot.session("carol")
    await carol.say("/calendar connect")  # link sent, never opened
    await calbot.settle()

    alice = calbot.session("alice")
    reply = await alice.say("who isn't synced in #interviewers?")
    assert "sent you the calendar report for #interviewers" in reply.text
    await calbot.settle()

    report = alice.last_dm()
    assert report.edits == 1, "the 'working on it' DM is edited into the report"
    body = _text(report.message)
    assert "2 of 4 connected" in body
    assert "Not counted: 1 bots, 1 deactivated." in body
    assert "Link sent, not opened yet (1)" in body and "<@carol|Carol Chen>" in body
    assert "Never connected (1)" in body and "<@dan|Dan Dubois>" in body
    labels = [b.label for b in report.message.buttons()]
    assert labels == [
        "Nudge Carol Chen",
        "Nudge Dan Dubois",
        "Nudge all not connected (2)",
        "Refresh",
    ]


async def test_nudge_all_sends_each_person_a_link_once(calbot: RunningCalbot) -> None:
    _org(calbot)
    await calbot.connect_calendar("bob")
    alice = calbot.session("alice")
    await alice.say("/calendar team", channel="interviewers")
    await calbot.settle()
    nudge_all = next(
        b for b in alice.last_dm().message.buttons() if b.action_id == "status.nudge_all"
    )

    answer = await alice.press(nudge_all)
    assert answer is not None and answer.text == "Nudging 3 people."
    again = await alice.press(nudge_all)  # a double click
    assert again is not None and "already nudged today" in again.text
    await calbot.settle()

    for name in ("carol", "dan", "alice"):
        inbox = calbot.session(name).inbox()
        nudges = [dm for dm in inbox if "asked you to connect" in _text(dm.message)]
        assert len(nudges) == 1, name
    assert not [dm for dm in calbot.session("bob").inbox() if "asked you" in _text(dm.message)]
    progress = [dm for dm in alice.inbox() if dm.message.text.startswith("Nudged")]
    assert progress and progress[-1].message.text == "Nudged 3 of 3"


async def test_a_person_who_connects_before_the_nudge_goes_out_is_skipped(
    calbot: RunningCalbot,
) -> None:
    _org(calbot)
    alice = calbot.session("alice")
    await alice.say("/calendar team #interviewers")
    await calbot.settle()
    nudge_dan = next(b for b in alice.last_dm().message.buttons() if b.value == "dan")
    assert (await alice.press(nudge_dan)).text == "Nudging 1 person."  # type: ignore[union-attr]

    # Before the outbox delivers the nudge, Dan finishes a link he had from earlier.
    store = calbot.runtime.store
    dan = await store.find_user(calbot.session("dan").actor().user)
    assert dan is not None
    now = calbot.runtime.clock.now()
    link = await store.create_link(dan.id, "0" * 64, now + timedelta(days=1), [])
    await store.click_link(link.id, "nonce", now)
    tokens = TokenSet("access", "refresh", now + timedelta(hours=1), sub="acc_dan")
    profile = NewConnection(tokens, "acc_dan", "exchange", "office365", "pro_1", "dan@contoso.com")
    assert await store.complete_link(link.id, "nonce", profile, now, [])

    await calbot.settle()
    assert [dm for dm in calbot.session("dan").inbox() if "asked you" in _text(dm.message)] == []
    progress = [dm for dm in alice.inbox() if dm.message.text.startswith("Nudged")]
    assert progress[-1].message.text == "Nudged 0 of 1 (1 already connected, skipped)"


async def test_non_admin_gets_a_polite_refusal(calbot: RunningCalbot) -> None:
    _org(calbot)
    bob = calbot.session("bob")
    reply = await bob.say("who isn't synced in #interviewers?")
    assert "Only workspace admins" in reply.text
    await calbot.settle()
    assert bob.inbox() == []
    answer = await bob.press_action("status.nudge_all", "channel:interviewers")
    assert answer is not None and "Only workspace admins" in answer.text
    await calbot.settle()
    assert calbot.session("carol").inbox() == []


async def test_anyone_sees_their_own_status_and_admins_see_others(calbot: RunningCalbot) -> None:
    _org(calbot)
    await calbot.connect_calendar("bob")
    bob = calbot.session("bob")
    assert "connected" in (await bob.say("is @bob connected?")).text
    refused = await bob.say("is @carol connected?")
    assert "Only workspace admins" in refused.text
    alice = calbot.session("alice")
    answer = await alice.say("is @bob connected?")
    assert answer.text == "<@bob|bob> is connected (Office 365)."
    answer = await alice.say("status of @carol")
    assert answer.text == "<@carol|carol> is not connected: never connected."


async def test_home_shows_own_status_and_admin_summary(calbot: RunningCalbot) -> None:
    _org(calbot)
    await calbot.connect_calendar("bob")
    bob_home = await calbot.session("bob").say("home")
    assert "Your calendar is connected: **Office 365** (bob@contoso.com)" in _text(bob_home)
    assert "For admins" not in _text(bob_home)
    alice_home = await calbot.session("alice").say("home")
    assert "isn't connected yet" in _text(alice_home)
    assert "For admins" in _text(alice_home) and "1 connected" in _text(alice_home)
    assert [b.label for b in alice_home.buttons()] == ["Connect your calendar"]


async def test_the_report_updates_as_people_connect(calbot: RunningCalbot) -> None:
    _org(calbot)
    alice = calbot.session("alice")
    await alice.say("/calendar team #interviewers")
    await calbot.settle()
    report = alice.last_dm()
    assert "0 of 4 connected" in _text(report.message)
    await calbot.connect_calendar("bob")
    assert report.edits == 2, "the report DM was edited again when Bob connected"
    assert "1 of 4 connected" in _text(report.message)
