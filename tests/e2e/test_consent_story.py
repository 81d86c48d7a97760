"""From "Need admin approval" to one admin alert, to the fix, to everyone connected."""

from __future__ import annotations

import httpx

from bot.clock import FixedClock
from bot.identity import ChatProfile
from tests.support import RunningCalbot, running_calbot

TENANT_GUID = "8f3e0a6c-4c1b-4d8e-9a51-2f6f0c1b7d42"  # contoso.com in the demo directory


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


def _text(message) -> str:
    parts = []
    for block in message.blocks:
        parts.append(getattr(block, "text", ""))
        for label, value in getattr(block, "items", ()):
            parts.append(f"{label}: {value}")
    return "\n".join(parts)


async def _try_connect(calbot: RunningCalbot, user: str):
    session = calbot.session(user)
    await session.say("/calendar connect")
    await calbot.settle()
    url = [dm for dm in session.inbox() if dm.message.buttons()][-1].message.buttons()[0].url
    assert url
    return await session.follow_connect_link(url, sandbox_url=calbot.sandbox_url)


def _alerts(calbot: RunningCalbot, admin: str = "alice"):
    return [dm for dm in calbot.session(admin).inbox() if "blocked in" in dm.message.text]


async def test_three_blocked_people_make_one_alert_that_closes_when_all_connect(
    calbot: RunningCalbot,
) -> None:
    _org(calbot)
    await calbot.session("alice").say("home")  # the admin is known to calbot
    calbot.runtime.sandbox.state.force_outcome("@contoso.com", "need_admin_approval")

    for user in ("bob", "carol", "dan"):
        visit = await _try_connect(calbot, user)
        assert visit.title == "Need admin approval"
        assert "AADSTS90094" in visit.text
        # The person pastes what Microsoft showed.
        answer = await calbot.session(user).say(visit.text)
        assert "told your admins" in _text(answer)
        await calbot.settle()

    alerts = _alerts(calbot)
    assert len(alerts) == 1, "one alert for the tenant, edited as it grows"
    alert = alerts[0]
    body = _text(alert.message)
    assert "3 people" in body
    for name in ("Bob Baker", "Carol Chen", "Dan Dubois"):
        assert name in body
    assert "AADSTS90094" in body
    assert "Correlation ids" in body
    assert "f573e3d3-ea9c-4d8d-9d8f-20107b8cedbd" in body or "Cronofy for Office 365" in body
    grant = next(b for b in alert.message.buttons() if b.label == "Grant admin consent")
    assert grant.url == (
        f"https://login.microsoftonline.com/{TENANT_GUID}/adminconsent"
        "?client_id=f573e3d3-ea9c-4d8d-9d8f-20107b8cedbd"
    )

    checklist_button = next(
        b for b in alert.message.buttons() if b.label == "Show support checklist"
    )
    checklist = await calbot.session("alice").press(checklist_button)
    assert checklist is not None
    text = _text(checklist)
    for needle in (
        "contoso.com",
        "bob@contoso.com",
        "carol@contoso.com",
        "AADSTS90094",
        "screenshot",
    ):
        assert needle in text

    # The admin grants consent in Entra (the sandbox stands in), then says so.
    calbot.runtime.sandbox.state.force_outcome("@contoso.com", "approve")
    fixed = next(b for b in alert.message.buttons() if b.label == "I've fixed it")
    reply = await calbot.session("alice").press(fixed)
    assert reply is not None and "asked everyone affected" in reply.text
    again = await calbot.session("alice").press(fixed)
    assert again is not None and "already marked fixed" in again.text
    await calbot.settle()
    assert "0 of 3 connected" in _text(_alerts(calbot)[0].message)

    for user in ("bob", "carol", "dan"):
        retry = calbot.session(user).last_dm()
        assert "Your admin has approved calendar access" in _text(retry.message)
        url = retry.message.buttons()[0].url
        assert url
        visit = await calbot.session(user).follow_connect_link(url, sandbox_url=calbot.sandbox_url)
        assert visit.title == "Your calendar is connected"
        await calbot.settle()

    final = _alerts(calbot)
    assert len(final) == 1
    assert "Resolved" in _text(final[0].message)
    assert final[0].message.buttons() == []


async def test_a_failure_after_the_fix_asks_for_a_new_sign_in_record(calbot: RunningCalbot) -> None:
    _org(calbot)
    await calbot.session("alice").say("home")
    sandbox = calbot.runtime.sandbox.state
    sandbox.force_outcome("@contoso.com", "need_admin_approval")
    visit = await _try_connect(calbot, "bob")
    await calbot.session("bob").say(visit.text)
    await calbot.settle()
    alert = _alerts(calbot)[0]
    fixed = next(b for b in alert.message.buttons() if b.label == "I've fixed it")
    await calbot.session("alice").press(fixed)
    await calbot.settle()

    # Still blocked: the admin changed the wrong thing.
    retry = calbot.session("bob").last_dm().message.buttons()[0].url
    assert retry
    visit = await calbot.session("bob").follow_connect_link(retry, sandbox_url=calbot.sandbox_url)
    assert visit.title == "Need admin approval"
    await calbot.session("bob").say(visit.text)
    await calbot.settle()
    body = _text(_alerts(calbot)[0].message)
    assert "It failed again after the fix" in body
    assert "new" in body.lower() and "sign-in" in body.lower()


async def test_oauth_error_asks_the_user_and_a_button_answer_reaches_the_admin(
    calbot: RunningCalbot,
) -> None:
    _org(calbot)
    await calbot.session("alice").say("home")
    visit = await _try_connect(calbot, "bob")  # approve works, so cancel instead
    assert visit.status == 200
    await _try_connect(calbot, "carol")
    carol = calbot.session("carol")
    await carol.say("/calendar disconnect")
    await carol.say("/calendar connect")
    await calbot.settle()
    url = carol.last_dm().message.buttons()[0].url
    assert url
    await carol.follow_connect_link(url, sandbox_url=calbot.sandbox_url, decision="cancel")
    await calbot.settle()
    question = carol.last_dm()
    need = next(b for b in question.message.buttons() if b.label == "Need admin approval")
    reply = await carol.press(need)
    assert reply is not None and "told your admins" in _text(reply)
    await calbot.settle()
    assert len(_alerts(calbot)) == 1


async def test_non_admins_and_other_workspaces_cannot_act_on_an_alert(
    calbot: RunningCalbot,
) -> None:
    _org(calbot)
    await calbot.session("alice").say("home")
    calbot.runtime.sandbox.state.force_outcome("@contoso.com", "need_admin_approval")
    visit = await _try_connect(calbot, "bob")
    await calbot.session("bob").say(visit.text)
    await calbot.settle()
    incident = _alerts(calbot)[0].message.buttons()[1].value
    refused = await calbot.session("bob").press_action("consent.fixed", incident)
    assert refused is not None and "Only workspace admins" in refused.text
    unknown = await calbot.session("alice").press_action("consent.fixed", "999")
    assert unknown is not None and "can't find" in unknown.text


async def test_a_stalled_click_gets_the_follow_up_question(db_url: str) -> None:
    clock = FixedClock()
    async with running_calbot(db_url, clock=clock) as calbot:
        _org(calbot)
        bob = calbot.session("bob")
        await bob.say("/calendar connect")
        await calbot.settle()
        url = bob.last_dm().message.buttons()[0].url
        assert url
        async with httpx.AsyncClient() as http:
            assert (await http.get(url)).status_code == 302  # clicked, then stuck at Microsoft

        assert await calbot.runtime.jobs.get("stalled").run() == 0
        clock.advance(minutes=11)
        assert await calbot.runtime.jobs.get("stalled").run() == 1
        assert await calbot.runtime.jobs.get("stalled").run() == 0, "asked once"
        await calbot.settle()
        dm = bob.last_dm()
        assert "What did Microsoft show?" in dm.message.text
        assert dm.edits == 1, "the link DM itself turns into the question"


async def test_alerts_go_to_the_alert_channel_when_one_is_set(db_url: str) -> None:
    async with running_calbot(db_url, CALBOT_ALERT_CHANNEL="calendar-admins") as calbot:
        _org(calbot)
        await calbot.session("alice").say("home")
        calbot.runtime.sandbox.state.force_outcome("@contoso.com", "need_admin_approval")
        visit = await _try_connect(calbot, "bob")
        await calbot.session("bob").say(visit.text)
        await calbot.settle()
        posted = calbot.console.inbox("#calendar-admins")
        assert len(posted) == 1 and "blocked in contoso.com" in posted[0].message.text
        assert _alerts(calbot) == [], "no DMs when the alert goes to the channel"


async def test_admin_setup_records_the_consent_option_and_the_report_shows_it(
    calbot: RunningCalbot,
) -> None:
    _org(calbot)
    calbot.console.channels["interviewers"] = ["alice", "bob"]
    alice = calbot.session("alice")
    card = await alice.say("/calendar admin setup")
    body = _text(card)
    assert TENANT_GUID in body
    consent = next(b for b in card.buttons() if b.action_id == "consent.open_link")
    assert consent.url and TENANT_GUID in consent.url
    option_b = next(b for b in card.buttons() if b.value == "B")
    updated = await alice.press(option_b)
    assert updated is not None and "Recorded: Option B" in _text(updated)
    refused = await calbot.session("bob").press(option_b)
    assert refused is not None and "Only workspace admins" in refused.text

    await alice.say("/calendar team #interviewers")
    await calbot.settle()
    assert "consent policy: Option B" in _text(alice.last_dm().message)


async def test_installing_calbot_dms_the_installer_the_onboarding_card(
    calbot: RunningCalbot,
) -> None:
    _org(calbot)
    bob = calbot.session("bob")  # not a workspace admin, but he installed the app
    await calbot.runtime.bot.installed(bob.actor())
    await calbot.runtime.bot.installed(bob.actor())  # a repeated install event
    await calbot.settle()
    cards = [dm for dm in bob.inbox() if "Set up calendar access" in dm.message.text]
    assert len(cards) == 1
    assert TENANT_GUID in _text(cards[0].message)


async def test_the_channel_alert_stays_one_message_when_another_admin_appears(
    db_url: str,
) -> None:
    """The channel's alert is the incident's, not the first admin's: an admin seen for
    the first time after it was posted must not make the next update a second post."""
    async with running_calbot(
        db_url, CALBOT_ALERT_CHANNEL="calendar-admins", CALBOT_ADMINS="dan@contoso.com"
    ) as calbot:
        _org(calbot)
        await calbot.session("dan").say("home")
        calbot.runtime.sandbox.state.force_outcome("@contoso.com", "need_admin_approval")
        visit = await _try_connect(calbot, "bob")
        await calbot.session("bob").say(visit.text)
        await calbot.settle()
        assert len(calbot.console.inbox("#calendar-admins")) == 1

        await calbot.session("alice").say("home")  # a workspace admin, now known
        visit = await _try_connect(calbot, "carol")
        await calbot.session("carol").say(visit.text)
        await calbot.settle()
        posted = calbot.console.inbox("#calendar-admins")
        assert len(posted) == 1, [p.message.text for p in posted]
        assert posted[0].edits >= 1 and "carol@contoso.com" in _text(posted[0].message)
