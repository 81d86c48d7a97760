"""A nudge fan-out queued through the core, and outbox worker processes to deliver it.

Shared by the kill-and-restart test and `bench/bench_nudges.py`:

    slack.add_user(...)            # a MockSlack, running in this process
    queued = await queue_nudges(db_url, key, slack, count=300)
    worker = await spawn_worker(worker_env(db_url, key, slack), log=path)
    ... poll slack.landed(OUTBOX_EVENT), worker.kill(), spawn again ...
    assert await outbox_states(db_url) == {"sent": queued}
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy import func, select

from bot.connect import Actor
from bot.identity import ChatProfile, TeamRef, UserRef
from bot.settings import load_settings
from integrations.runtime import build_runtime
from storage import models as m
from storage.db import make_engine
from tests.fakes.mock_slack import MockSlack

ROOT = Path(__file__).resolve().parents[2]
TEAM = "T1"
ADMIN = "UADMIN"
CHANNEL = "C1"
SIGNING_SECRET = "slow-test-secret"
# Nothing calls Cronofy while delivering DMs; an address that answers nobody keeps the
# runtime from starting its sandbox (and from talking to anything but 127.0.0.1).
NO_CRONOFY = "http://127.0.0.1:9/"


def member_ids(count: int) -> list[str]:
    return [f"U{n:05d}" for n in range(1, count + 1)]


def seed_slack(slack: MockSlack, count: int) -> list[str]:
    """An admin and a channel of `count` people, none of them connected."""
    slack.add_user(ADMIN, name="admin", real_name="Ada Admin", is_admin=True)
    ids = member_ids(count)
    for uid in ids:
        slack.add_user(uid, name=uid.lower(), email=f"{uid.lower()}@contoso.com")
    slack.add_channel(CHANNEL, ids, name="interviewers")
    return ids


def settings_for(db_url: str, key: str, slack: MockSlack) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url,
        "TOKEN_ENCRYPTION_KEY": key,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "PUBLIC_BASE_URL": "http://127.0.0.1:3000",
        "CRONOFY_API_URL": NO_CRONOFY,
        "LOG_LEVEL": "WARNING",
    }


async def queue_nudges(db_url: str, key: str, slack: MockSlack) -> int:
    """The admin presses "Nudge all not connected" for the channel; nothing is delivered.

    Goes through the core as a click would (roster from the mock, one outbox row per
    person plus the admin's progress DM), in a runtime that is closed before any
    outbox worker runs. Returns how many nudges were queued.
    """
    settings = load_settings(_env_file=None, **settings_for(db_url, key, slack))
    runtime = await build_runtime(settings)
    try:
        admin = Actor(
            user=UserRef("slack", TEAM, ADMIN),
            profile=ChatProfile(display_name="Ada Admin", is_admin=True),
        )
        everyone = str(TeamRef("channel", CHANNEL))
        reply = await runtime.bot.action(admin, "status.nudge_all", everyone)
        assert reply is not None and reply.text.startswith("Nudging"), reply
        return int(reply.text.split()[1])
    finally:
        await runtime.close()


def worker_env(db_url: str, key: str, slack: MockSlack) -> dict[str, str]:
    """The environment of a worker process: this one's, minus settings that would switch
    modes (a developer's SLACK_*/CRONOFY_*/…), plus the test's."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "CRONOFY_", "MICROSOFT_", "CALBOT_", "DATABASE_URL"))
    }
    return {**keep, **settings_for(db_url, key, slack), "PYTHONPATH": str(ROOT)}


async def spawn_worker(
    env: dict[str, str],
    *,
    log: Path,
    lease: float = 3.0,
    max_seconds: float = 60.0,
    concurrency: int = 1,
    passes: int = 1,
) -> asyncio.subprocess.Process:
    """Start `python -m tests.slow.outbox_worker` (its output appended to `log`)."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.slow.outbox_worker",
            "--lease",
            str(lease),
            "--max-seconds",
            str(max_seconds),
            "--concurrency",
            str(concurrency),
            "--passes",
            str(passes),
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )


async def outbox_states(db_url: str, prefix: str = "nudge:") -> dict[str, int]:
    """How many outbox rows with keys starting with `prefix` are in each status."""
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(m.OutboxMessage.status, func.count())
                .where(m.OutboxMessage.key.startswith(prefix))
                .group_by(m.OutboxMessage.status)
            )
            return {str(status): int(n) for status, n in rows.all()}
    finally:
        await engine.dispose()
