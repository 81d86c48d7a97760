"""TeamsChat (the outbound gateway) against the fake Bot Connector: sends, edits, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.errors import ChatError, ChatNotFound, ChatNotInstalled, ChatThrottled, ChatTransient
from bot.identity import TEAMS, ChatProfile, Recipient, SentMessage, UserRef
from bot.messages import simple
from integrations.teams import origin
from integrations.teams.chat import TeamsChat
from integrations.teams.errors import retry_after
from tests.integrations.teams.conftest import (
    ALICE_AAD,
    ALICE_TEAMS_ID,
    BOT_ID,
    PERSONAL_CHAT,
    TENANT,
    TeamsHarness,
)
from tests.integrations.teams.team_fixtures import BOB, seed_team

ALICE = UserRef(TEAMS, TENANT, ALICE_AAD)


def address(teams: TeamsHarness, **changes) -> dict:
    base = {
        "service_url": teams.connector.url,
        "tenant_id": TENANT,
        "conversation_id": PERSONAL_CHAT,
        "conversation_type": "personal",
        "bot_id": BOT_ID,
        "bot_name": "calbot",
        "user_id": ALICE_TEAMS_ID,
        "user_aad_id": ALICE_AAD,
        "channel_id": "msteams",
    }
    return {**base, **changes}


def chat(teams: TeamsHarness) -> TeamsChat:
    port = teams.runtime.chats["teams"]
    assert isinstance(port, TeamsChat) and port.platform == "teams"
    return port


async def test_send_dm_continues_the_stored_conversation(teams: TeamsHarness) -> None:
    sent = await chat(teams).send_dm(Recipient(ALICE, address(teams)), simple("Hello **Alice**"))

    (call,) = teams.connector.posts(PERSONAL_CHAT)
    assert call.body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert call.body["from"]["id"] == BOT_ID
    assert call.body["recipient"]["id"] == ALICE_TEAMS_ID
    assert sent == SentMessage(
        "teams", {"address": address(teams), "activity_id": teams.connector.sent_id(call)}
    )


async def test_send_dm_with_only_a_user_creates_the_1to1_chat(teams: TeamsHarness) -> None:
    partial = {"service_url": teams.connector.url, "tenant_id": TENANT, "user_id": ALICE_TEAMS_ID}
    sent = await chat(teams).send_dm(Recipient(ALICE, partial), simple("Hello"))

    create, post = teams.connector.calls
    assert create.route == "create"
    assert create.body["members"] == [{"id": ALICE_TEAMS_ID}]
    assert create.body["channelData"] == {"tenant": {"id": TENANT}}
    new_chat = create.response["id"]
    assert post.conversation_id == new_chat
    # The returned reference is complete, so the message can be edited later.
    assert sent.ref["address"]["conversation_id"] == new_chat
    assert sent.ref["address"]["user_aad_id"] == ALICE_AAD
    assert sent.ref["activity_id"] == teams.connector.sent_id(post)


async def test_update_puts_the_same_activity(teams: TeamsHarness) -> None:
    port = chat(teams)
    sent = await port.send_dm(Recipient(ALICE, address(teams)), simple("Connect your calendar"))
    await port.update(sent, simple("Connected: Office 365 (alice@contoso.com)"))

    (update,) = teams.connector.updates(activity_id=sent.ref["activity_id"])
    assert update.conversation_id == PERSONAL_CHAT
    assert update.body["id"] == sent.ref["activity_id"]
    assert "Connected: Office 365" in update.text


async def test_update_without_a_reference_is_not_found(teams: TeamsHarness) -> None:
    with pytest.raises(ChatNotFound):
        await chat(teams).update(SentMessage("teams", {}), simple("x"))
    assert teams.connector.calls == []


async def test_profile_reads_the_roster_and_keeps_our_time_zone(teams: TeamsHarness) -> None:
    await teams.post(teams.activity("installation_update_personal"))
    await teams.say("status")  # localTimezone → stored tz
    teams.connector.clear()
    profile = await chat(teams).profile(ALICE)
    assert profile.display_name == "Alice Example"
    assert profile.email == "alice@contoso.com"
    assert profile.tz == "Europe/London"
    (lookup,) = teams.connector.find("member")
    assert lookup.conversation_id == PERSONAL_CHAT


async def test_profile_of_an_unknown_user_is_not_found(teams: TeamsHarness) -> None:
    with pytest.raises(ChatNotFound):
        await chat(teams).profile(UserRef(TEAMS, TENANT, "nobody"))


# --- the error mapping --------------------------------------------------------------------


async def test_429_is_throttled_with_retry_after(teams: TeamsHarness) -> None:
    teams.connector.fail_next(1, 429, retry_after=7)
    with pytest.raises(ChatThrottled) as caught:
        await chat(teams).send_dm(Recipient(ALICE, address(teams)), simple("hi"))
    assert caught.value.retry_after == 7.0
    assert len(teams.connector.calls) == 1  # the SDK did not retry on its own


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (403, "BotNotInConversationRoster", ChatNotInstalled),
        (404, "ConversationNotFound", ChatNotFound),
        (412, None, ChatTransient),
        (500, None, ChatTransient),
        (502, None, ChatTransient),
        (503, None, ChatTransient),
        (504, None, ChatTransient),
        (401, "Unauthorized", ChatTransient),
        (413, "MessageSizeTooBig", ChatError),
    ],
)
async def test_connector_errors_become_neutral_errors(
    teams: TeamsHarness, status: int, code: str | None, expected: type[Exception]
) -> None:
    teams.connector.fail_next(1, status, code=code)
    with pytest.raises(expected) as caught:
        await chat(teams).send_dm(Recipient(ALICE, address(teams)), simple("hi"))
    assert type(caught.value) is expected
    # One call: retries (and their backoff) belong to the outbox, not the SDK.
    assert len(teams.connector.calls) == 1


async def test_errors_on_update_are_mapped_too(teams: TeamsHarness) -> None:
    port = chat(teams)
    sent = await port.send_dm(Recipient(ALICE, address(teams)), simple("x"))
    teams.connector.fail_next(1, 404)
    with pytest.raises(ChatNotFound):
        await port.update(sent, simple("y"))


async def test_an_unreachable_connector_is_transient(teams: TeamsHarness) -> None:
    dead = address(teams, service_url="http://127.0.0.1:9/")
    with pytest.raises(ChatTransient):
        await chat(teams).send_dm(Recipient(ALICE, dead), simple("hi"))


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after("7") == 7.0
    assert retry_after("0.5") == 0.5
    assert retry_after(None) == 1.0
    assert retry_after("soon") == 1.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 100 < retry_after(later) <= 120


# --- the outbox on top of the gateway -------------------------------------------------------


async def test_outbox_honours_retry_after_from_teams(teams: TeamsHarness) -> None:
    await teams.say("connect")
    teams.connector.clear()
    teams.connector.fail_next(1, 429, retry_after=30)
    before = datetime.now(UTC)

    await teams.runtime.outbox.drain()

    (attempt,) = teams.connector.calls
    assert attempt.status == 429
    due = await teams.runtime.store.next_due()
    assert due is not None
    due = due if due.tzinfo else due.replace(tzinfo=UTC)
    assert timedelta(seconds=29) <= due - before <= timedelta(seconds=32)


async def test_outbox_gives_up_on_an_uninstalled_app(teams: TeamsHarness) -> None:
    await teams.say("connect")
    teams.connector.clear()
    teams.connector.fail_next(1, 403, code="BotNotInConversationRoster")
    await teams.runtime.outbox.drain()
    assert len(teams.connector.calls) == 1
    assert await teams.runtime.store.next_due() is None  # dead, not retried


# --- profiles of people picked by Entra object id -------------------------------------


async def test_profile_of_someone_stored_without_an_address_finds_and_keeps_one(
    teams: TeamsHarness,
) -> None:
    """A row with no Teams address (e.g. made from the store) is looked up while a turn
    is being served, in that turn's conversation, and keeps what a DM needs."""
    seed_team(teams.connector)
    await teams.runtime.store.upsert_user(BOB.ref, ChatProfile("Bob", None, "America/Denver"))
    served = origin.Origin(teams.connector.url, TENANT, BOT_ID, "calbot", PERSONAL_CHAT)
    with origin.serving(served):
        profile = await chat(teams).profile(BOB.ref)
    assert (profile.display_name, profile.email, profile.tz) == (
        "Bob Baker",
        "bob@contoso.com",
        "America/Denver",
    )
    (lookup,) = teams.connector.find("member")
    assert (lookup.conversation_id, lookup.member_id) == (PERSONAL_CHAT, BOB.aad)
    stored = await teams.runtime.store.find_user(BOB.ref)
    assert stored is not None and stored.address is not None
    assert stored.address["user_id"] == BOB.teams_id
    assert stored.address["service_url"] == teams.connector.url
    assert stored.address["conversation_id"] is None  # the first DM opens the 1:1


async def test_profile_outside_a_turn_keeps_to_what_is_stored(teams: TeamsHarness) -> None:
    await teams.runtime.store.upsert_user(BOB.ref, ChatProfile("Bob", "bob@contoso.com"))
    profile = await chat(teams).profile(BOB.ref)
    assert profile.display_name == "Bob"
    assert teams.connector.calls == []
