"""SIGKILL the `stalled` job after it claimed the stalled links: no follow-up is lost.

The job claims each link opened but never finished (so no other instance follows it up
too), then records a consent signal and asks the person what Microsoft showed. Killed
between the two, a claim whose follow-up lived only in the dead process's memory would
never be followed up: the next run finds nothing to claim. The follow-up is queued in
the claiming transaction, so the running `serve` delivers it regardless.

The job is stopped at that point by a table lock on `consent_reports` (the signal's
INSERT waits on it), hence PostgreSQL only.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from storage import models as m
from tests.slow.procs import (
    APP,
    Calbot,
    World,
    connect_link,
    dms,
    engine,
    eventually,
    fresh_database,
    updates_of,
    versions,
    world,
)
from tests.support import PG_URL

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="holds a PostgreSQL table lock to stop the job there"),
]

PEOPLE = ["U1", "U2", "U3"]
FOLLOW_UP = "It looks like connecting your calendar didn't finish. What did Microsoft show?"


async def test_sigkill_after_claiming_stalled_links_loses_no_follow_up(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as db_url, world(tmp_path, db_url) as w:
        a = await w.calbot("a").start()
        try:
            await _story(w, a, db_url)
        except BaseException:
            print(a.log_tail())
            raise


async def _story(w: World, a: Calbot, db_url: str) -> None:
    for user in PEOPLE:
        w.slack.add_user(user, name=user.lower(), email=f"{user.lower()}@contoso.com")
    assert await asyncio.gather(*(w.command(a, u, "connect") for u in PEOPLE)) == [200] * 3
    await eventually(
        lambda: all(dms(w.slack, u, "connect-dm") for u in PEOPLE), timeout=15, what="links"
    )
    for user in PEOPLE:  # opened, never finished; ten minutes pass (played forward)
        await w.open_link(a, connect_link(w.slack, user))
    async with engine(db_url) as eng:
        async with eng.begin() as conn:
            await conn.execute(
                update(m.ConnectLink).values(clicked_at=datetime.now(UTC) - timedelta(hours=1))
            )
        job = w.procs.logs / "stalled-job.log"
        async with eng.connect() as door:
            await door.execute(text("LOCK TABLE consent_reports IN EXCLUSIVE MODE"))
            child = await w.procs.spawn([str(APP), "jobs", "run", "stalled"], a.env, job)
            await eventually(
                lambda: _claimed_and_blocked(db_url), timeout=30, what="the job to claim and block"
            )
            child.kill()
            assert await asyncio.wait_for(child.wait(), timeout=10) == -9
            await door.rollback()

    await a.job("stalled")  # the next run: everything is claimed already
    await eventually(
        lambda: all(versions(dms(w.slack, u, "connect-dm")[0])[-1] == FOLLOW_UP for u in PEOPLE),
        timeout=15,
        what="every stalled link followed up",
    )
    for user in PEOPLE:
        [message] = dms(w.slack, user, "connect-dm")
        assert updates_of(w.slack, message) == 1, user


async def _claimed_and_blocked(db_url: str) -> bool:
    async with engine(db_url) as eng, eng.connect() as conn:
        claimed = await conn.scalar(
            select(func.count()).where(m.ConnectLink.stalled_at.is_not(None))
        )
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO consent_reports%'"
            )
        )
    return claimed == len(PEOPLE) and bool(waiting)
