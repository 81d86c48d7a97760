"""Team status through Slack: escaped targets in, report DM out, nudge buttons back in."""

from __future__ import annotations

from typing import Any

from tests.fakes.mock_slack import validate_blocks
from tests.fakes.slack_payloads import mention_event
from tests.integrations.slack.conftest import ALICE, Calbot

ADMIN = "U2"


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _seed_team(calbot: Calbot) -> None:
    slack = calbot.slack
    slack.add_user("U3", name="carol", real_name="Carol", email="carol@contoso.com")
    slack.add_user("UBOT", name="helper", is_bot=True)
    slack.add_channel("C1", [ALICE, ADMIN, "U3", "UBOT"], name="interviewers")
    slack.add_usergroup("S1", [ALICE, "U3"])


async def _report(calbot: Calbot) -> dict[str, Any]:
    """The report as the admin finally sees it (the DM, after its in-place edit)."""
    await calbot.runtime.outbox.drain()
    [post] = calbot.slack.calls_to("chat.postMessage")
    key = (post.params["channel"], post.response["ts"])
    message = calbot.slack.messages[key]
    validate_blocks(message.blocks)
    return {"channel": key[0], "ts": key[1], "text": message.text, "blocks": message.blocks}


async def test_team_report_for_the_channel_the_command_ran_in(calbot: Calbot) -> None:
    _seed_team(calbot)
    response = await calbot.command("team", user_id=ADMIN)
    assert response.status == 200
    await calbot.idle()
    [reply] = calbot.slack.calls_to("response_url")
    assert reply.params["text"] == "I've sent you the calendar report for #interviewers in a DM."

    report = await _report(calbot)
    assert report["channel"] == calbot.slack.dm_channel(ADMIN)
    text = " ".join(str(b) for b in report["blocks"])
    assert "0 of 3 connected" in text  # the bot is not counted
    nudges = [b for b in _buttons(report["blocks"]) if b["action_id"].startswith("status.nudge")]
    ids = [b["action_id"] for b in nudges]
    assert len(ids) == len(set(ids))  # repeated neutral ids were made unique
    assert "status.nudge_one#1" in ids


async def test_escaped_usergroup_target_and_nudge_click(calbot: Calbot) -> None:
    _seed_team(calbot)
    await calbot.command("team <!subteam^S1|@interviewers>", user_id=ADMIN)
    await calbot.idle()
    [reply] = calbot.slack.calls_to("response_url")
    assert reply.params["text"] == "I've sent you the calendar report for @interviewers in a DM."
    report = await _report(calbot)
    one = [b for b in _buttons(report["blocks"]) if b["action_id"].startswith("status.nudge_one")]
    carol = next(b for b in one if b["value"] == "U3")

    calbot.slack.reset_calls()
    clicked = await calbot.click(
        carol["action_id"], carol["value"], user_id=ADMIN, message_ts=report["ts"]
    )
    assert clicked.status == 200
    await calbot.idle()
    [answer] = calbot.slack.calls_to("response_url")
    assert answer.params["response_type"] == "ephemeral"
    await calbot.runtime.outbox.drain()
    carol_dm = calbot.slack.dm_channel("U3")
    dms = [c for c in calbot.slack.calls_to("chat.postMessage") if c.params["channel"] == carol_dm]
    assert len(dms) == 1
    assert any(b.get("url") for b in _buttons(dms[0].params["blocks"]))


async def test_non_admin_is_refused(calbot: Calbot) -> None:
    _seed_team(calbot)
    await calbot.command("team", user_id=ALICE)
    await calbot.idle()
    [reply] = calbot.slack.calls_to("response_url")
    assert reply.params["text"].startswith("Only workspace admins")
    await calbot.runtime.outbox.drain()
    assert calbot.slack.calls_to("chat.postMessage") == []


async def test_question_in_a_channel_mention(calbot: Calbot) -> None:
    _seed_team(calbot)
    event = mention_event("who isn't synced?", user_id=ADMIN, channel="C1")
    assert (await calbot.event(event, event_id="EvQ1")).status == 200
    await calbot.idle()
    [reply] = calbot.slack.calls_to("chat.postMessage")
    assert reply.params["channel"] == "C1" and reply.params["thread_ts"] == event["ts"]
    assert "calendar report for #C1" in reply.params["text"]


async def test_weekly_digest_through_slack(calbot: Calbot) -> None:
    """`/calendar digest on` in #interviewers, then Monday's DM with a button to the report."""
    _seed_team(calbot)
    await calbot.connected(ALICE, "alice@contoso.com")
    await calbot.command("digest on below 80%", user_id=ADMIN)
    await calbot.idle()
    [reply] = calbot.slack.calls_to("response_url")
    assert reply.params["text"].startswith("Weekly digest on.")
    assert "**#interviewers**" not in reply.params["text"]  # rendered as Slack mrkdwn
    assert "*#interviewers*" in reply.params["text"]

    # A week on: the setting says last week's digest was the last one handled.
    store = calbot.runtime.store
    key = f"digest:{ADMIN}"
    followed = (await store.workspace_settings("slack", "T1"))[key]
    await store.update_workspace_settings("slack", "T1", {key: {**followed, "sent_week": "x"}})
    calbot.slack.reset_calls()
    await calbot.runtime.jobs.get("digest").run()
    await calbot.runtime.jobs.get("digest").run()
    await calbot.runtime.outbox.drain()

    [post] = calbot.slack.calls_to("chat.postMessage")
    assert post.params["channel"] == calbot.slack.dm_channel(ADMIN)
    validate_blocks(post.params["blocks"])
    text = " ".join(str(b) for b in post.params["blocks"])
    assert "1 of 3 connected (33%), 2 not connected" in text
    [button] = _buttons(post.params["blocks"])
    assert (button["action_id"], button["value"]) == ("status.refresh", "channel:C1|interviewers")

    calbot.slack.reset_calls()
    await calbot.click(button["action_id"], button["value"], user_id=ADMIN)
    await calbot.idle()
    report = await _report(calbot)
    assert "Calendar sync: #interviewers" in str(report["blocks"])
    assert "1 of 3 connected" in str(report["blocks"])
