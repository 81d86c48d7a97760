"""Admin-only and coordinator-only buttons are checked on the server, every one of them.

The world: an admin (Alice) who also coordinates an open interview proposal for Bob
and Carol, a consent incident for Dan's tenant with its alert, and a channel of
interviewers. Then someone who was never shown those buttons presses each of them with
the real values (a crafted request): Mallory, a plain member; an admin of *another*
workspace holding this workspace's ids; and through Slack, signed `block_actions`
payloads from another team. Each press must change no row, send no message and call
no calendar API. Single cases also live in the e2e, Slack and Teams suites; this file
is the full table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest

from bot.connect import Actor
from bot.identity import ChatProfile, UserRef
from bot.messages import Message
from tests.fakes.slack_payloads import block_actions_body
from tests.integrations.slack.conftest import Calbot
from tests.security.support import changed_tables, db_snapshot
from tests.support import RunningCalbot

PROFILES = {
    "alice": ChatProfile("Alice Admin", "alice@contoso.com", "Europe/London", is_admin=True),
    "bob": ChatProfile("Bob Baker", "bob@contoso.com", "Europe/London"),
    "carol": ChatProfile("Carol Chen", "carol@contoso.com", "America/New_York"),
    "dan": ChatProfile("Dan Dubois", "dan@contoso.com", "Europe/Paris"),
    "mallory": ChatProfile("Mallory Member", "mallory@contoso.com", "Europe/London"),
}

REFUSALS = (
    "Only workspace admins",
    "Only the coordinator",
    "can't find",
    "couldn't find",
    "couldn't list",
    "no longer active",
)


@dataclass
class World:
    calbot: RunningCalbot
    incident: str
    proposal: str


@pytest.fixture
async def world(calbot: RunningCalbot) -> AsyncIterator[World]:
    calbot.console.profiles.update(PROFILES)
    calbot.console.channels["interviewers"] = list(PROFILES)
    alice = calbot.session("alice")
    await alice.say("home")  # the admin is known, so the alert has someone to go to
    for user in ("alice", "bob", "carol"):
        await calbot.connect_calendar(user)
    reply = await alice.say('/calendar propose "Jane Doe" 45m with @bob @carol next week')
    assert reply.text.startswith("I've offered"), reply.text
    await calbot.settle()
    cancel = next(b for b in alice.buttons() if b.action_id == "propose.cancel")

    calbot.runtime.sandbox.state.force_outcome("@contoso.com", "need_admin_approval")
    dan = calbot.session("dan")
    await dan.say("/calendar connect")
    await calbot.settle()
    url = dan.last_dm().message.buttons()[0].url
    assert url
    visit = await dan.follow_connect_link(url, sandbox_url=calbot.sandbox_url)
    await dan.say(visit.text)  # pastes Microsoft's "Need admin approval" page
    await calbot.settle()
    fixed = next(b for b in alice.buttons() if b.action_id == "consent.fixed")
    assert fixed.value and cancel.value
    yield World(calbot=calbot, incident=fixed.value, proposal=cancel.value)


def _presses(world: World) -> list[tuple[str, str]]:
    return [
        ("status.nudge_all", "channel:interviewers"),
        ("status.nudge_all", "workspace:"),
        ("status.nudge_one", "dan"),
        ("status.nudge_one", "alice"),
        ("status.refresh", "channel:interviewers"),
        ("consent.fixed", world.incident),
        ("consent.checklist", world.incident),
        ("consent.dismiss", world.incident),
        ("consent.option", "A"),
        ("consent.option", "C"),
        ("propose.cancel", world.proposal),
        ("propose.next", world.proposal),
        ("propose.retry", world.proposal),
        ("propose.nudge", f"{world.proposal}:bob"),
    ]


async def _nothing_happens(world: World, actor: Actor, action_id: str, value: str) -> Message:
    calbot = world.calbot
    engine = calbot.runtime.engine
    before = await db_snapshot(engine)
    dms = {dm_id: (dm.message, dm.edits) for dm_id, dm in calbot.console.dms.items()}
    requests = calbot.runtime.sandbox.state.request_count()
    reply = await calbot.runtime.bot.action(actor, action_id, value)
    await calbot.settle()
    where = f"{action_id}={value!r} by {actor.user}"
    assert reply is not None, where
    assert any(r in reply.text for r in REFUSALS), f"{where}: {reply.text!r}"
    assert changed_tables(before, await db_snapshot(engine)) == {}, where
    assert {i: (d.message, d.edits) for i, d in calbot.console.dms.items()} == dms, where
    assert calbot.runtime.sandbox.state.request_count() == requests, where
    return reply


async def test_a_member_pressing_admin_and_coordinator_buttons_changes_nothing(
    world: World,
) -> None:
    mallory = world.calbot.session("mallory").actor()
    for action_id, value in _presses(world):
        await _nothing_happens(world, mallory, action_id, value)


async def test_an_interviewer_cannot_act_as_the_coordinator(world: World) -> None:
    """Bob is on the panel (he sees the offer) but did not propose: cancel, re-search,
    new times and nudges belong to Alice."""
    bob = world.calbot.session("bob").actor()
    for action_id, value in _presses(world):
        if action_id.startswith("propose."):
            await _nothing_happens(world, bob, action_id, value)


async def test_an_admin_of_another_workspace_reaches_nothing_here(world: World) -> None:
    """An admin elsewhere (same platform, another workspace) holding this workspace's
    incident and proposal ids, user and channel names."""
    alice = world.calbot.session("alice").actor()
    stranger = replace(alice, user=UserRef("console", "another-workspace", "alice"))
    for action_id, value in _presses(world):
        if action_id == "consent.option":
            continue  # changes the stranger's own workspace, which is theirs to change
        if action_id.startswith("status."):
            continue  # a roster of the stranger's own workspace (console has one roster)
        await _nothing_happens(world, stranger, action_id, value)


async def test_the_control_the_admin_and_coordinator_can(world: World) -> None:
    """The same presses by the right people do act — so the refusals above are real."""
    alice = world.calbot.session("alice")
    checklist = await alice.press_action("consent.checklist", world.incident)
    assert checklist is not None and "Only" not in checklist.text
    cancelled = await alice.press_action("propose.cancel", world.proposal)
    assert cancelled is not None and cancelled.text.startswith("Cancelled")


# --- Slack: signed payloads from another team ----------------------------------------------


async def test_signed_block_actions_from_another_team_read_and_change_nothing(
    slackbot: Calbot,
) -> None:
    """A signed payload whose team is T2 (where calbot has no token and the user is T2's
    admin) presses T1's buttons with T1's ids: nothing of T1 or T2 is read or changed."""
    slack = slackbot.slack
    slack.tokens["xoxb-t2"] = "T2"
    slack.add_user("W20", team="T2", name="t2admin", email="admin@fabrikam.com", is_admin=True)
    slack.add_user("U3", name="carol", email="carol@contoso.com")
    slack.add_channel("C1", ["U1", "U2", "U3"], name="interviewers")
    await slackbot.connected("U3", "carol@contoso.com")
    slack.reset_calls()
    before = await db_snapshot(slackbot.runtime.engine)

    presses = [
        ("status.nudge_all", "channel:C1"),
        ("status.nudge_all", "workspace:"),
        ("status.nudge_one", "U1"),
        ("status.refresh", "channel:C1"),
        ("consent.fixed", "1"),
        ("consent.checklist", "1"),
        ("consent.dismiss", "1"),
        ("propose.cancel", "1"),
        ("connect.disconnect", "U3"),  # the value is ignored: it disconnects the presser
    ]
    for action_id, value in presses:
        body = block_actions_body(
            action_id,
            value,
            user_id="W20",
            team_id="T2",
            response_url=slack.response_url("action"),
        )
        response = await slackbot.post(body, "application/x-www-form-urlencoded")
        assert response.status == 200, action_id
    await slackbot.idle()
    await slackbot.runtime.outbox.drain()

    # Carol's connection (T1) is still there, nobody got a DM, no roster was read.
    after = await db_snapshot(slackbot.runtime.engine)
    changed = changed_tables(before, after)
    # Only rows about the presser's own team may appear ("Not connected, nothing to
    # disconnect" records who asked). Single-workspace tokens don't refuse other team
    # ids on purpose: an org-wide (Enterprise Grid) install signs requests from many.
    assert set(changed) <= {"chat_users", "workspaces"}, changed
    for table, rows in before.items():
        assert all(row in after[table] for row in rows), f"a row of {table} changed"
    new_users = [row for row in after["chat_users"] if row not in before["chat_users"]]
    new_workspaces = [row for row in after["workspaces"] if row not in before["workspaces"]]
    assert all("W20" in row for row in new_users), new_users
    assert all("T2" in row for row in new_workspaces), new_workspaces
    assert slack.calls_to("chat.postMessage") == []
    assert slack.calls_to("conversations.members") == []
    assert slack.calls_to("users.list") == []
    answers = [c.params.get("text", "") for c in slack.calls_to("response_url")]
    assert len(answers) == len(presses)
    for answer in answers[:-1]:
        assert any(r in answer for r in REFUSALS), answer
