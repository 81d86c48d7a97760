"""An admin follows a team in the weekly digest, gets it on Monday morning, acts on it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.clock import FixedClock
from bot.identity import ChatProfile, Member, Recipient, TeamRef
from bot.messages import Message
from tests.support import RunningCalbot, running_calbot

WEDNESDAY = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
MONDAY_0859_LONDON = datetime(2026, 11, 30, 8, 59, tzinfo=UTC)  # London is on UTC in winter


def _org(calbot: RunningCalbot) -> None:
    calbot.console.profiles.update(
        {
            "alice": ChatProfile(
                "Alice Admin", "alice@contoso.com", "Europe/London", is_admin=True
            ),
            "bob": ChatProfile("Bob Baker", "bob@contoso.com", "Europe/London"),
            "carol": ChatProfile("Carol Chen", "carol@contoso.com", "America/New_York"),
            "dan": ChatProfile("Dan Dubois", "dan@contoso.com", "Europe/Paris"),
        }
    )
    calbot.console.channels["interviewers"] = ["alice", "bob", "carol", "dan"]
    calbot.console.channels["panel"] = ["alice", "bob"]


def _text(message: Message) -> str:
    return "\n".join(getattr(b, "text", "") for b in message.blocks)


def _digests(calbot: RunningCalbot, user: str) -> list[Message]:
    return [
        dm.message
        for dm in calbot.session(user).inbox()
        if dm.message.text.startswith("Weekly calendar digest")
    ]


async def _run_digest_job(calbot: RunningCalbot) -> None:
    await calbot.runtime.jobs.get("digest").run()
    await calbot.settle()


async def test_the_weekly_digest_from_turning_it_on_to_acting_on_it(db_url: str) -> None:
    clock = FixedClock(WEDNESDAY)
    async with running_calbot(db_url, clock=clock) as calbot:
        _org(calbot)
        for name in ("alice", "bob"):
            await calbot.connect_calendar(name)
        alice = calbot.session("alice")

        reply = await alice.say("/calendar digest on below 80%", channel="interviewers")
        assert reply.text.startswith("Weekly digest on.")
        assert "below 80% connected: **#interviewers**" in reply.text
        assert "Next digest: Mon 30 Nov 09:00 (Europe/London)" in reply.text
        reply = await alice.say("/calendar digest on #panel")
        assert "**#interviewers**, **#panel**" in reply.text

        await _run_digest_job(calbot)  # turned on mid-week: the first digest is Monday's
        clock.advance(seconds=(MONDAY_0859_LONDON - WEDNESDAY).total_seconds())
        await _run_digest_job(calbot)
        assert _digests(calbot, "alice") == []

        clock.advance(minutes=1)  # Monday 09:00 in London
        await _run_digest_job(calbot)
        await _run_digest_job(calbot)  # a second run (or instance) sends nothing more
        [digest] = _digests(calbot, "alice")
        body = _text(digest)
        assert "**Your team**" not in body and "**1 of your 2 teams** is below 80%" in body
        assert "**#interviewers**: 2 of 4 connected (50%), 2 not connected" in body
        assert "At or above 80%: #panel (100%)." in body

        [open_report] = digest.buttons()
        assert open_report.label == "Open the #interviewers report"
        answer = await alice.press(open_report)
        assert answer is not None and "report for #interviewers" in answer.text
        await calbot.settle()
        assert "2 of 4 connected" in _text(alice.last_dm().message)

        # Everyone connects during the week: next Monday brings no digest at all.
        for name in ("carol", "dan"):
            await calbot.connect_calendar(name)
        clock.advance(days=7)
        await _run_digest_job(calbot)
        assert len(_digests(calbot, "alice")) == 1

        shown = await alice.say("/calendar digest")
        [stop] = shown.buttons()
        stopped = await alice.press(stop)
        assert (
            stopped is not None and stopped.text == "Weekly digest off: I won't send it any more."
        )
        assert (await alice.say("/calendar digest")).text.startswith(
            "You don't get the weekly digest."
        )


async def test_only_admins_get_a_digest(db_url: str) -> None:
    clock = FixedClock(WEDNESDAY)
    async with running_calbot(db_url, clock=clock) as calbot:
        _org(calbot)
        reply = await calbot.session("bob").say("/calendar digest on", channel="interviewers")
        assert reply.text.startswith("Only workspace admins")
        # A crafted "stop" press from a non-admin changes nothing either.
        crafted = await calbot.session("bob").press_action("digest.off", "")
        assert crafted is not None and crafted.text.startswith("Only workspace admins")

        # An admin who loses the role stops getting it (checked at send time).
        alice = calbot.session("alice")
        await alice.say("/calendar digest on", channel="interviewers")
        calbot.console.profiles["alice"] = ChatProfile(
            "Alice Admin", "alice@contoso.com", "Europe/London"
        )
        await alice.say("/calendar status")  # her profile is read again: no longer an admin
        clock.advance(days=5)
        await _run_digest_job(calbot)
        assert _digests(calbot, "alice") == []


async def test_malformed_digest_commands_get_the_usage(calbot: RunningCalbot) -> None:
    _org(calbot)
    reply = await calbot.session("alice").say("/calendar digest on @bob")
    assert reply.text.startswith("Weekly digest: `/calendar digest on")


async def test_an_admin_stops_following_one_team_then_the_last(calbot: RunningCalbot) -> None:
    _org(calbot)
    alice = calbot.session("alice")
    await alice.say("/calendar digest on #interviewers")
    await alice.say("/calendar digest on #panel below 90%")

    reply = await alice.say("/calendar digest off #panel")
    assert reply.text == "Stopped following #panel in your weekly digest."
    shown = await alice.say("/calendar digest")
    assert "below 90% connected: **#interviewers**. Next digest:" in shown.text
    reply = await alice.say("/calendar digest off #panel")
    assert reply.text == "Your digest doesn't follow #panel."

    reply = await alice.say("/calendar digest off #interviewers")
    assert reply.text == "Stopped following #interviewers: weekly digest off."
    reply = await alice.say("/calendar digest off")
    assert reply.text == "You don't get the weekly digest, so there is nothing to stop."


async def test_turning_the_digest_off_while_it_is_being_sent_sticks(db_url: str) -> None:
    """The job reads the teams' rosters for a while; an "off" meanwhile is not undone
    when it records the week as handled."""
    clock = FixedClock(WEDNESDAY)
    async with running_calbot(db_url, clock=clock) as calbot:
        _org(calbot)
        alice = calbot.session("alice")
        await alice.say("/calendar digest on", channel="interviewers")
        roster = calbot.console.members

        async def members_while_alice_turns_it_off(
            workspace_id: str, team: TeamRef, *, on_behalf_of: Recipient | None = None
        ) -> list[Member]:
            await alice.say("/calendar digest off")
            return await roster(workspace_id, team, on_behalf_of=on_behalf_of)

        calbot.console.members = members_while_alice_turns_it_off  # type: ignore[method-assign]
        clock.advance(seconds=(MONDAY_0859_LONDON - WEDNESDAY).total_seconds() + 60)
        await _run_digest_job(calbot)
        calbot.console.members = roster  # type: ignore[method-assign]
        assert (await alice.say("/calendar digest")).text.startswith(
            "You don't get the weekly digest."
        )
