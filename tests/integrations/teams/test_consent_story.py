"""Issue 5's consent story on Teams, over the wire: three people of contoso.com are
blocked by "Need admin approval", paste Microsoft's page in their 1:1 chat, and the one
admin (CALBOT_ADMINS) gets one alert card, fixes it, and watches it turn "Resolved".

The console version (tests/e2e/test_consent_story.py) tells the same story in words.
The activities come from contoso.com's tenant as the sandbox directory knows it, so the
"Grant admin consent" URL names the same tenant on every platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from tests.fakes.mock_connector import ConnectorCall, MockConnector
from tests.integrations.teams.conftest import TeamsHarness
from tests.integrations.teams.team_fixtures import ALICE, CAROL, DAN, ERIN, Person, submit_actions
from tests.integrations.teams.test_connect_flow import open_url_actions

TENANT_GUID = "8f3e0a6c-4c1b-4d8e-9a51-2f6f0c1b7d42"  # contoso.com in the demo directory
GRANT_URL = (
    f"https://login.microsoftonline.com/{TENANT_GUID}/adminconsent"
    "?client_id=f573e3d3-ea9c-4d8d-9d8f-20107b8cedbd"
)
ADMIN = ALICE
BLOCKED = (CAROL, DAN, ERIN)


def _chat(person: Person) -> str:
    return f"a:personal-{person.teams_id}"


def _seed(connector: MockConnector) -> None:
    for person in (ADMIN, *BLOCKED):
        connector.add_member(
            person.teams_id,
            name=person.name,
            aad_object_id=person.aad,
            email=person.email,
            tenant_id=TENANT_GUID,
            conversation_id=_chat(person),
        )


def _personal(teams: TeamsHarness, person: Person, fixture: str, **fields: Any) -> dict[str, Any]:
    """An activity in ``person``'s 1:1 chat with calbot, from contoso.com's tenant."""
    activity = teams.activity(fixture, **fields)
    activity["from"] = {"id": person.teams_id, "name": person.name, "aadObjectId": person.aad}
    activity["conversation"].update(id=_chat(person), tenantId=TENANT_GUID)
    activity["channelData"]["tenant"] = {"id": TENANT_GUID}
    return activity


async def _say(teams: TeamsHarness, person: Person, text: str) -> list[ConnectorCall]:
    """``person`` types ``text``; returns what calbot answered in their chat."""
    before = len(teams.connector.posts(_chat(person)))
    response = await teams.post(_personal(teams, person, "message_personal", text=text))
    assert response.status == 201
    return teams.connector.posts(_chat(person))[before:]


async def _press(teams: TeamsHarness, person: Person, data: dict[str, Any]) -> list[ConnectorCall]:
    """``person`` presses an Action.Submit whose data is ``data``."""
    before = len(teams.connector.posts(_chat(person)))
    response = await teams.post(_personal(teams, person, "submit_personal", value=data))
    assert response.status == 201
    return teams.connector.posts(_chat(person))[before:]


def _card_text(call: ConnectorCall) -> str:
    return call.text + "\n" + "\n".join(str(card) for card in call.cards)


def _alerts(connector: MockConnector) -> list[ConnectorCall]:
    return [c for c in connector.received(ADMIN.teams_id) if "blocked in" in _card_text(c)]


def _connect_link(call: ConnectorCall) -> str:
    [url] = [a["url"] for a in open_url_actions(call.cards[0]) if "/connect/" in a["url"]]
    return str(url)


async def _at_microsoft(teams: TeamsHarness, link: str, email: str) -> dict[str, Any]:
    """Open the connect link and sign in at the sandbox; its JSON answer."""
    sandbox_url = teams.runtime.sandbox.url
    async with aiohttp.ClientSession() as browser:
        async with browser.get(link, allow_redirects=False) as opened:
            assert opened.status == 302
            authorize_url = opened.headers["Location"]
        async with browser.post(
            f"{sandbox_url}/_sandbox/approve",
            json={"authorize_url": authorize_url, "email": email, "decision": "approve"},
        ) as approved:
            assert approved.status == 200, await approved.text()
            answer: dict[str, Any] = await approved.json()
        if answer["location"]:
            assert answer["location"].startswith(f"{teams.base_url}/oauth/cronofy/callback?")
            async with browser.get(answer["location"]) as finished:
                assert finished.status == 200, await finished.text()
    return answer


async def test_three_blocked_people_one_alert_fixed_then_resolved(
    harness_factory: Callable[..., Awaitable[TeamsHarness]],
) -> None:
    teams = await harness_factory(CALBOT_ADMINS=ADMIN.email)
    connector = teams.connector
    _seed(connector)
    await _say(teams, ADMIN, "home")  # the admin has talked to calbot once: address stored
    sandbox = teams.runtime.sandbox.state
    sandbox.force_outcome("@contoso.com", "need_admin_approval")

    for person in BLOCKED:
        await _say(teams, person, "connect")
        await teams.runtime.outbox.drain()
        visit = await _at_microsoft(
            teams, _connect_link(connector.received(person.teams_id)[-1]), person.email
        )
        assert visit["location"] is None
        page = visit["page"]
        assert page["title"] == "Need admin approval"
        assert "AADSTS90094" in page["text"]

        answer = await _say(teams, person, page["text"])  # pasted what Microsoft showed
        assert any("told your admins" in _card_text(c) for c in answer), answer
        await teams.runtime.outbox.drain()

    alerts = _alerts(connector)
    assert len(alerts) == 1, "one alert for the tenant, edited as it grows"
    alert = alerts[0]
    alert_id = connector.sent_id(alert)
    edits = connector.updates(activity_id=alert_id)
    latest = edits[-1] if edits else alert
    body = _card_text(latest)
    assert "3 people" in body
    for person in BLOCKED:
        assert person.name in body
    assert "AADSTS90094" in body
    card = latest.cards[0]
    grant = [a for a in open_url_actions(card) if a["title"] == "Grant admin consent"]
    assert [a["url"] for a in grant] == [GRANT_URL]
    buttons = {a["title"]: a["data"] for a in submit_actions(card)}
    for person in BLOCKED:
        assert not any("blocked in" in _card_text(c) for c in connector.received(person.teams_id))

    [checklist] = await _press(teams, ADMIN, buttons["Show support checklist"])
    said = _card_text(checklist)
    for needle in ("contoso.com", *(p.email for p in BLOCKED), "AADSTS90094"):
        assert needle in said

    # A non-admin pressing a copy of the button changes nothing.
    [refused] = await _press(teams, CAROL, buttons["I've fixed it"])
    assert "Only workspace admins" in refused.text

    # The admin grants consent in Entra (the sandbox stands in), then says so.
    sandbox.force_outcome("@contoso.com", "approve")
    [reply] = await _press(teams, ADMIN, buttons["I've fixed it"])
    assert "asked everyone affected" in reply.text
    [again] = await _press(teams, ADMIN, buttons["I've fixed it"])
    assert "already marked fixed" in again.text
    await teams.runtime.outbox.drain()

    for person in BLOCKED:
        retry = connector.received(person.teams_id)[-1]
        assert "Your admin has approved calendar access" in _card_text(retry)
        visit = await _at_microsoft(teams, _connect_link(retry), person.email)
        assert visit["location"], visit
        await teams.runtime.outbox.drain()

    assert len(_alerts(connector)) == 1
    final = connector.updates(activity_id=alert_id)[-1]
    assert final.method == "PUT"
    assert "Resolved" in _card_text(final)
    assert submit_actions(final.cards[0]) == []
    assert open_url_actions(final.cards[0]) == []
