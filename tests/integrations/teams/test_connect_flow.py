"""The connect flow on Teams, end to end over the wire.

Teams → /api/messages → the core → the outbox → the fake Bot Connector; the browser
part is acted out against calbot's /connect and callback pages and the Cronofy sandbox.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.identity import TEAMS, UserRef
from tests.fakes.mock_connector import MockConnector
from tests.integrations.teams.conftest import ALICE_AAD, PERSONAL_CHAT, TENANT, TeamsHarness


def open_url_actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        action
        for element in card["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
        if action["type"] == "Action.OpenUrl"
    ]


async def connect_via_browser(teams: TeamsHarness, link: str, email: str) -> None:
    """What the user's browser does: open the link, consent at 'Cronofy', come back."""
    sandbox_url = teams.runtime.sandbox.url
    async with aiohttp.ClientSession() as browser:
        async with browser.get(link, allow_redirects=False) as opened:
            assert opened.status == 302
            authorize_url = opened.headers["Location"]
        assert authorize_url.startswith(sandbox_url)
        async with browser.post(
            f"{sandbox_url}/_sandbox/approve",
            json={"authorize_url": authorize_url, "email": email, "decision": "approve"},
        ) as approved:
            assert approved.status == 200
            callback = (await approved.json())["location"]
        assert callback.startswith(f"{teams.base_url}/oauth/cronofy/callback?")
        async with browser.get(callback) as finished:
            assert finished.status == 200, await finished.text()


async def test_connect_from_personal_chat_then_dm_is_edited_in_place(teams: TeamsHarness) -> None:
    connector: MockConnector = teams.connector

    response = await teams.say("connect")
    assert response.status == 201

    # The immediate answer is a reply in the same 1:1 chat, as an Adaptive Card.
    (reply,) = connector.posts(PERSONAL_CHAT)
    assert reply.route == "reply"
    assert "I've sent you a DM" in reply.text
    assert reply.cards and reply.cards[0]["version"] == "1.5"

    # The user was stored under tenant + Entra object id, with a plain-JSON address.
    user = await teams.runtime.store.find_user(UserRef(TEAMS, TENANT, ALICE_AAD))
    assert user is not None
    assert user.email == "alice@contoso.com"  # from the roster lookup
    assert user.tz == "Europe/London"  # from the activity's localTimezone
    assert user.address == {
        "service_url": connector.url,
        "tenant_id": TENANT,
        "conversation_id": PERSONAL_CHAT,
        "conversation_type": "personal",
        "bot_id": "28:00000000-0000-0000-0000-0000ca1b0700",
        "bot_name": "calbot",
        "user_id": "29:1Qz8rH3xB-alice-teams-id-0001",
        "user_aad_id": ALICE_AAD,
        "channel_id": "msteams",
    }

    # The outbox delivers the personal link into the 1:1 chat.
    await teams.runtime.outbox.drain()
    link_message = connector.posts(PERSONAL_CHAT)[-1]
    assert link_message is not reply
    (button,) = open_url_actions(link_message.cards[0])
    link = button["url"]
    assert link.startswith(f"{teams.base_url}/connect/")
    dm_activity_id = connector.sent_id(link_message)

    await connect_via_browser(teams, link, "alice@contoso.com")

    # The same DM is edited in place: a PUT on the activity id the connector gave it.
    await teams.runtime.outbox.drain()
    (update,) = connector.updates(activity_id=dm_activity_id)
    assert update.conversation_id == PERSONAL_CHAT
    assert update.method == "PUT"
    assert "Connected: Office 365 (alice@contoso.com)" in update.text
    assert update.body["id"] == dm_activity_id
    # Local mode: nothing outbound carried a token.
    assert all(call.authorization is None for call in connector.calls)


async def test_disconnect_button_is_an_action_submit(teams: TeamsHarness) -> None:
    await teams.say("connect")
    await teams.runtime.outbox.drain()
    (button,) = open_url_actions(teams.connector.posts(PERSONAL_CHAT)[-1].cards[0])
    await connect_via_browser(teams, button["url"], "alice@contoso.com")
    await teams.runtime.outbox.drain()

    # The "Not me? Disconnect" button on the edited card is an Action.Submit...
    (update,) = teams.connector.updates()
    submit = [
        action
        for element in update.cards[0]["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
        if action["type"] == "Action.Submit"
    ]
    assert submit[0]["data"] == {"action_id": "connect.disconnect", "value": "self"}
    assert submit[0]["style"] == "destructive"

    # ...and pressing it arrives as a message whose value is the button's data.
    teams.connector.clear()
    pressed = teams.activity("submit_personal", value=submit[0]["data"])
    response = await teams.post(pressed)
    assert response.status == 201
    (reply,) = teams.connector.posts(PERSONAL_CHAT)
    assert "Disconnected" in reply.text
    assert "Office 365" in reply.text

    teams.connector.clear()
    await teams.say("status")
    (status,) = teams.connector.posts(PERSONAL_CHAT)
    assert "isn't connected" in status.text


async def test_help(teams: TeamsHarness) -> None:
    response = await teams.say("help")
    assert response.status == 201
    (reply,) = teams.connector.posts(PERSONAL_CHAT)
    card = reply.cards[0]
    assert "connect" in reply.text and "disconnect" in reply.text
    assert "`" not in reply.text  # Adaptive Card markdown has no inline code
    assert reply.body["summary"] == "calbot help"
    assert card["type"] == "AdaptiveCard"


async def test_connect_asked_in_a_channel_sends_the_link_to_a_new_1to1_chat(
    teams: TeamsHarness,
) -> None:
    channel_message = teams.activity("message_channel_mention")
    channel_id = channel_message["conversation"]["id"]

    response = await teams.post(channel_message)
    assert response.status == 201
    # The answer in the channel says "check your DMs" and never carries the link.
    (reply,) = teams.connector.posts(channel_id)
    assert "DM" in reply.text
    assert "/connect/" not in str(reply.body)

    await teams.runtime.outbox.drain()
    # No 1:1 chat was known, so the gateway created one (tenant + user) and sent there.
    (created,) = teams.connector.find("create")
    assert created.body["members"] == [{"id": "29:1Qz8rH3xB-alice-teams-id-0001"}]
    assert created.body["channelData"] == {"tenant": {"id": TENANT}}
    assert created.body["isGroup"] is False
    new_chat = created.response["id"]
    (dm,) = teams.connector.posts(new_chat)
    assert "/connect/" in str(dm.body)
    assert not any("/connect/" in str(c.body) for c in teams.connector.posts(channel_id))


async def test_bot_mention_is_stripped(teams: TeamsHarness) -> None:
    activity = teams.activity("message_channel_mention", text="<at>calbot</at> help")
    await teams.post(activity)
    (reply,) = teams.connector.posts(activity["conversation"]["id"])
    assert "calbot help" == reply.body["summary"]
