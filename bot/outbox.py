"""Delivers queued chat messages: at least once to the platform, exactly once per key.

Every message the bot sends is first written to the outbox in the same transaction as
the state change that caused it, so a crash between "decided" and "sent" loses nothing.
Several workers (one per instance) can run; rows are claimed with a lease.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from bot.errors import ChatNotFound, ChatNotInstalled, ChatThrottled, StoreUnavailable
from bot.identity import SentMessage
from bot.messages import Message
from bot.ports import ChatPort, Clock, Store
from bot.records import ClaimedMessage

log = logging.getLogger(__name__)

UNDELIVERABLE = (ChatNotInstalled, ChatNotFound)
ORIGINAL_LAG = 0.1  # seconds after its original's next attempt that a waiting edit retries


class OutboxWorker:
    def __init__(
        self,
        store: Store,
        chats: Mapping[str, ChatPort],
        clock: Clock,
        *,
        max_attempts: int = 8,
        lease_seconds: float = 60.0,
        batch: int = 50,
        on_batch_progress: Callable[[str, str], Awaitable[None]] | None = None,
        concurrency: int = 1,
    ) -> None:
        self._store = store
        self._chats = chats
        self._clock = clock
        self._max_attempts = max_attempts
        self._lease = lease_seconds
        self._batch = batch
        # How many messages of a batch may be in flight at once (to different people;
        # one person's messages always go in order). 1 = strictly one after another.
        self._concurrency = max(1, concurrency)
        self._wake = asyncio.Event()
        self.on_batch_progress = on_batch_progress

    def wake(self) -> None:
        """Called after an enqueue so delivery does not wait for the next tick."""
        self._wake.set()

    async def deliver_due(self) -> int:
        """One pass over what is due now. Returns how many messages were attempted."""
        claimed = await self._store.claim_due(self._clock.now(), self._batch, self._lease)
        throttled_until: dict[str, float] = {}
        batches: dict[str, str] = {}
        for item in claimed:
            if item.batch:
                batches[item.batch] = item.platform
        if self._concurrency == 1:
            for item in claimed:
                await self._attempt(item, throttled_until)
        else:
            await self._attempt_concurrently(claimed, throttled_until)
        if self.on_batch_progress is not None:
            for batch, platform in batches.items():
                await self.on_batch_progress(batch, platform)
        return len(claimed)

    async def _attempt(self, item: ClaimedMessage, throttled_until: dict[str, float]) -> None:
        pause = throttled_until.get(item.platform)
        if pause is not None:
            # The platform just said 429: leave the rest of its batch for later.
            await self._store.mark_retry(
                item.id, "waiting for rate limit", self._clock.now() + timedelta(seconds=pause)
            )
            return
        if not await self._still_ours(item):
            log.info("outbox %s: taken over by another worker after a long batch", item.key)
            return
        try:
            await self._deliver(item)
        except ChatThrottled as exc:
            throttled_until[item.platform] = exc.retry_after
            await self._store.mark_retry(
                item.id, str(exc), self._clock.now() + timedelta(seconds=exc.retry_after)
            )
        except UNDELIVERABLE as exc:
            log.warning("outbox %s undeliverable: %s", item.key, type(exc).__name__)
            await self._store.mark_dead(item.id, type(exc).__name__)
        except Exception as exc:
            await self._retry_or_give_up(item, exc)

    async def _attempt_concurrently(
        self, claimed: list[ClaimedMessage], throttled_until: dict[str, float]
    ) -> None:
        """Up to `concurrency` sends in flight, so a fan-out is not bound by round trips.

        Messages to one person (or edits of one message) form a lane and go in order.
        """
        lanes: dict[object, list[ClaimedMessage]] = {}
        for item in claimed:
            lane = item.recipient.user if item.recipient is not None else item.edit_of
            lanes.setdefault(lane or item.key, []).append(item)
        gate = asyncio.Semaphore(self._concurrency)

        async def run(items: list[ClaimedMessage]) -> None:
            for item in items:
                async with gate:
                    await self._attempt(item, throttled_until)

        async with asyncio.TaskGroup() as group:
            for items in lanes.values():
                group.create_task(run(items))

    async def _still_ours(self, item: ClaimedMessage) -> bool:
        """Late in a slow batch (past half the lease), renew the claim before sending:
        a claim that lapsed may have been taken by another instance, which then sends."""
        if item.claimed_until is None:
            return True
        now = self._clock.now()
        if now < item.claimed_until - timedelta(seconds=self._lease / 2):
            return True
        until = now + timedelta(seconds=self._lease)
        return await self._store.renew_claim(item.id, item.claimed_until, until)

    async def _deliver(self, item: ClaimedMessage) -> None:
        chat = self._chats.get(item.platform)
        if chat is None:
            raise _PlatformOff(item.platform)
        if item.guard and not await self._store.guard_holds(item.guard):
            await self._store.mark_skipped(item.id, f"guard {item.guard} no longer holds")
            return
        message = Message.from_json(item.payload_json)
        if item.edit_of:
            if await self._store.newer_edit_sent(item.edit_of, item.id):
                # Held back by a 429 while a newer edit went out: showing it would go back
                # in time ("2 of 9" after "9 of 9").
                await self._store.mark_skipped(item.id, "superseded by a newer edit")
                return
            # Status and ref in one read: checked one after the other, a concurrent lane
            # could send the original in between and the edit would find neither.
            original = await self._store.outbox_state(item.edit_of)
            if original is not None and original.sent_ref is not None:
                ref = dict(original.sent_ref)
                await chat.update(SentMessage(platform=item.platform, ref=ref), message)
                await self._store.mark_sent(item.id, ref, self._clock.now())
                return
            if original is not None and original.status == "pending":
                # Only delayed (throttled, backing off): wait for it. A copy posted now
                # would leave two messages, the original never edited again.
                raise _OriginalNotSentYet(item.edit_of, retry_at=original.next_attempt_at)
            if original is None and item.attempts < 3:
                raise _OriginalNotSentYet(item.edit_of)  # may be queued in a moment
            if item.recipient is None:
                await self._store.mark_skipped(item.id, f"{item.edit_of} was never sent")
                return
            # The message to edit will never go out: say it in a new message instead.
        assert item.recipient is not None
        if item.recipient.channel:
            poster = getattr(chat, "post_to_channel", None)
            if poster is None:
                raise ChatNotFound(f"{item.platform} cannot post to channels")
            sent = await poster(item.recipient.user.workspace_id, item.recipient.channel, message)
            await self._store.mark_sent(item.id, sent.ref, self._clock.now())
            return
        keyed = getattr(chat, "send_dm_keyed", None)
        if keyed is not None:
            sent = await keyed(item.recipient, message, item.key, item.in_doubt)
        else:
            sent = await chat.send_dm(item.recipient, message)
        await self._store.mark_sent(item.id, sent.ref, self._clock.now())

    async def _retry_or_give_up(self, item: ClaimedMessage, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:500]
        if isinstance(exc, _OriginalNotSentYet) and exc.retry_at is not None:
            # Not a failure of this message: its original has attempts of its own and
            # ends sent (edit it) or given up (post this instead). Come back just after
            # the original's next attempt.
            now = self._clock.now()
            soonest = now + timedelta(seconds=0.5)
            after_original = exc.retry_at + timedelta(seconds=ORIGINAL_LAG)
            await self._store.mark_retry(item.id, reason, max(soonest, after_original))
            return
        if item.attempts >= self._max_attempts:
            log.error("outbox %s gave up after %d attempts: %s", item.key, item.attempts, reason)
            await self._store.mark_dead(item.id, reason)
            return
        delay = min(2.0**item.attempts, 300.0) * (0.5 + random.random() / 2)
        if isinstance(exc, _OriginalNotSentYet):
            delay = 0.5
        await self._store.mark_retry(item.id, reason, self._clock.now() + timedelta(seconds=delay))

    async def drain(self, max_seconds: float = 10.0) -> None:
        """Deliver until nothing is due now (tests and one-shot jobs)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        while loop.time() < deadline:
            if not await self.deliver_due():
                due = await self._store.next_due()
                if due is None or due > self._clock.now() + timedelta(seconds=1):
                    return
                await asyncio.sleep(0.05)

    async def run(self, interval: float) -> None:
        """Deliver forever, waking on `wake()` or every `interval` seconds."""
        while True:
            try:
                while await self.deliver_due():
                    pass
            except StoreUnavailable as exc:
                # Expected while the database restarts: one line per tick, no traceback.
                # Rows this pass had claimed are retried once their lease runs out.
                log.warning("outbox pass: database unavailable (%s); retrying next tick", exc)
            except Exception:
                log.exception("outbox pass failed; retrying next tick")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            except TimeoutError:
                pass
            self._wake.clear()


class _PlatformOff(Exception):
    def __init__(self, platform: str) -> None:
        super().__init__(f"{platform} is not enabled on this instance")


class _OriginalNotSentYet(Exception):
    def __init__(self, key: str, *, retry_at: datetime | None = None) -> None:
        super().__init__(f"waiting for {key} to be sent")
        self.retry_at = retry_at  # the original's next attempt, if it is still pending
