"""Kill the outbox worker with SIGKILL mid fan-out, restart it: every nudge lands once.

A real second process delivers 300 queued nudge DMs to the mock Slack (running in this
process), one at a time or 8 at a time in two overlapping passes. Slack answers each
post a little late, after storing it, so when the worker is killed at least one post has
landed on Slack but its outcome never reached the database: the restarted worker must
find it in the DM's history (message metadata carries the outbox key) rather than post
it again, and take over the rows the dead worker had claimed once their lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from functools import partial
from pathlib import Path

import pytest

from integrations.slack.chat import OUTBOX_EVENT
from storage.crypto import generate_key
from tests.fakes.mock_slack import MockSlack, PostedMessage
from tests.slow.fanout import outbox_states, queue_nudges, seed_slack, spawn_worker, worker_env
from tests.support import database_url

pytestmark = pytest.mark.slow

N = 300
POST_LATENCY = 0.02  # seconds Slack takes to answer a post, after storing it
LEASE = 3.0  # the worker's claim lease: how long the dead worker's rows stay taken


def _nudge_keys(slack: MockSlack) -> list[str]:
    keys = [_key(m) for m in slack.landed(OUTBOX_EVENT)]
    return [k for k in keys if k.startswith("nudge:")]


def _key(message: PostedMessage) -> str:
    return str(((message.metadata or {}).get("event_payload") or {}).get("key", ""))


@pytest.mark.parametrize(
    ("concurrency", "passes"), [(1, 1), (8, 2)], ids=["one-at-a-time", "8-in-flight-x2"]
)
async def test_sigkill_mid_fan_out_loses_and_duplicates_nothing(
    tmp_path: Path, concurrency: int, passes: int
) -> None:
    db_url = await database_url(tmp_path)
    key = generate_key()
    log = tmp_path / "worker.log"
    async with MockSlack.running() as slack:
        seed_slack(slack, N)
        assert await queue_nudges(db_url, key, slack) == N
        assert _nudge_keys(slack) == []  # queued, not delivered
        slack.set_latency(POST_LATENCY, method="chat.postMessage")
        spawn = partial(
            spawn_worker,
            worker_env(db_url, key, slack),
            log=log,
            lease=LEASE,
            concurrency=concurrency,
            passes=passes,
        )

        first = await spawn(max_seconds=50)
        try:
            await slack.wait_until(lambda: len(_nudge_keys(slack)) >= N // 3, timeout=20)
            first.kill()  # SIGKILL, while Slack is still answering the last post
        finally:
            with contextlib.suppress(ProcessLookupError):
                first.kill()
            await first.wait()
        landed_at_kill = len(_nudge_keys(slack))
        recorded_at_kill = (await outbox_states(db_url)).get("sent", 0)
        assert first.returncode == -9
        assert N // 3 <= landed_at_kill < N, "the kill must land mid-run"
        # The posts in flight landed on Slack, but the dead worker never recorded them.
        assert recorded_at_kill < landed_at_kill

        second = await spawn(max_seconds=40)
        assert await asyncio.wait_for(second.wait(), timeout=45) == 0, log.read_text()[-3000:]

    keys = _nudge_keys(slack)
    duplicated = {k: n for k, n in Counter(keys).items() if n > 1}
    assert duplicated == {}, f"delivered twice: {duplicated}"
    assert len(keys) == N, f"lost {N - len(keys)}"
    # Each person got exactly one DM, and the database agrees with Slack.
    per_person = Counter(m.channel for m in slack.landed(OUTBOX_EVENT) if _key(m) in set(keys))
    assert len(per_person) == N and set(per_person.values()) == {1}
    assert await outbox_states(db_url) == {"sent": N}
    # The restarted worker looked before re-sending what the dead one had in flight.
    assert slack.calls_to("conversations.history"), "no in-doubt row was checked"
    posts = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    assert len([c for c in posts if _key_of_call(c.params).startswith("nudge:")]) == N


def _key_of_call(params: dict[str, object]) -> str:
    metadata = params.get("metadata")
    if not isinstance(metadata, dict):
        return ""
    payload = metadata.get("event_payload")
    return str(payload.get("key", "")) if isinstance(payload, dict) else ""
