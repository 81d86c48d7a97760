"""Issue 5's consent story on Slack, over the wire: three people of contoso.com are
blocked by "Need admin approval", paste Microsoft's page in a DM, and the one workspace
admin gets one alert, fixes it, and watches it turn "Resolved" as they connect.

The console version (tests/e2e/test_consent_story.py) tells the same story in words.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from tests.fakes.mock_slack import MockSlack, PostedMessage, validate_blocks
from tests.fakes.slack_payloads import dm_event
from tests.integrations.slack.conftest import ALICE, Calbot

TENANT_GUID = "8f3e0a6c-4c1b-4d8e-9a51-2f6f0c1b7d42"  # contoso.com in the demo directory
GRANT_URL = (
    f"https://login.microsoftonline.com/{TENANT_GUID}/adminconsent"
    "?client_id=f573e3d3-ea9c-4d8d-9d8f-20107b8cedbd"
)
ADMIN = "U2"  # "Bob Admin" in the conftest's mock Slack: is_admin in users.info
CAROL, DAN = "U3", "U4"
BLOCKED = {
    ALICE: ("Alice", "alice@contoso.com"),
    CAROL: ("Carol Chen", "carol@contoso.com"),
    DAN: ("Dan Dubois", "dan@contoso.com"),
}
_ts = itertools.count(1)


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _text(value: Any) -> str:
    """Every string inside blocks (or a whole payload), for "is it said somewhere" checks."""
    return json.dumps(value, ensure_ascii=False)


def _people(slack: MockSlack) -> None:
    slack.add_user(CAROL, name="carol", real_name="Carol Chen", email="carol@contoso.com")
    slack.add_user(
        DAN, name="dan", real_name="Dan Dubois", email="dan@contoso.com", tz="Europe/Paris"
    )


async def _dm(calbot: Calbot, user: str, text: str) -> None:
    """`user` types `text` in their DM with calbot (a signed `message.im` event)."""
    n = next(_ts)
    event = dm_event(
        text, user_id=user, channel=calbot.slack.dm_channel(user), ts=f"1700000{n:03d}.000100"
    )
    response = await calbot.event(event, event_id=f"EvConsent{n}")
    assert response.status == 200
    await calbot.idle()


def _alerts(slack: MockSlack) -> list[PostedMessage]:
    return [m for m in slack.dms_to(ADMIN) if "blocked in" in m.text]


def _connect_url(message: PostedMessage) -> str:
    [url] = [b["url"] for b in _buttons(message.blocks) if "/connect/" in b.get("url", "")]
    return str(url)


async def _at_microsoft(calbot: Calbot, url: str, email: str) -> dict[str, Any]:
    """Open the connect link and sign in at the sandbox. Returns its JSON answer."""
    assert url.startswith(f"{calbot.base_url}/connect/")
    opened = await calbot.client.get(urlsplit(url).path, allow_redirects=False)
    assert opened.status == 302
    async with (
        aiohttp.ClientSession() as browser,
        browser.post(
            f"{calbot.runtime.sandbox.url}/_sandbox/approve",
            json={
                "authorize_url": opened.headers["Location"],
                "email": email,
                "decision": "approve",
            },
        ) as approved,
    ):
        assert approved.status == 200, await approved.text()
        answer: dict[str, Any] = await approved.json()
    return answer


async def _finish(calbot: Calbot, location: str) -> None:
    parts = urlsplit(location)
    assert location.startswith(f"{calbot.base_url}/oauth/cronofy/callback?")
    page = await calbot.client.get(f"{parts.path}?{parts.query}")
    assert page.status == 200, await page.text()


async def _press(calbot: Calbot, user: str, button: dict[str, Any], ts: str) -> dict[str, Any]:
    """`user` presses `button` on the alert; returns calbot's response_url answer."""
    calbot.slack.reset_calls()
    clicked = await calbot.click(
        button["action_id"],
        button.get("value"),
        user_id=user,
        channel_id=calbot.slack.dm_channel(user),
        message_ts=ts,
    )
    assert clicked.status == 200
    await calbot.idle()
    [answer] = calbot.slack.calls_to("response_url")
    return answer.params


async def test_three_blocked_people_one_alert_fixed_then_resolved(calbot: Calbot) -> None:
    slack = calbot.slack
    _people(slack)
    await _dm(calbot, ADMIN, "home")  # the admin has talked to calbot once (stored)
    admins = await calbot.runtime.store.workspace_admins("slack", "T1")
    assert [a.ref.user_id for a in admins] == [ADMIN]
    sandbox = calbot.runtime.sandbox.state
    sandbox.force_outcome("@contoso.com", "need_admin_approval")

    for user, (_, email) in BLOCKED.items():
        slack.reset_calls()
        assert (await calbot.command("connect", user_id=user)).status == 200
        await calbot.idle()
        await calbot.runtime.outbox.drain()
        link_dm = slack.dms_to(user)[-1]
        visit = await _at_microsoft(calbot, _connect_url(link_dm), email)
        assert visit["location"] is None
        page = visit["page"]
        assert page["title"] == "Need admin approval"
        assert "AADSTS90094" in page["text"]

        slack.reset_calls()
        await _dm(calbot, user, page["text"])  # pasted what Microsoft showed
        replies = [
            c
            for c in slack.calls_to("chat.postMessage")
            if c.params["channel"] == slack.dm_channel(user)
        ]
        assert any("told your admins" in _text(c.params) for c in replies), replies
        await calbot.runtime.outbox.drain()

    alerts = _alerts(slack)
    assert len(alerts) == 1, "one alert for the tenant, edited as it grows"
    alert = alerts[0]
    validate_blocks(alert.blocks)
    body = _text(alert.blocks)
    assert "3 people" in body
    for name in ("Alice", "Carol Chen", "Dan Dubois"):
        assert name in body
    assert "AADSTS90094" in body
    buttons = {b["text"]["text"]: b for b in _buttons(alert.blocks)}
    assert buttons["Grant admin consent"]["url"] == GRANT_URL
    # Nobody but the admin heard about it.
    for user in BLOCKED:
        assert not any("blocked in" in m.text for m in slack.dms_to(user))

    checklist = await _press(calbot, ADMIN, buttons["Show support checklist"], alert.ts)
    said = _text(checklist)
    for needle in ("contoso.com", "alice@contoso.com", "carol@contoso.com", "dan@contoso.com"):
        assert needle in said
    assert "AADSTS90094" in said

    # A non-admin's copy of the click changes nothing.
    refused = await _press(calbot, CAROL, buttons["I've fixed it"], alert.ts)
    assert "Only workspace admins" in _text(refused)

    # The admin grants consent in Entra (the sandbox stands in), then says so.
    sandbox.force_outcome("@contoso.com", "approve")
    reply = await _press(calbot, ADMIN, buttons["I've fixed it"], alert.ts)
    assert "asked everyone affected" in _text(reply)
    again = await _press(calbot, ADMIN, buttons["I've fixed it"], alert.ts)
    assert "already marked fixed" in _text(again)
    await calbot.runtime.outbox.drain()

    for user, (_, email) in BLOCKED.items():
        retry = slack.dms_to(user)[-1]
        assert "Your admin has approved calendar access" in _text(retry.blocks) + retry.text
        visit = await _at_microsoft(calbot, _connect_url(retry), email)
        assert visit["location"], visit
        await _finish(calbot, visit["location"])
        await calbot.runtime.outbox.drain()

    final = _alerts(slack)
    assert len(final) == 1
    assert final[0].ts == alert.ts
    updates = [c for c in slack.calls_to("chat.update") if c.params["ts"] == alert.ts]
    assert updates, "the alert was edited in place"
    assert "Resolved" in _text(final[0].blocks) + final[0].text
    assert _buttons(final[0].blocks) == []
