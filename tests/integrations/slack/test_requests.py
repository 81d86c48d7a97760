"""Signed HTTP requests into `/slack/events`: verification, commands, events and retries."""

from __future__ import annotations

import time

import pytest

from bot.identity import UserRef
from tests.fakes.slack_payloads import FORM, command_body, dm_event, mention_event
from tests.integrations.slack.conftest import ALICE, Calbot

# --- request verification --------------------------------------------------------------


async def _assert_nothing_happened(calbot: Calbot) -> None:
    await calbot.idle()
    assert calbot.slack.calls == []  # not even auth.test: rejected before authorize
    assert await calbot.runtime.store.find_user(UserRef("slack", "T1", ALICE)) is None
    assert await calbot.runtime.store.next_due() is None  # nothing queued


async def test_unsigned_request_is_rejected(calbot: Calbot) -> None:
    response = await calbot.command("connect", secret=None)
    assert response.status == 401
    await _assert_nothing_happened(calbot)


async def test_bad_signature_is_rejected(calbot: Calbot) -> None:
    response = await calbot.command("connect", secret="not-the-secret")
    assert response.status == 401
    await _assert_nothing_happened(calbot)


async def test_tampered_body_is_rejected(calbot: Calbot) -> None:
    from tests.fakes.slack_payloads import signed_headers

    body = command_body("help", response_url=calbot.slack.response_url())
    headers = signed_headers(body, "test-secret") | {"Content-Type": FORM}
    tampered = body.replace("help", "connect")
    response = await calbot.client.post("/slack/events", data=tampered, headers=headers)
    assert response.status == 401
    await _assert_nothing_happened(calbot)


@pytest.mark.parametrize("age", [301, 3600, -3600])
async def test_stale_or_future_timestamp_is_rejected(calbot: Calbot, age: int) -> None:
    response = await calbot.command("connect", timestamp=int(time.time()) - age)
    assert response.status == 401
    await _assert_nothing_happened(calbot)


async def test_event_with_bad_signature_is_rejected(calbot: Calbot) -> None:
    response = await calbot.event(dm_event("connect"), event_id="EvBad", secret="nope")
    assert response.status == 401
    await _assert_nothing_happened(calbot)


# --- slash command -----------------------------------------------------------------------


async def test_help(calbot: Calbot) -> None:
    response = await calbot.command("help")
    assert response.status == 200
    await calbot.idle()
    [reply] = calbot.slack.calls_to("response_url")
    assert reply.params["response_type"] == "ephemeral"
    [section] = reply.params["blocks"]
    text = section["text"]["text"]
    assert text.startswith("*calbot* connects your calendar")
    assert "`/calendar connect`" in text
    assert calbot.slack.calls_to("chat.postMessage") == []


async def test_empty_command_shows_help_and_unknown_is_explained(calbot: Calbot) -> None:
    await calbot.command("")
    await calbot.command("frobnicate now")
    await calbot.idle()
    texts = sorted(c.params["text"] for c in calbot.slack.calls_to("response_url"))
    assert texts[0] == "Sorry, I don't know “frobnicate now”. Try `/calendar help`."
    assert texts[1] == "calbot help"


async def test_users_info_failure_does_not_stop_the_command(calbot: Calbot) -> None:
    calbot.slack.fail_method("users.info", "ratelimited")
    await calbot.command("connect")
    await calbot.idle()
    [reply] = calbot.slack.calls_to("response_url")
    assert "sent you a DM" in reply.params["text"]
    await calbot.runtime.outbox.drain()
    assert len(calbot.slack.calls_to("chat.postMessage")) == 1


async def test_core_failure_gets_an_apology(
    calbot: Calbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(calbot.runtime.bot, "command", broken)
    response = await calbot.command("status")
    assert response.status == 200
    await calbot.idle()
    [reply] = calbot.slack.calls_to("response_url")
    assert reply.params["text"].startswith("Sorry, something went wrong")


# --- events --------------------------------------------------------------------------------


async def test_dm_connect_works_like_the_command(calbot: Calbot) -> None:
    slack = calbot.slack
    response = await calbot.event(dm_event("connect"), event_id="EvDM1")
    assert response.status == 200
    await calbot.idle()
    [reply] = slack.calls_to("chat.postMessage")
    assert reply.params["channel"] == slack.dm_channel(ALICE)
    assert reply.params.get("thread_ts") is None
    assert "sent you a DM" in reply.params["text"]

    await calbot.runtime.outbox.drain()
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 2
    link = posts[1].params["blocks"][2]["elements"][0]
    assert link["url"].startswith(f"{calbot.base_url}/connect/")


async def test_mention_is_answered_in_a_thread(calbot: Calbot) -> None:
    slack = calbot.slack
    slack.add_channel("C1", [ALICE], name="interviewers")
    event = mention_event("status", channel="C1", ts="1700000300.000300")
    assert (await calbot.event(event, event_id="EvM1")).status == 200
    await calbot.idle()
    [reply] = slack.calls_to("chat.postMessage")
    assert (reply.params["channel"], reply.params["thread_ts"]) == ("C1", "1700000300.000300")
    assert reply.params["text"].startswith("Your calendar isn't connected yet")


async def test_retried_event_is_processed_once(calbot: Calbot) -> None:
    slack = calbot.slack
    event = dm_event("connect")
    first = await calbot.event(event, event_id="EvRetry")
    retry = await calbot.event(
        event,
        event_id="EvRetry",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert (first.status, retry.status) == (200, 200)
    await calbot.idle()
    assert len(slack.calls_to("chat.postMessage")) == 1
    await calbot.runtime.outbox.drain()
    assert len(slack.calls_to("chat.postMessage")) == 2  # the reply and one link DM


async def test_retry_is_skipped_across_instances(calbot: Calbot) -> None:
    # The first delivery was handled by another instance sharing the database.
    assert await calbot.runtime.store.first_time("slack", "EvOther", calbot.runtime.clock.now())
    response = await calbot.event(
        dm_event("connect"), event_id="EvOther", headers={"X-Slack-Retry-Num": "2"}
    )
    assert response.status == 200
    await calbot.idle()
    assert calbot.slack.calls_to("chat.postMessage") == []
    assert calbot.slack.calls_to("users.info") == []


async def test_mention_in_dm_is_answered_once(calbot: Calbot) -> None:
    ts = "1700000400.000400"
    channel = calbot.slack.dm_channel(ALICE)
    await calbot.event(mention_event("help", channel=channel, ts=ts), event_id="EvA")
    await calbot.event(dm_event("<@UCALBOT> help", channel=channel, ts=ts), event_id="EvB")
    await calbot.idle()
    assert len(calbot.slack.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize(
    "event",
    [
        dm_event("connect", bot_id="B999"),
        dm_event("connect", subtype="bot_message"),
        dm_event("connect", subtype="message_changed"),
        dm_event("connect", subtype="channel_join"),
        {**dm_event("connect"), "channel_type": "channel"},
        {k: v for k, v in dm_event("connect").items() if k != "user"},
    ],
    ids=["bot", "bot_message", "edit", "join", "channel", "no-user"],
)
async def test_ignored_messages(calbot: Calbot, event: dict[str, object]) -> None:
    response = await calbot.event(event, event_id="EvIgnored")
    assert response.status == 200
    await calbot.idle()
    assert {c.method for c in calbot.slack.calls} <= {"auth.test"}


@pytest.mark.parametrize("kind", ["app_home_opened", "app_uninstalled", "tokens_revoked"])
async def test_other_subscribed_events_are_acked(calbot: Calbot, kind: str) -> None:
    event = {"type": kind, "user": ALICE, "channel": "D1", "tab": "home", "event_ts": "1.2"}
    response = await calbot.event(event, event_id=f"Ev{kind}")
    assert response.status == 200  # a 404 would make Slack retry


async def test_url_verification_challenge(calbot: Calbot) -> None:
    import json

    body = json.dumps({"token": "x", "challenge": "abc123", "type": "url_verification"})
    response = await calbot.post(body, "application/json")
    assert response.status == 200
    assert (await response.json())["challenge"] == "abc123"
