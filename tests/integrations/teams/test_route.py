"""POST /api/messages over HTTP: status codes, invokes, dedupe, auth, installs."""

from __future__ import annotations

import jwt
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.identity import TEAMS, UserRef
from tests.integrations.teams.conftest import (
    ALICE_AAD,
    PERSONAL_CHAT,
    TENANT,
    TeamsHarness,
)

CARD = "application/vnd.microsoft.card.adaptive"


async def alice(teams: TeamsHarness):
    return await teams.runtime.store.find_user(UserRef(TEAMS, TENANT, ALICE_AAD))


# --- Action.Execute (adaptiveCard/action invoke) ----------------------------------------


async def test_adaptive_card_action_invoke_returns_200_with_a_card(teams: TeamsHarness) -> None:
    response = await teams.post(teams.activity("invoke_adaptive_card_action"))

    # botbuilder 4.17's CloudAdapter.process answers 500 here; our route answers 200.
    assert response.status == 200
    assert response.content_type == "application/json"
    body = await response.json()
    assert body["statusCode"] == 200
    assert body["type"] == CARD
    card = body["value"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert "new personal link" in str(card)
    # An invoke answers in the HTTP response, not with a message on the connector...
    assert teams.connector.posts(PERSONAL_CHAT) == []
    # ...and the action's work (a new link DM) goes through the outbox as usual.
    await teams.runtime.outbox.drain()
    (dm,) = teams.connector.posts(PERSONAL_CHAT)
    assert f"{teams.base_url}/connect/" in str(dm.body)


async def test_sdk_process_still_fails_invokes_with_a_body(teams: TeamsHarness) -> None:
    """Why route.py exists: pins the 4.17 bug. If this starts passing with 200, the SDK
    was fixed and route.py could shrink (reference/teams.md §2.4)."""
    parts = teams.runtime.extras["teams"]
    app = web.Application()

    async def via_sdk(request: web.Request) -> web.StreamResponse:
        return await parts["adapter"].process(request, parts["handler"])

    app.router.add_post("/sdk", via_sdk)
    async with TestClient(TestServer(app)) as client:
        response = await client.post("/sdk", json=teams.activity("invoke_adaptive_card_action"))
        assert response.status == 500


async def test_malformed_card_action_is_a_400_not_a_500(teams: TeamsHarness) -> None:
    invoke = teams.activity("invoke_adaptive_card_action", value={"action": {"type": "Action.Foo"}})
    response = await teams.post(invoke)
    assert response.status == 400
    body = await response.json()
    assert body["statusCode"] == 400
    assert body["type"] == "application/vnd.microsoft.error"


async def test_unknown_invoke_is_501(teams: TeamsHarness) -> None:
    response = await teams.post(teams.activity("invoke_adaptive_card_action", name="foo/bar"))
    assert response.status == 501


# --- dedupe -------------------------------------------------------------------------------


async def test_a_repeated_message_is_processed_once(teams: TeamsHarness) -> None:
    message = teams.activity("message_personal", text="connect")
    first = await teams.post(message)
    again = await teams.post(message)  # Teams resends when a turn takes > 15 s
    assert first.status == again.status == 201
    assert len(teams.connector.posts(PERSONAL_CHAT)) == 1
    await teams.runtime.outbox.drain()
    links = [c for c in teams.connector.posts(PERSONAL_CHAT) if "/connect/" in str(c.body)]
    assert len(links) == 1


async def test_a_repeated_invoke_gets_a_success_without_rerunning(teams: TeamsHarness) -> None:
    invoke = teams.activity("invoke_adaptive_card_action")
    first = await teams.post(invoke)
    again = await teams.post(invoke)
    assert first.status == again.status == 200
    assert (await again.json())["statusCode"] == 200
    await teams.runtime.outbox.drain()
    assert len(teams.connector.posts(PERSONAL_CHAT)) == 1  # one new-link DM, not two


async def test_the_same_id_in_another_conversation_is_not_a_duplicate(teams: TeamsHarness) -> None:
    message = teams.activity("message_personal", text="help")
    other = {**message, "conversation": {**message["conversation"], "id": "a:other-chat"}}
    assert (await teams.post(message)).status == 201
    assert (await teams.post(other)).status == 201
    assert len(teams.connector.posts(PERSONAL_CHAT)) == 1
    assert len(teams.connector.posts("a:other-chat")) == 1


# --- request validation ---------------------------------------------------------------------


async def test_non_json_is_415(teams: TeamsHarness) -> None:
    response = await teams.client.post(
        "/api/messages", data="connect", headers={"Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert teams.connector.calls == []


async def test_malformed_json_is_400(teams: TeamsHarness) -> None:
    response = await teams.client.post(
        "/api/messages", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400


async def test_missing_type_or_service_url_is_400(teams: TeamsHarness) -> None:
    no_type = teams.activity("message_personal")
    del no_type["type"]
    assert (await teams.post(no_type)).status == 400
    no_service = teams.activity("message_personal")
    del no_service["serviceUrl"]
    assert (await teams.post(no_service)).status == 400
    assert (await teams.client.post("/api/messages", json=["a list"])).status == 400
    assert teams.connector.calls == []


async def test_a_failing_turn_is_500_and_logged(teams: TeamsHarness, monkeypatch, caplog) -> None:
    async def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(teams.runtime.bot, "command", broken)
    response = await teams.say("connect")
    assert response.status == 500
    assert "teams message activity failed" in caplog.text


async def test_a_failed_member_lookup_never_fails_the_turn(teams: TeamsHarness) -> None:
    teams.connector.fail_next(1, 500)  # the roster GET
    response = await teams.say("help")
    assert response.status == 201
    assert teams.connector.calls[0].route == "member" and teams.connector.calls[0].status == 500
    assert len(teams.connector.posts(PERSONAL_CHAT)) == 1


async def test_a_failed_reply_is_logged_not_a_500(teams: TeamsHarness, caplog) -> None:
    await teams.say("status")  # stores her e-mail: no roster GET on the next turn
    teams.connector.clear()
    teams.connector.fail_next(1, 429, retry_after=3)
    response = await teams.say("help")
    assert response.status == 201
    assert "teams reply failed" in caplog.text


# --- authentication --------------------------------------------------------------------------


async def test_with_an_app_id_unauthenticated_requests_are_401(harness_factory) -> None:
    teams = await harness_factory(
        MICROSOFT_APP_ID="11111111-2222-3333-4444-555555555555",
        MICROSOFT_APP_PASSWORD="not-a-real-secret",
    )
    foreign = jwt.encode({"iss": "https://example.invalid", "aud": "x"}, "k" * 32, "HS256")
    for headers in (
        {},
        {"Authorization": "Bearer garbage"},
        {"Authorization": f"Bearer {foreign}"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ):
        response = await teams.post(teams.activity("message_personal", text="connect"), **headers)
        assert response.status == 401, headers
    invoke = await teams.post(teams.activity("invoke_adaptive_card_action"))
    assert invoke.status == 401
    # Nothing was processed: no user, no reply, nothing queued.
    assert await alice(teams) is None
    assert teams.connector.calls == []
    assert await teams.runtime.store.next_due() is None


async def test_local_mode_ignores_any_authorization_header(teams: TeamsHarness) -> None:
    response = await teams.say("help", **{})
    assert response.status == 201
    garbage = await teams.post(
        teams.activity("message_personal", text="help"), Authorization="Bearer garbage"
    )
    assert garbage.status == 201


# --- installs and conversation updates -------------------------------------------------------


async def test_personal_install_stores_the_address_for_later_dms(teams: TeamsHarness) -> None:
    response = await teams.post(teams.activity("installation_update_personal"))
    assert response.status == 201
    user = await alice(teams)
    assert user is not None
    assert user.address["conversation_id"] == PERSONAL_CHAT
    assert user.address["service_url"] == teams.connector.url
    assert user.email == "alice@contoso.com"
    assert teams.connector.posts() == []  # installing is silent

    # The stored address is enough to DM her proactively.
    sent = await teams.runtime.chats["teams"].send_dm(user.recipient, _hello())
    (dm,) = teams.connector.posts(PERSONAL_CHAT)
    assert sent.ref["activity_id"] == teams.connector.sent_id(dm)


async def test_the_installer_gets_the_consent_onboarding_card_once(teams: TeamsHarness) -> None:
    await teams.post(teams.activity("installation_update_personal"))
    await teams.post(teams.activity("installation_update_personal", id="install-2"))
    await teams.runtime.outbox.drain()
    cards = [c for c in teams.connector.posts(PERSONAL_CHAT) if "adminconsent" in str(c.body)]
    assert len(cards) == 1
    assert "Set up calendar access" in str(cards[0].body)


async def test_bot_added_to_a_personal_chat_stores_the_address(teams: TeamsHarness) -> None:
    response = await teams.post(teams.activity("conversation_update_personal"))
    assert response.status == 201
    user = await alice(teams)
    assert user is not None and user.address["conversation_id"] == PERSONAL_CHAT


async def test_a_channel_message_keeps_the_known_1to1_address(teams: TeamsHarness) -> None:
    await teams.post(teams.activity("installation_update_personal"))
    await teams.post(teams.activity("message_channel_mention", text="<at>calbot</at> status"))
    user = await alice(teams)
    assert user.address["conversation_id"] == PERSONAL_CHAT


def _hello():
    from bot.messages import simple

    return simple("hello")
