"""SIGKILL calbot at each step of connect; after the restart nothing is lost or doubled.

One `serve` process, killed and restarted on the same port four times, one person per
crash point:

- U1: after the click (the browser is on its way to Cronofy);
- U2: after the code exchange (Cronofy redeemed the code and answered; calbot died
  before storing the tokens): the reloaded callback says the sign-in must be redone,
  the link still works, and the second try connects;
- U3: after the connection was stored but before the DM edit was delivered (Slack
  answered the first try with a 429; calbot died waiting to retry);
- U4: while the DM edit was in flight (Slack applied it, calbot never heard): once the
  dead process's claim runs out, the restarted one edits again to the same content.

Each DM gets exactly the edits its story calls for, each connection exists once, every
link ends completed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, update

from storage import models as m
from tests.slow.procs import (
    CHILD_SECRETS,
    Calbot,
    World,
    connect_link,
    dms,
    engine,
    eventually,
    fresh_database,
    scan_logs,
    updates_of,
    versions,
    world,
)

pytestmark = pytest.mark.slow

PEOPLE = ["U1", "U2", "U3", "U4"]
CONNECT = "Connect your calendar"
FAILED = "Connecting your calendar didn't finish"


def email(user: str) -> str:
    return f"{user.lower()}@contoso.com"


def connected(user: str) -> str:
    return f"Connected: Office 365 ({email(user)})"


def dm_versions(w: World, user: str) -> list[str]:
    [message] = dms(w.slack, user, "connect-dm")
    return versions(message)


async def expire_claims(db_url: str) -> None:
    """Play the clock past the outbox lease (a minute) of the rows the dead process held."""
    async with engine(db_url) as eng, eng.begin() as conn:
        await conn.execute(
            update(m.OutboxMessage)
            .where(m.OutboxMessage.claimed_until.is_not(None))
            .values(claimed_until=datetime.now(UTC) - timedelta(seconds=1))
        )


async def test_sigkill_at_each_step_of_connect(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as db_url, world(tmp_path, db_url) as w:
        for user in PEOPLE:
            w.slack.add_user(user, name=user.lower(), real_name=user, email=email(user))
        a = await w.calbot("a").start()
        try:
            await _story(w, a, db_url)
        except BaseException:
            print(a.log_tail())
            raise
        assert scan_logs(tmp_path, CHILD_SECRETS) == []


async def _story(w: World, a: Calbot, db_url: str) -> None:
    slack = w.slack
    assert await asyncio.gather(*(w.command(a, u, "connect") for u in PEOPLE)) == [200] * 4
    await eventually(
        lambda: all(dms(slack, u, "connect-dm") for u in PEOPLE), timeout=15, what="the links"
    )

    # U1: killed right after the click. The browser comes back to the new process.
    authorize = await w.open_link(a, connect_link(slack, "U1"))
    await a.kill()
    await a.start()
    status, page = await w.callback(a, await w.approve(authorize, email("U1")))
    assert status == 200 and email("U1") in page
    # Each crash below must catch only its own step in flight, not an earlier edit.
    await eventually(lambda: _all_sent(db_url), timeout=15, what="U1's edit to be delivered")

    # U2: killed after Cronofy redeemed the code, before calbot heard back.
    location = await w.approve(await w.open_link(a, connect_link(slack, "U2")), email("U2"))
    hold = w.gate.hold("POST", "/oauth/token")
    browser = asyncio.create_task(w.callback(a, location))
    await asyncio.wait_for(hold.reached.wait(), timeout=15)
    await a.kill()
    hold.released.set()
    with pytest.raises(aiohttp.ClientError):  # the browser shows a connection error
        await browser
    await a.start()
    assert await _connection_count(db_url) == 1, "U2's tokens died with the process"
    # Reloading the callback: the code is spent, so the sign-in must be redone.
    status, page = await w.callback(a, location)
    assert status == 400 and "Cronofy refused the sign-in" in page, page
    assert "Traceback" not in page
    await eventually(
        lambda: dm_versions(w, "U2")[-1] == FAILED, timeout=15, what="U2's DM to say so"
    )
    await w.connect("U2", email("U2"), a, a)  # the same link, a second time
    await eventually(lambda: _all_sent(db_url), timeout=15, what="U2's edits to be delivered")

    # U3: the connection is stored; Slack refuses the DM edit (429, retry in 30 s) and the
    # process is killed while it waits to retry. The clock is played forward after.
    slack.fail_next(1, status=429, retry_after=30, method="chat.update")
    await w.connect("U3", email("U3"), a, a)
    await eventually(
        lambda: _retry_pending(db_url, "U3"), timeout=15, what="U3's edit to wait for a retry"
    )
    await a.kill()
    await a.start()
    await _due_now(db_url)
    # Delivered and recorded before the next crash, which must not catch it in flight.
    await eventually(lambda: _all_sent(db_url), timeout=15, what="U3's edit to be delivered")

    # U4: Slack applies the edit but answers late; killed before the answer arrives.
    slack.set_latency(5, method="chat.update")
    await w.connect("U4", email("U4"), a, a)
    await eventually(lambda: len(dm_versions(w, "U4")) == 2, timeout=15, what="U4's edit to land")
    await a.kill()
    slack.set_latency(0, method="chat.update")
    await a.start()
    await expire_claims(db_url)

    expected = {
        "U1": [CONNECT, connected("U1")],
        "U2": [CONNECT, FAILED, connected("U2")],
        "U3": [CONNECT, connected("U3")],
        "U4": [CONNECT, connected("U4")],
    }
    await eventually(
        lambda: {u: _distinct(dm_versions(w, u)) for u in PEOPLE} == expected,
        timeout=20,
        what="every DM to show its story",
    )
    await eventually(lambda: _all_sent(db_url), timeout=20, what="the outbox to drain")
    for user in ("U1", "U2", "U3"):
        [message] = dms(slack, user, "connect-dm")
        assert updates_of(slack, message) == len(expected[user]) - 1, user
        assert dm_versions(w, user) == expected[user], user
    # U4's edit landed unseen: the only safe repeat is the same content, once more.
    [message] = dms(slack, "U4", "connect-dm")
    assert updates_of(slack, message) <= 2
    assert dm_versions(w, "U4")[-1] == connected("U4")
    for user in PEOPLE:
        assert len(dms(slack, user)) == 1, f"{user} got another DM"

    async with engine(db_url) as eng, eng.connect() as conn:
        rows = (
            await conn.execute(
                select(m.ChatUser.platform_user_id, m.CalendarConnection.profile_name).join(
                    m.CalendarConnection
                )
            )
        ).all()
        assert sorted(rows) == [(u, email(u)) for u in PEOPLE], "one connection each"
        open_links = await conn.scalar(
            select(func.count()).where(m.ConnectLink.completed_at.is_(None))
        )
        assert open_links == 0


def _distinct(texts: list[str]) -> list[str]:
    """Consecutive repeats collapsed: an edit to the same content shows nothing new."""
    return [t for i, t in enumerate(texts) if i == 0 or texts[i - 1] != t]


async def _due_now(db_url: str) -> None:
    """Play the clock to the next attempt of every message waiting to be retried."""
    async with engine(db_url) as eng, eng.begin() as conn:
        await conn.execute(
            update(m.OutboxMessage)
            .where(m.OutboxMessage.status == "pending")
            .values(next_attempt_at=datetime.now(UTC))
        )


async def _connection_count(db_url: str) -> int:
    async with engine(db_url) as eng, eng.connect() as conn:
        return int(await conn.scalar(select(func.count(m.CalendarConnection.id))) or 0)


async def _retry_pending(db_url: str, user: str) -> bool:
    """U's connect edit was tried, failed, and waits (unclaimed) for its next attempt."""
    async with engine(db_url) as eng, eng.connect() as conn:
        row = (
            await conn.execute(
                select(m.OutboxMessage.attempts, m.OutboxMessage.claimed_until)
                .join(m.ConnectLink, m.ConnectLink.message_key == m.OutboxMessage.edit_of)
                .join(m.ChatUser, m.ChatUser.id == m.ConnectLink.user_id)
                .where(m.ChatUser.platform_user_id == user, m.OutboxMessage.status == "pending")
            )
        ).first()
    return row is not None and row.attempts >= 1 and row.claimed_until is None


async def _all_sent(db_url: str) -> bool:
    async with engine(db_url) as eng, eng.connect() as conn:
        statuses = dict(
            (
                await conn.execute(
                    select(m.OutboxMessage.status, func.count()).group_by(m.OutboxMessage.status)
                )
            ).all()
        )
    return set(statuses) == {"sent"}
