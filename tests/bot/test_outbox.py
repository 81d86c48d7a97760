"""The outbox against a fake chat platform: retries, throttling, ordering, crashes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.errors import ChatNotFound, ChatThrottled, ChatTransient
from bot.identity import ChatProfile, Member, Recipient, SentMessage, TeamRef, UserRef
from bot.messages import Message, simple
from bot.outbox import OutboxWorker
from bot.records import OutboxItem
from storage.crypto import TokenCipher, generate_key
from storage.db import make_engine, make_sessionmaker
from storage.repository import SqlStore
from tests.support import database_url

ALICE = Recipient(UserRef("fake", "W1", "alice"))


@dataclass
class FakeChat:
    """Records what reaches the platform; fails on demand."""

    platform: str = "fake"
    sent: list[tuple[str, str]] = field(default_factory=list)
    edits: list[tuple[str, str]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    async def send_dm(self, recipient: Recipient, message: Message) -> SentMessage:
        self._maybe_fail()
        self.sent.append((recipient.user.user_id, message.text))
        return SentMessage(self.platform, {"id": str(len(self.sent))})

    async def update(self, sent: SentMessage, message: Message) -> None:
        self._maybe_fail()
        self.edits.append((str(sent.ref["id"]), message.text))

    async def profile(self, user: UserRef) -> ChatProfile:
        return ChatProfile(user.user_id)

    async def members(
        self, workspace_id: str, team: TeamRef, *, on_behalf_of: Recipient | None = None
    ) -> list[Member]:
        return []


@pytest.fixture
async def setup(tmp_path: Path):
    url = await database_url(tmp_path)
    engine = make_engine(url)
    clock = FixedClock()
    store = SqlStore(make_sessionmaker(engine), TokenCipher(generate_key()), clock)
    chat = FakeChat()
    worker = OutboxWorker(store, {"fake": chat}, clock)
    yield store, chat, worker, clock
    await engine.dispose()


def _item(key: str, text: str, *, edit_of: str | None = None) -> OutboxItem:
    return OutboxItem(key, "fake", simple(text).to_json(), recipient=ALICE, edit_of=edit_of)


async def test_a_key_is_delivered_once(setup) -> None:
    store, chat, worker, _ = setup
    await store.enqueue([_item("k1", "hello"), _item("k1", "hello again")])
    await worker.drain()
    await worker.drain()
    assert chat.sent == [("alice", "hello")]


async def test_throttling_waits_for_retry_after_then_delivers(setup) -> None:
    store, chat, worker, clock = setup
    chat.failures.append(ChatThrottled(30))
    await store.enqueue([_item("k1", "one"), _item("k2", "two")])
    await worker.deliver_due()
    assert chat.sent == []
    clock.advance(seconds=31)
    await worker.drain()
    assert sorted(chat.sent) == [("alice", "one"), ("alice", "two")]


async def test_transient_errors_back_off_and_undeliverable_ones_stop(setup) -> None:
    store, chat, worker, clock = setup
    chat.failures += [ChatTransient("502"), ChatNotFound("gone")]
    await store.enqueue([_item("k1", "one"), _item("k2", "two")])
    await worker.deliver_due()
    clock.advance(minutes=10)
    await worker.drain()
    assert chat.sent == [("alice", "one")] or chat.sent == [("alice", "two")]
    assert await store.batch_counts("none") == {}


async def test_a_stale_edit_never_overwrites_a_newer_one(setup) -> None:
    store, chat, worker, clock = setup
    await store.enqueue([_item("card", "v0")])
    await worker.drain()
    chat.failures.append(ChatThrottled(60))
    await store.enqueue([_item("card:v1", "v1", edit_of="card")])
    await worker.deliver_due()  # v1 is throttled
    await store.enqueue([_item("card:v2", "v2", edit_of="card")])
    clock.advance(seconds=5)
    await worker.drain()  # v2 goes out first
    clock.advance(seconds=120)
    await worker.drain()  # v1 comes due again, but is stale
    assert chat.edits == [("1", "v2")]


async def test_a_guarded_message_is_skipped_when_the_guard_fails(setup) -> None:
    store, chat, worker, _ = setup
    item = _item("nudge", "connect please")
    guarded = OutboxItem(
        item.key,
        item.platform,
        item.payload_json,
        recipient=ALICE,
        guard="unless_connected:999",
        batch="b1",
    )
    await store.enqueue([guarded])
    await worker.drain()
    # Nobody with id 999 is connected, so the guard holds and the message goes out.
    assert chat.sent == [("alice", "connect please")]
    assert await store.batch_counts("b1") == {"sent": 1}


async def test_two_workers_on_one_database_deliver_each_message_once(setup) -> None:
    """Regression: a row sent and released by one worker was re-claimed by the other."""
    import asyncio

    store, chat, worker, clock = setup
    second = OutboxWorker(store, {"fake": chat}, clock, concurrency=4)
    await store.enqueue([_item(f"k{i}", f"message {i}") for i in range(120)])
    await asyncio.gather(worker.drain(), second.drain(), worker.drain())
    texts = [text for _, text in chat.sent]
    assert len(texts) == 120
    assert len(set(texts)) == 120


async def test_an_edit_waits_for_an_original_that_is_only_delayed(setup) -> None:
    """A consent alert held back by errors for a while, edited meanwhile: one message."""
    store, chat, worker, clock = setup
    chat.failures += [ChatTransient("502")] * 4
    await store.enqueue([_item("card", "v0")])
    await worker.deliver_due()  # the original fails and backs off
    await store.enqueue([_item("card:v1", "v1", edit_of="card")])
    for _ in range(120):  # a minute of the edit coming due again and again
        clock.advance(seconds=0.5)
        await worker.deliver_due()
    await worker.drain()
    assert chat.sent == [("alice", "v0")]
    assert chat.edits == [("1", "v1")]


async def test_an_edit_of_an_original_given_up_on_is_posted_instead(setup) -> None:
    store, chat, worker, _ = setup
    chat.failures.append(ChatNotFound("channel gone"))
    await store.enqueue([_item("card", "v0")])
    await worker.deliver_due()  # undeliverable: the original is dead
    await store.enqueue([_item("card:v1", "v1", edit_of="card")])
    await worker.drain()
    assert chat.sent == [("alice", "v1")]
    assert chat.edits == []


async def test_a_batch_that_outlives_its_lease_sends_nothing_twice(setup) -> None:
    """Sends slow enough that a 60 s lease runs out mid-batch, and another instance
    claims what has lapsed: each message still goes out once."""
    store, chat, worker, clock = setup
    other = OutboxWorker(store, {"fake": chat}, clock)
    await store.enqueue([_item(f"k{n}", f"m{n}") for n in range(3)])
    send = chat.send_dm

    async def slow_send(recipient: Recipient, message: Message) -> SentMessage:
        if message.text == "m0":
            clock.advance(seconds=35)
        elif message.text == "m1":
            clock.advance(seconds=30)  # the first claim ran out at 60 s
            await other.deliver_due()  # the other instance takes what lapsed
            clock.advance(seconds=5)
        return await send(recipient, message)

    chat.send_dm = slow_send  # type: ignore[method-assign]
    await worker.deliver_due()
    assert sorted(text for _, text in chat.sent) == ["m0", "m1", "m2"]
