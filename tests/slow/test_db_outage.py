"""PostgreSQL goes away for a few seconds under a running calbot, then comes back.

A proxy in the test process stands between `serve` and PostgreSQL; `down()` resets every
connection and refuses new ones. While it is down, requests keep arriving: Slack still
gets its ack at once and the person a clear "try again" answer, browsers a clear error
page (503, no stack trace). One sign-in straddles the outage: Cronofy redeemed its code
and the transaction storing the connection is cut mid-way (its link already marked
completed, uncommitted), so nothing of it is stored and the sign-in is redone. When the
database is back the same process carries on (the pool replaces its dead connections),
everything asked for afterwards works, nothing was written half-way and no message is
sent twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, text

from storage import models as m
from tests.fakes.slack_payloads import JSON, dm_event, event_body
from tests.slow.pgproxy import FlakyProxy
from tests.slow.procs import (
    CHILD_SECRETS,
    Calbot,
    World,
    connect_link,
    dms,
    engine,
    eventually,
    fresh_database,
    outbox_key,
    scan_logs,
    versions,
    world,
)
from tests.support import PG_URL

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not PG_URL,
        reason="a proxy between calbot and PostgreSQL stands in for the outage "
        "(SQLite is a file, it does not go away): set TEST_DATABASE_URL to run",
    ),
]

PEOPLE = ["U1", "U2", "U3", "U4", "U5"]
OUTAGE = 3.0  # seconds the database stays away
ACK_BUDGET = 2.5  # Slack gives up after 3 s
SORRY = "Sorry, something went wrong on my side. Please try again in a minute."
UNAVAILABLE = "calbot is briefly unavailable"  # the 503 page's title


def email(user: str) -> str:
    return f"{user.lower()}@contoso.com"


def _through(db_url: str, port: int) -> str:
    parts = urlsplit(db_url)
    return parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{port}").geturl()


async def test_database_outage_fails_cleanly_and_recovers(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as db_url, world(tmp_path, db_url) as w:
        target = urlsplit(db_url)
        proxy = await FlakyProxy(target.hostname or "127.0.0.1", target.port or 5432).start()
        try:
            a = await w.calbot("a", db_url=_through(db_url, proxy.port)).start()
            try:
                await _story(w, a, proxy, db_url)
            except BaseException:
                print(a.log_tail(8000))
                raise
        finally:
            await proxy.close()
        assert scan_logs(tmp_path, CHILD_SECRETS) == []


async def _timed(work: Awaitable[int]) -> tuple[int, float]:
    """An HTTP status and how long it took to come back."""
    started = time.monotonic()
    status = await work
    return status, time.monotonic() - started


async def _page(w: World, url: str) -> tuple[int, str]:
    async with w.http.get(url, allow_redirects=False) as response:
        return response.status, await response.text()


async def _story(w: World, a: Calbot, proxy: FlakyProxy, db_url: str) -> None:
    slack = w.slack
    for user in PEOPLE:
        slack.add_user(user, name=user.lower(), real_name=user, email=email(user))
    assert await asyncio.gather(*(w.command(a, u, "connect") for u in PEOPLE[:3])) == [200] * 3
    await eventually(
        lambda: all(dms(slack, u, "connect-dm") for u in PEOPLE[:3]), timeout=15, what="links"
    )
    # U2 signed in at Cronofy and is on the way back. U3's callback is mid-transaction:
    # the link is marked completed (not committed), storing the connection waits on a
    # table lock the test holds, and that is when every connection is reset.
    back_u2 = await w.approve(await w.open_link(a, connect_link(slack, "U2")), email("U2"))
    back_u3 = await w.approve(await w.open_link(a, connect_link(slack, "U3")), email("U3"))
    async with engine(db_url) as eng, eng.connect() as locker:
        await locker.execute(text("LOCK TABLE calendar_connections IN ACCESS EXCLUSIVE MODE"))
        straddling = asyncio.create_task(w.callback(a, back_u3))
        await eventually(
            lambda: _waiting_on(db_url, "calendar_connections"),
            timeout=15,
            what="U3's transaction to wait on the lock",
        )
        await proxy.down()
        down_at = time.monotonic()
        await locker.rollback()
    pid = a.process.pid if a.process else None
    status, page = await straddling
    assert status == 503 and UNAVAILABLE in page, (status, page[:800])

    # While it is down: Slack acks at once and the person hears "try again".
    acks = await asyncio.gather(
        _timed(w.command(a, "U4", "connect")),
        _timed(w.click(a, "U1", "connect.reconnect", "self")),
        _timed(
            w.slack_post(
                a,
                event_body(
                    dm_event("status", user_id="U5", channel=slack.dm_channel("U5")),
                    event_id="EvOutage1",
                ),
                JSON,
            )
        ),
    )
    assert [s for s, _ in acks] == [200, 200, 200]
    assert max(t for _, t in acks) < ACK_BUDGET, acks
    # Browsers get a clear page, never a stack trace.
    pages = [
        await _page(w, f"{a.url}{urlsplit(connect_link(slack, 'U1')).path}"),
        await w.callback(a, back_u2),
        await _page(w, f"{a.url}/readyz"),
    ]
    assert [s for s, _ in pages] == [503, 503, 503], pages
    for _, body in pages[:2]:
        assert UNAVAILABLE in body and "Traceback" not in body, body[:800]
    await eventually(
        lambda: (
            w.replies("U4") == [SORRY]
            and w.replies("U1", "act") == [SORRY]
            and [m.text for m in dms(slack, "U5") if not outbox_key(m)] == [SORRY]
        ),
        timeout=10,
        what="the 'try again' answers",
    )
    assert time.monotonic() - down_at < OUTAGE, "the outage ended before the checks did"
    await asyncio.sleep(OUTAGE - (time.monotonic() - down_at))
    await proxy.up()

    # The same process recovers on its own.
    await eventually(lambda: _ready(w, a), timeout=15, what="/readyz to say ready again")
    assert a.process is not None and a.process.returncode is None and a.process.pid == pid
    # What failed can simply be done again.
    status, page = await w.callback(a, back_u2)
    assert status == 200 and email("U2") in page, page[:800]
    await w.connect("U1", email("U1"), a, a)
    status, page = await w.callback(a, back_u3)  # the code was spent during the outage
    assert status == 400 and "Cronofy refused the sign-in" in page
    await w.connect("U3", email("U3"), a, a)
    assert await w.command(a, "U4", "connect") == 200
    assert (
        await w.slack_post(
            a,
            event_body(
                dm_event("status", user_id="U5", channel=slack.dm_channel("U5"), ts="2.0"),
                event_id="EvAfter1",
            ),
            JSON,
        )
        == 200
    )

    await eventually(
        lambda: (
            [versions(dms(slack, u, "connect-dm")[0])[-1] for u in ("U1", "U2", "U3")]
            == [f"Connected: Office 365 ({email(u)})" for u in ("U1", "U2", "U3")]
            and len(dms(slack, "U4", "connect-dm")) == 1
            and len([m for m in dms(slack, "U5") if not outbox_key(m)]) == 2
        ),
        timeout=20,
        what="everything asked for after the outage",
    )
    await eventually(lambda: _outbox_drained(db_url), timeout=20, what="the outbox to drain")

    keys = [outbox_key(msg) for msg in slack.messages.values() if outbox_key(msg)]
    assert len(keys) == len(set(keys)), "a DM was posted twice"
    async with engine(db_url) as eng, eng.connect() as conn:
        # No connection without its link completed, one per person who connected.
        connections = (
            await conn.execute(
                select(m.ChatUser.platform_user_id, func.count(m.ConnectLink.id))
                .join(m.CalendarConnection, m.CalendarConnection.user_id == m.ChatUser.id)
                .outerjoin(
                    m.ConnectLink,
                    (m.ConnectLink.user_id == m.ChatUser.id)
                    & m.ConnectLink.completed_at.is_not(None),
                )
                .group_by(m.ChatUser.platform_user_id)
            )
        ).all()
        assert sorted(connections) == [("U1", 1), ("U2", 1), ("U3", 1)]
        duplicate_keys = (
            await conn.execute(
                select(m.OutboxMessage.key).group_by(m.OutboxMessage.key).having(func.count() > 1)
            )
        ).all()
        assert duplicate_keys == []


async def _waiting_on(db_url: str, table: str) -> bool:
    async with engine(db_url) as eng, eng.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE :pattern"
            ),
            {"pattern": f"%FROM {table}%"},
        )
    return bool(waiting)


async def _ready(w: World, a: Calbot) -> bool:
    status, _ = await _page(w, f"{a.url}/readyz")
    return status == 200


async def _outbox_drained(db_url: str) -> bool:
    async with engine(db_url) as eng, eng.connect() as conn:
        statuses = dict(
            (
                await conn.execute(
                    select(m.OutboxMessage.status, func.count()).group_by(m.OutboxMessage.status)
                )
            ).all()
        )
    return set(statuses) == {"sent"}
