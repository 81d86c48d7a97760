"""TeamsChat.members (the roster read) against the fake Bot Connector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.errors import ChatNotFound, ChatNotInstalled, ChatScopeUnsupported, ChatThrottled
from bot.identity import TEAMS, ChatProfile, TeamRef, UserRef
from integrations.teams import origin
from integrations.teams.chat import TeamsChat
from integrations.teams.roster import ASK_IN_A_TEAM
from tests.integrations.teams.conftest import BOT_ID, TENANT, TeamsHarness
from tests.integrations.teams.team_fixtures import ALICE, BOB, GUS, TEAM_ID, many, seed_team

TEAM = TeamRef("conversation", TEAM_ID, "Interviewers")


def chat(teams: TeamsHarness) -> TeamsChat:
    port = teams.runtime.chats["teams"]
    assert isinstance(port, TeamsChat)
    return port


@pytest.fixture
def serving(teams: TeamsHarness) -> Iterator[origin.Origin]:
    """What the handler does for every inbound activity: this request's connector."""
    with origin.serving(origin.Origin(teams.connector.url, TENANT, BOT_ID, "calbot")) as found:
        yield found


@pytest.mark.usefixtures("serving")
async def test_members_maps_the_roster(teams: TeamsHarness) -> None:
    seed_team(teams.connector, (ALICE, BOB, GUS))
    teams.connector.add_member(
        "29:ext-guest",
        name="Eve External",
        aad_object_id="6f1c2e8a-0000-4b7a-9c1e-0000000000e7",
        email="eve_fabrikam.com#EXT#@contoso.onmicrosoft.com",
        conversation_id=TEAM_ID,
        role=None,  # some answers leave the role out
    )
    teams.connector.add_member(
        "28:other-bot", name="Polly", aad_object_id="", conversation_id=TEAM_ID
    )

    members = await chat(teams).members(TENANT, TEAM)

    by_name = {m.profile.display_name: m for m in members}
    alice = by_name["Alice Example"]
    assert alice.user == UserRef(TEAMS, TENANT, ALICE.aad)
    assert alice.profile == ChatProfile("Alice Example", "alice@contoso.com", None, is_admin=True)
    assert alice.address == {
        "service_url": teams.connector.url,
        "tenant_id": TENANT,
        "conversation_id": None,
        "conversation_type": "personal",
        "bot_id": BOT_ID,
        "bot_name": "calbot",
        "user_id": ALICE.teams_id,
        "user_aad_id": ALICE.aad,
        "channel_id": "msteams",
    }
    assert by_name["Bob Baker"].profile.is_admin is False
    assert by_name["Gus Guest"].profile.is_guest is True
    eve = by_name["Eve External"].profile
    assert eve.is_guest is True and eve.email is None  # a guest UPN is not a mailbox
    assert by_name["Polly"].profile.is_bot is True
    (call,) = teams.connector.find("pagedmembers")
    assert call.conversation_id == TEAM_ID


@pytest.mark.usefixtures("serving")
async def test_members_pages_with_continuation_tokens(teams: TeamsHarness) -> None:
    seed_team(teams.connector, many(1200))
    members = await chat(teams).members(TENANT, TEAM)
    assert len({m.user.user_id for m in members}) == 1200
    calls = teams.connector.find("pagedmembers")
    assert [c.query.get("continuationToken") for c in calls] == [None, "500", "1000"]


@pytest.mark.usefixtures("serving")
async def test_new_people_are_stored_and_known_ones_keep_their_1to1_chat(
    teams: TeamsHarness,
) -> None:
    seed_team(teams.connector, (ALICE, BOB))
    store = teams.runtime.store
    known: dict[str, object] = {
        "service_url": teams.connector.url,
        "conversation_id": "a:alice-1to1",
    }
    await store.upsert_user(ALICE.ref, ChatProfile("Alice Example"), known)

    await chat(teams).members(TENANT, TEAM)

    alice = await store.find_user(ALICE.ref)
    assert alice is not None and alice.address == known
    bob = await store.find_user(BOB.ref)
    assert bob is not None and bob.address is not None
    assert bob.address["user_id"] == BOB.teams_id
    assert bob.email == "bob@contoso.com"


@pytest.mark.parametrize(
    "team",
    [TeamRef("workspace", "", "everyone"), TeamRef("channel", "C123"), TeamRef("conversation", "")],
)
async def test_a_whole_tenant_or_a_foreign_team_ref_cannot_be_listed(
    teams: TeamsHarness, team: TeamRef
) -> None:
    with pytest.raises(ChatScopeUnsupported) as caught:
        await chat(teams).members(TENANT, team)
    assert isinstance(caught.value, ChatNotFound)
    assert str(caught.value) == ASK_IN_A_TEAM
    assert teams.connector.calls == []


@pytest.mark.usefixtures("serving")
@pytest.mark.parametrize(
    ("status", "expected"),
    [(403, ChatNotInstalled), (404, ChatNotFound), (429, ChatThrottled)],
)
async def test_roster_errors_are_neutral(
    teams: TeamsHarness, status: int, expected: type[Exception]
) -> None:
    seed_team(teams.connector, many(600))
    # The second page fails: nothing half-read is returned.
    teams.connector.fail_next(1, status, retry_after=3, after=1)
    with pytest.raises(expected):
        await chat(teams).members(TENANT, TEAM)
    assert len(teams.connector.calls) == 2


async def test_an_unknown_conversation_is_not_found(teams: TeamsHarness, serving) -> None:
    with pytest.raises(ChatNotFound):
        await chat(teams).members(TENANT, TeamRef("conversation", "19:gone@thread.tacv2"))


async def test_another_tenants_request_does_not_lend_its_connector(teams: TeamsHarness) -> None:
    """The service URL is only taken from a request of the same tenant."""
    with origin.serving(origin.Origin(teams.connector.url, "other-tenant", BOT_ID)):
        assert origin.current(TENANT) is None
        assert origin.current("other-tenant") is not None
