"""Exactly-once DMs: keyed posts, the in-doubt history check, and the DM channel cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.errors import ChatNotFound
from bot.identity import Recipient, UserRef
from bot.messages import simple
from bot.records import OutboxItem
from integrations.slack.app import client_factory
from integrations.slack.auth import SingleWorkspaceTokens
from integrations.slack.chat import OUTBOX_EVENT, SlackChat, find_keyed
from integrations.slack.dm_channels import DmChannels
from tests.fakes.mock_slack import BOT_ID, MockSlack
from tests.integrations.slack.conftest import ALICE, Calbot

ALICE_REF = UserRef("slack", "T1", ALICE)
TO_ALICE = Recipient(ALICE_REF)
HELLO = simple("hello")


def make_chat(api_url: str, **kwargs: object) -> SlackChat:
    clients = client_factory(api_url)
    return SlackChat(SingleWorkspaceTokens("xoxb-test", clients), clients, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def chat(slack: MockSlack) -> AsyncIterator[SlackChat]:
    yield make_chat(slack.api_url)


async def test_keyed_post_carries_the_key_in_message_metadata(
    chat: SlackChat, slack: MockSlack
) -> None:
    sent = await chat.send_dm_keyed(TO_ALICE, HELLO, "nudge:1:2026-11-27", in_doubt=False)
    [post] = slack.calls_to("chat.postMessage")
    assert post.params["metadata"] == {
        "event_type": OUTBOX_EVENT,
        "event_payload": {"key": "nudge:1:2026-11-27"},
    }
    [landed] = slack.landed(OUTBOX_EVENT)
    assert (landed.channel, landed.ts) == (sent.ref["channel"], sent.ref["ts"])
    assert slack.calls_to("conversations.history") == []  # not in doubt: no look-up


async def test_in_doubt_send_that_landed_is_found_not_repeated(
    chat: SlackChat, slack: MockSlack
) -> None:
    first = await chat.send_dm_keyed(TO_ALICE, HELLO, "k:1", in_doubt=False)
    await chat.send_dm_keyed(TO_ALICE, simple("something else"), "k:2", in_doubt=False)
    again = await chat.send_dm_keyed(TO_ALICE, HELLO, "k:1", in_doubt=True)
    assert again == first
    assert len(slack.calls_to("chat.postMessage")) == 2
    [history] = slack.calls_to("conversations.history")
    assert history.params["channel"] == slack.dm_channel(ALICE)
    assert str(history.params["include_all_metadata"]).lower() in ("1", "true")
    assert int(history.params["limit"]) <= 20


async def test_in_doubt_send_that_never_landed_is_posted(chat: SlackChat, slack: MockSlack) -> None:
    await chat.send_dm_keyed(TO_ALICE, HELLO, "k:other", in_doubt=False)
    await chat.send_dm_keyed(TO_ALICE, HELLO, "k:1", in_doubt=True)
    keys = [m.metadata["event_payload"]["key"] for m in slack.landed(OUTBOX_EVENT) if m.metadata]
    assert keys == ["k:other", "k:1"]


def test_only_our_bots_message_counts_as_the_keyed_one() -> None:
    meta = {"event_type": OUTBOX_EVENT, "event_payload": {"key": "k:1"}}
    lookalike = {"ts": "1.1", "bot_id": "BOTHER", "metadata": meta}
    ours = {"ts": "1.2", "bot_id": BOT_ID, "metadata": meta}
    other_key = {"ts": "1.3", "bot_id": BOT_ID, "metadata": {**meta, "event_payload": {}}}
    assert find_keyed([lookalike, other_key], "k:1", BOT_ID) is None
    assert find_keyed([lookalike, ours], "k:1", BOT_ID) == "1.2"
    assert find_keyed([{"ts": "1.4", "text": "no metadata"}], "k:1", BOT_ID) is None


async def test_dm_channel_is_opened_once_per_user(chat: SlackChat, slack: MockSlack) -> None:
    slack.add_user("U3", name="carol")
    for n in range(3):
        await chat.send_dm_keyed(TO_ALICE, HELLO, f"a:{n}", in_doubt=False)
        await chat.send_dm(Recipient(UserRef("slack", "T1", "U3")), HELLO)
    opened = [c.params["users"] for c in slack.calls_to("conversations.open")]
    assert opened == [ALICE, "U3"]
    assert len(slack.calls_to("chat.postMessage")) == 6


async def test_stale_dm_channel_is_reopened(chat: SlackChat, slack: MockSlack) -> None:
    await chat.send_dm(TO_ALICE, HELLO)
    old = slack.dm_channel(ALICE)
    slack.forget_dm(ALICE)  # the remembered id now answers channel_not_found
    sent = await chat.send_dm_keyed(TO_ALICE, HELLO, "k:1", in_doubt=True)
    assert sent.ref["channel"] == slack.dm_channel(ALICE) != old
    assert [c.params["users"] for c in slack.calls_to("conversations.open")] == [ALICE, ALICE]
    history = slack.calls_to("conversations.history")
    assert [c.params["channel"] for c in history] == [old, slack.dm_channel(ALICE)]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [200, 200]
    assert len(slack.dms_to(ALICE)) == 1  # the old DM's message went with it


async def test_channel_not_found_from_a_fresh_open_is_not_retried(
    chat: SlackChat, slack: MockSlack
) -> None:
    slack.fail_method("chat.postMessage", "channel_not_found")
    with pytest.raises(ChatNotFound):
        await chat.send_dm(TO_ALICE, HELLO)
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_dm_channel_cache_is_a_bounded_lru() -> None:
    cache = DmChannels(max_size=2)
    cache.put("T1", "U1", "D1")
    cache.put("T1", "U2", "D2")
    assert cache.get("T1", "U1") == "D1"  # U1 is now the most recent
    cache.put("T1", "U3", "D3")
    assert len(cache) == 2
    assert cache.get("T1", "U2") is None
    assert cache.get("T1", "U1") == "D1" and cache.get("T1", "U3") == "D3"
    assert cache.get("T2", "U1") is None  # workspaces never share ids
    cache.forget("T1", "U1")
    assert cache.get("T1", "U1") is None


# --- through the outbox -----------------------------------------------------------------


async def _crash_mid_send(calbot: Calbot, key: str) -> None:
    """What a process that died right after Slack stored its post leaves behind: a claim
    that expired and a message on Slack the database knows nothing about."""
    runtime = calbot.runtime
    [claimed] = await runtime.store.claim_due(runtime.clock.now(), 1, lease_seconds=-1)
    assert claimed.key == key
    chat = runtime.chats["slack"]
    assert isinstance(chat, SlackChat)
    await chat.send_dm_keyed(claimed.recipient or TO_ALICE, HELLO, key, claimed.in_doubt)


async def test_outbox_resolves_a_send_left_in_flight(calbot: Calbot) -> None:
    slack, runtime = calbot.slack, calbot.runtime
    user = await runtime.store.upsert_user(ALICE_REF)
    await runtime.store.enqueue([OutboxItem("t:1", "slack", HELLO.to_json(), user.recipient)])
    await _crash_mid_send(calbot, "t:1")
    await runtime.outbox.drain()
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(slack.calls_to("conversations.history")) == 1
    [landed] = slack.landed(OUTBOX_EVENT)
    state = await runtime.store.outbox_state("t:1")
    assert state is not None and state.sent_ref == {
        "channel": landed.channel,
        "ts": landed.ts,
        "team": "T1",
    }


async def test_in_doubt_after_an_earlier_429_too(calbot: Calbot) -> None:
    """A row that was throttled once keeps its error text; a later crash is still in doubt."""
    slack, runtime = calbot.slack, calbot.runtime
    user = await runtime.store.upsert_user(ALICE_REF)
    await runtime.store.enqueue([OutboxItem("t:1", "slack", HELLO.to_json(), user.recipient)])
    slack.fail_next(1, status=429, retry_after=0.05, method="chat.postMessage")
    await runtime.outbox.deliver_due()
    due = await runtime.store.next_due()
    assert due is not None and due <= runtime.clock.now() + timedelta(seconds=1)
    await asyncio.sleep((due - runtime.clock.now()).total_seconds() + 0.01)
    await _crash_mid_send(calbot, "t:1")
    await runtime.outbox.drain()
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]
    assert len(slack.landed(OUTBOX_EVENT)) == 1
