"""Nudge fan-out through Slack: report → "Nudge all not connected" → one DM per person.

Everything goes through signed HTTP requests to calbot and the real slack_sdk client
against the mock Web API; the outbox is drained as the worker would.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.identity import UserRef
from bot.messages import simple
from bot.outbox import OutboxWorker
from bot.records import OutboxItem
from integrations.slack.chat import OUTBOX_EVENT
from tests.fakes.mock_slack import MockSlack, validate_blocks
from tests.integrations.slack.conftest import ALICE, Calbot

ADMIN = "U2"
CONNECTED = ("U5", "U6")


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def _seed(calbot: Calbot, extra: int = 0) -> list[str]:
    """#interviewers: Alice, the admin, Carol, Dan, two connected people, a bot, a deactivated
    account and `extra` more people. Returns who should be nudged."""
    slack = calbot.slack
    slack.add_user("U3", name="carol", real_name="Carol Chen", email="carol@contoso.com")
    slack.add_user("U4", name="dan", real_name="Dan Dubois", email="dan@contoso.com")
    for uid in CONNECTED:
        slack.add_user(uid, name=uid.lower(), email=f"{uid.lower()}@contoso.com")
        await calbot.connected(uid, f"{uid.lower()}@contoso.com")
    slack.add_user("UBOT", name="helper", is_bot=True)
    slack.add_user("UGONE", name="gone", deleted=True)
    more = [f"UX{n:03d}" for n in range(extra)]
    for uid in more:
        slack.add_user(uid, name=uid.lower(), email=f"{uid.lower()}@contoso.com")
    members = [ALICE, ADMIN, "U3", "U4", *CONNECTED, "UBOT", "UGONE", *more]
    slack.add_channel("C1", members, name="interviewers")
    return [ALICE, ADMIN, "U3", "U4", *more]


async def _report_as_admin(calbot: Calbot) -> dict[str, Any]:
    """`/calendar team <#C1|interviewers>` by the admin; returns the report DM's final blocks."""
    response = await calbot.command("team <#C1|interviewers>", user_id=ADMIN)
    assert response.status == 200
    await calbot.idle()
    [reply] = calbot.slack.calls_to("response_url")
    assert reply.params["text"] == "I've sent you the calendar report for #interviewers in a DM."
    await calbot.runtime.outbox.drain()
    [post] = calbot.slack.calls_to("chat.postMessage")
    assert post.params["channel"] == calbot.slack.dm_channel(ADMIN)
    message = calbot.slack.messages[(post.params["channel"], post.response["ts"])]
    assert message.history, "the 'working on it' DM is edited into the report"
    for call in calbot.slack.calls_to("chat.update"):
        validate_blocks(call.params["blocks"])
    validate_blocks(message.blocks)
    return {"ts": message.ts, "blocks": message.blocks}


def _nudge_all_button(report: dict[str, Any]) -> dict[str, Any]:
    [button] = [b for b in _buttons(report["blocks"]) if b["action_id"] == "status.nudge_all"]
    return button


def _link_dms(slack: MockSlack, user: str) -> list[str]:
    """Connect links the user got in their DM with the bot."""
    return [
        b["url"]
        for m in slack.dms_to(user)
        for b in _buttons(m.blocks)
        if b.get("url", "").rsplit("/", 2)[-2:-1] == ["connect"]
    ]


async def _press(calbot: Calbot, button: dict[str, Any], user: str, ts: str) -> str:
    clicked = await calbot.click(button["action_id"], button["value"], user_id=user, message_ts=ts)
    assert clicked.status == 200
    await calbot.idle()
    answer = calbot.slack.calls_to("response_url")[-1]
    assert answer.params["response_type"] == "ephemeral"
    return str(answer.params["text"])


async def test_nudge_all_reaches_each_unconnected_member_once(calbot: Calbot) -> None:
    slack = calbot.slack
    targets = await _seed(calbot)
    report = await _report_as_admin(calbot)
    text = " ".join(str(b) for b in report["blocks"])
    assert "2 of 6 connected" in text
    button = _nudge_all_button(report)
    assert button["value"] == "channel:C1|interviewers"

    assert await _press(calbot, button, ADMIN, report["ts"]) == "Nudging 4 people."
    await calbot.runtime.outbox.drain()
    for user in targets:
        [url] = _link_dms(slack, user)
        assert url.startswith(f"{calbot.base_url}/connect/")
    for user in (*CONNECTED, "UBOT", "UGONE"):
        assert slack.dms_to(user) == []
    nudges = [m for m in slack.landed(OUTBOX_EVENT) if m.blocks and "asked you" in str(m.blocks)]
    assert len(nudges) == len(targets)
    for call in slack.calls_to("chat.postMessage"):
        validate_blocks(call.params["blocks"])

    # The progress DM was edited to the final count.
    progress = [m for m in slack.dms_to(ADMIN) if m.text.startswith("Nudged")]
    assert [m.text for m in progress] == ["Nudged 4 of 4"]

    # A double click (or a second admin, or a retried request) sends nothing new.
    before = len(slack.calls_to("chat.postMessage"))
    again = await _press(calbot, button, ADMIN, report["ts"])
    assert again == "Everyone in #interviewers who isn't connected was already nudged today."
    await calbot.runtime.outbox.drain()
    assert len(slack.calls_to("chat.postMessage")) == before


async def test_fan_out_survives_429s_and_delivers_each_once(calbot: Calbot) -> None:
    slack = calbot.slack
    targets = await _seed(calbot, extra=26)  # 30 people to nudge
    report = await _report_as_admin(calbot)
    button = _nudge_all_button(report)
    slack.reset_calls()
    # Slack pushes back twice at once, then whenever the pace goes over 10 posts a second.
    slack.fail_next(2, status=429, retry_after=0.3, method="chat.postMessage")
    slack.rate_limit("chat.postMessage", 10, sliding=True, retry_after=0.5)

    assert await _press(calbot, button, ADMIN, report["ts"]) == "Nudging 30 people."
    await calbot.runtime.outbox.drain()

    statuses = [c.status for c in slack.calls_to("chat.postMessage")]
    assert statuses.count(429) >= 3, statuses  # the injected pair and the rate limit
    for user in targets:
        assert len(_link_dms(slack, user)) == 1, user
    keys = [m.metadata["event_payload"]["key"] for m in slack.landed(OUTBOX_EVENT) if m.metadata]
    assert len(keys) == len(set(keys))  # no outbox key landed twice
    assert len([k for k in keys if k.startswith("nudge:")]) == len(targets)
    progress = [m for m in slack.dms_to(ADMIN) if m.text.startswith("Nudged")]
    assert [m.text for m in progress] == ["Nudged 30 of 30"]
    # One conversations.open per person, however many attempts their DM took.
    opened = [c.params["users"] for c in slack.calls_to("conversations.open")]
    assert len(opened) == len(set(opened))


async def test_non_admin_crafted_nudge_all_is_refused(calbot: Calbot) -> None:
    slack = calbot.slack
    await _seed(calbot)
    slack.reset_calls()
    # Alice is no admin; the button was never shown to her, she crafted the payload.
    crafted = {"action_id": "status.nudge_all", "value": "channel:C1"}
    answer = await _press(calbot, crafted, ALICE, "1.1")
    assert answer.startswith("Only workspace admins")
    await calbot.runtime.outbox.drain()
    assert slack.calls_to("chat.postMessage") == []
    assert slack.calls_to("conversations.members") == []  # nothing was even read
    carol = await calbot.runtime.store.find_user(UserRef("slack", "T1", "U3"))
    assert carol is None  # and nothing written about the team


async def test_admin_of_one_workspace_cannot_reach_into_another(calbot: Calbot) -> None:
    slack = calbot.slack
    await _seed(calbot)
    # A second workspace on the same Slack: its own token (calbot has none for it), people
    # and channel, with ids that do not clash with T1's.
    slack.tokens["xoxb-t2"] = "T2"
    for uid in ("W21", "W22", "W23"):
        slack.add_user(uid, team="T2", name=uid.lower(), email=f"{uid.lower()}@fabrikam.com")
    slack.add_user("W20", team="T2", name="t2admin", is_admin=True)
    slack.add_channel("C2", ["W20", "W21", "W22", "W23"], name="t2-interviewers", team="T2")
    slack.add_usergroup("S2", ["W21", "W22"], team="T2")
    slack.reset_calls()

    crafted = [
        ("status.nudge_all", "channel:C2"),
        ("status.nudge_all", "usergroup:S2"),
        ("status.nudge_one", "W21"),
        ("status.refresh", "channel:C2"),
    ]
    answers = [await _press(calbot, {"action_id": a, "value": v}, ADMIN, "1.1") for a, v in crafted]
    await calbot.runtime.outbox.drain()

    assert answers == [
        "I couldn't list the members of #C2: I couldn't find it. Check the name and ask again.",
        "I couldn't list the members of @S2: I couldn't find it. Check the name and ask again.",
        "I couldn't find that person any more, so nobody was nudged.",
        "I've sent you the calendar report for #C2 in a DM.",
    ]
    # Nothing of T2 was read: every call naming a T2 resource was refused by Slack...
    for call in slack.calls:
        assert call.headers.get("Authorization") != "Bearer xoxb-t2"
        if call.method in ("conversations.members", "usergroups.users.list", "users.info"):
            named = str(call.params.get("channel") or call.params.get("usergroup") or "")
            if named in ("C2", "S2") or str(call.params.get("user")).startswith("W2"):
                assert not call.ok, call.params
    # ...nothing was sent there, and nothing about T2 was stored.
    for uid in ("W20", "W21", "W22", "W23"):
        assert slack.dms_to(uid) == []
        for team in ("T1", "T2"):
            assert await calbot.runtime.store.find_user(UserRef("slack", team, uid)) is None
    # The report the refresh asked for went to the admin, in T1, and says why it is empty.
    [report] = slack.dms_to(ADMIN)
    assert report.text.startswith("I couldn't list the members of #C2")


async def test_fan_out_with_sends_in_flight_keeps_each_persons_order(calbot: Calbot) -> None:
    """`OutboxWorker(concurrency=8)`: many people at once, one person's messages in order."""
    slack, runtime = calbot.slack, calbot.runtime
    targets = await _seed(calbot, extra=40)
    report = await _report_as_admin(calbot)
    slack.reset_calls()
    slack.rate_limit("chat.postMessage", 15, sliding=True, retry_after=0.5)
    worker = OutboxWorker(
        runtime.store,
        runtime.chats,
        runtime.clock,
        concurrency=8,
        on_batch_progress=runtime.bot.team.on_batch_progress,
    )
    admin = await runtime.store.find_user(UserRef("slack", "T1", ADMIN))
    assert admin is not None
    await runtime.store.enqueue(
        [
            OutboxItem(f"order:{n}", "slack", simple(f"note {n}").to_json(), admin.recipient)
            for n in range(5)
        ]
    )
    assert await _press(calbot, _nudge_all_button(report), ADMIN, report["ts"]) == (
        f"Nudging {len(targets)} people."
    )
    for _ in range(100):  # bounded: at 14 posts a second this takes ~4 s
        if not await worker.deliver_due() and await runtime.store.next_due() is None:
            break
        await asyncio.sleep(0.05)
    for user in targets:
        assert len(_link_dms(slack, user)) == 1, user
    notes = [m.text for m in slack.dms_to(ADMIN) if m.text.startswith("note")]
    assert notes == [f"note {n}" for n in range(5)]
    assert [m.text for m in slack.dms_to(ADMIN) if m.text.startswith("Nudged")] == [
        f"Nudged {len(targets)} of {len(targets)}"
    ]
    statuses = [c.status for c in slack.calls_to("chat.postMessage")]
    assert 429 in statuses
