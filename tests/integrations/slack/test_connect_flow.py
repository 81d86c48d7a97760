"""`/calendar connect` on Slack, end to end: signed request → DM → Cronofy → edited DM."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.identity import UserRef
from tests.fakes.mock_slack import validate_blocks
from tests.integrations.slack.conftest import ALICE, ALICE_EMAIL, Calbot


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def _connect_via_sandbox(calbot: Calbot) -> str:
    """Click the DM's link, approve at the sandbox, follow the callback. Returns the DM ts."""
    await calbot.runtime.outbox.drain()
    [post] = calbot.slack.calls_to("chat.postMessage")
    [button] = [b for b in _buttons(post.params["blocks"]) if b.get("url")]
    url = button["url"]
    assert url.startswith(f"{calbot.base_url}/connect/")

    opened = await calbot.client.get(urlsplit(url).path, allow_redirects=False)
    assert opened.status == 302
    authorize_url = opened.headers["Location"]
    assert authorize_url.startswith(calbot.runtime.sandbox.url)

    async with (
        aiohttp.ClientSession() as browser,
        browser.post(
            f"{calbot.runtime.sandbox.url}/_sandbox/approve",
            json={"authorize_url": authorize_url, "email": ALICE_EMAIL, "decision": "approve"},
        ) as approved,
    ):
        assert approved.status == 200, await approved.text()
        location = (await approved.json())["location"]
    assert location.startswith(f"{calbot.base_url}/oauth/cronofy/callback?")

    parts = urlsplit(location)
    page = await calbot.client.get(f"{parts.path}?{parts.query}")
    assert page.status == 200, await page.text()
    assert ALICE_EMAIL in await page.text()
    return str(post.response["ts"])


async def test_calendar_connect_end_to_end(calbot: Calbot) -> None:
    slack = calbot.slack
    # Park users.info: if the ack waited for it (or for anything after it), this would hang.
    slack.hold("users.info")
    started = time.monotonic()
    response = await asyncio.wait_for(calbot.command("connect"), timeout=3)
    elapsed = time.monotonic() - started
    assert response.status == 200
    assert (await response.text()) == ""
    assert elapsed < 1.5
    # Nothing heavy happened before the ack: no user row yet, no DM queued.
    assert await calbot.runtime.store.find_user(UserRef("slack", "T1", ALICE)) is None
    assert slack.calls_to("users.info") == []

    slack.release("users.info")
    await calbot.idle()
    [reply] = slack.calls_to("response_url")
    assert reply.params["response_type"] == "ephemeral"
    assert "sent you a DM" in reply.params["text"]
    validate_blocks(reply.params["blocks"])

    # The personal link goes out through the outbox as a DM.
    await calbot.runtime.outbox.drain()
    [opened] = slack.calls_to("conversations.open")
    assert opened.params["users"] == ALICE
    [post] = slack.calls_to("chat.postMessage")
    channel = slack.dm_channel(ALICE)
    assert post.ok and post.params["channel"] == channel
    assert post.headers["Authorization"] == "Bearer xoxb-test"
    assert post.params["text"] == "Connect your calendar"

    ts = await _connect_via_sandbox(calbot)

    await calbot.runtime.outbox.drain()
    [update] = slack.calls_to("chat.update")
    assert update.ok
    assert (update.params["channel"], update.params["ts"]) == (channel, ts)
    assert update.params["text"] == f"Connected: Office 365 ({ALICE_EMAIL})"
    message = slack.messages[(channel, ts)]
    assert message.text == f"Connected: Office 365 ({ALICE_EMAIL})"
    assert [b["action_id"] for b in _buttons(message.blocks)] == ["connect.disconnect"]

    user_id = await calbot.user_id()
    connection = await calbot.runtime.store.get_connection(user_id)
    assert connection is not None and connection.profile_name == ALICE_EMAIL
    user = await calbot.runtime.store.get_user(user_id)
    assert user is not None
    assert (user.email, user.tz, user.display_name) == (ALICE_EMAIL, "Europe/London", "Alice")


async def test_already_connected_then_disconnect(calbot: Calbot) -> None:
    slack = calbot.slack
    await calbot.command("connect")
    await calbot.idle()
    await _connect_via_sandbox(calbot)
    await calbot.runtime.outbox.drain()
    slack.reset_calls()

    response = await calbot.command("connect")
    assert response.status == 200
    await calbot.idle()
    [reply] = slack.calls_to("response_url")
    assert "already connected" in reply.params["text"]

    await calbot.runtime.outbox.drain()
    [post] = slack.calls_to("chat.postMessage")
    buttons = _buttons(post.params["blocks"])
    assert [b["action_id"] for b in buttons] == ["connect.reconnect", "connect.disconnect"]
    assert [b["text"]["text"] for b in buttons] == ["Reconnect", "Disconnect"]
    disconnect = buttons[1]

    slack.reset_calls()
    clicked = await calbot.click(
        disconnect["action_id"], disconnect["value"], message_ts=post.response["ts"]
    )
    assert clicked.status == 200
    await calbot.idle()
    [answer] = slack.calls_to("response_url")
    assert answer.params["response_type"] == "ephemeral"
    assert answer.params["replace_original"] is False
    assert answer.params["text"].startswith("Disconnected Office 365")
    assert await calbot.runtime.store.get_connection(await calbot.user_id()) is None
    revoked = [r for r in calbot.runtime.sandbox.state.requests if r.path == "/oauth/token/revoke"]
    assert len(revoked) == 1


async def test_link_button_click_is_only_acked(calbot: Calbot) -> None:
    response = await calbot.click("connect.open", url=f"{calbot.base_url}/connect/abc")
    assert response.status == 200
    await calbot.idle()
    methods = {c.method for c in calbot.slack.calls}
    assert methods <= {"auth.test"}  # no users.info, no reply, nothing stored
    assert await calbot.runtime.store.find_user(UserRef("slack", "T1", ALICE)) is None
