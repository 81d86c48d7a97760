"""A small Teams team on the fake connector, and store shortcuts for people's states."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.identity import TEAMS, ChatProfile, UserRef
from bot.ports import NewConnection, TokenSet
from tests.fakes.mock_connector import MockConnector
from tests.integrations.teams.conftest import ALICE_AAD, ALICE_TEAMS_ID, TENANT, TeamsHarness

# From tests/fixtures/teams/message_channel_mention.json.
TEAM_ID = "19:team0a1b2c3d4e5f@thread.tacv2"
CHANNEL_CONVERSATION = "19:9f3c0a1b2c3d4e5f@thread.tacv2;messageid=1764234603441"


@dataclass(frozen=True)
class Person:
    teams_id: str
    aad: str
    name: str
    email: str
    role: str = "user"

    @property
    def ref(self) -> UserRef:
        return UserRef(TEAMS, TENANT, self.aad)


def _aad(n: int) -> str:
    return f"6f1c2e8a-{n:04d}-4b7a-9c1e-{n:012d}"


ALICE = Person(ALICE_TEAMS_ID, ALICE_AAD, "Alice Example", "alice@contoso.com", "owner")
BOB = Person("29:bob-teams-id", _aad(2), "Bob Baker", "bob@contoso.com")
CAROL = Person("29:carol-teams-id", _aad(3), "Carol Chen", "carol@contoso.com")
DAN = Person("29:dan-teams-id", _aad(4), "Dan Dubois", "dan@contoso.com")
ERIN = Person("29:erin-teams-id", _aad(5), "Erin Evans", "erin@contoso.com")
GUS = Person("29:gus-teams-id", _aad(6), "Gus Guest", "gus@fabrikam.com", "guest")
TEAM = (ALICE, BOB, CAROL, DAN, ERIN, GUS)


def seed_team(connector: MockConnector, people: tuple[Person, ...] = TEAM) -> None:
    for person in people:
        connector.add_member(
            person.teams_id,
            name=person.name,
            aad_object_id=person.aad,
            email=person.email,
            tenant_id=TENANT,
            conversation_id=TEAM_ID,
            role=person.role,
        )


def many(count: int, start: int = 100) -> tuple[Person, ...]:
    return tuple(
        Person(f"29:member-{n}", _aad(n), f"Member {n:05d}", f"member{n}@contoso.com")
        for n in range(start, start + count)
    )


async def connect_in_store(teams: TeamsHarness, person: Person) -> None:
    """Bob connected earlier: a link opened and completed, straight through the store."""
    store, now = teams.runtime.store, teams.runtime.clock.now()
    user = await store.upsert_user(person.ref, ChatProfile(person.name, person.email))
    link = await store.create_link(user.id, secrets.token_hex(32), now + timedelta(days=1), [])
    await store.click_link(link.id, "nonce", now)
    tokens = TokenSet("access", "refresh", now + timedelta(hours=1), sub=f"acc_{person.aad}")
    profile = NewConnection(tokens, f"acc_{person.aad}", "exchange", "office365", "p", person.email)
    assert await store.complete_link(link.id, "nonce", profile, now, [])


async def link_sent_in_store(teams: TeamsHarness, person: Person) -> None:
    store, now = teams.runtime.store, teams.runtime.clock.now()
    user = await store.upsert_user(person.ref, ChatProfile(person.name, person.email))
    await store.create_link(user.id, secrets.token_hex(32), now + timedelta(days=7), [])


def channel_message(
    teams: TeamsHarness, text: str, sender: Person = ALICE, mentions: tuple[Person, ...] = ()
) -> dict[str, Any]:
    """``@calbot <text>`` in the team's channel, from ``sender``, mentioning ``mentions``."""
    activity = teams.activity("message_channel_mention")
    activity["text"] = f"<at>calbot</at> {text}"
    activity["from"] = {"id": sender.teams_id, "name": sender.name, "aadObjectId": sender.aad}
    for person in mentions:
        activity["entities"].append(
            {
                "type": "mention",
                "text": f"<at>{person.name}</at>",
                "mentioned": {"id": person.teams_id, "name": person.name},
            }
        )
    return activity


def personal_submit(teams: TeamsHarness, data: dict[str, Any], sender: Person = ALICE) -> Any:
    """An Action.Submit pressed in ``sender``'s 1:1 chat with the bot."""
    activity = teams.activity("submit_personal", value=data)
    activity["from"] = {"id": sender.teams_id, "name": sender.name, "aadObjectId": sender.aad}
    if sender != ALICE:  # the fixture's chat is Alice's
        activity["conversation"]["id"] = f"a:personal-{sender.teams_id}"
    return activity


def submit_actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        action
        for element in card["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
        if action["type"] == "Action.Submit"
    ]


def connect_dms(connector: MockConnector, person: Person) -> list[Any]:
    """The connect-link DMs ``person`` received (calls the connector accepted)."""
    return [c for c in connector.received(person.teams_id) if "/connect/" in str(c.body)]
