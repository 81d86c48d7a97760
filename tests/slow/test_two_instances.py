"""Two `serve` processes on one PostgreSQL do each piece of work once, like one would.

The same scenario runs twice, against fresh Slack, Cronofy and database each time: on
one instance, then on two instances behind "the same routes" (requests alternate
between them, an OAuth flow starts on one and comes back to the other, both run the
outbox and the scheduled jobs at the same time). Each run checks its own "exactly once"
facts; then the two runs' outcomes, as people and calendars see them, must be equal.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from storage import models as m
from tests.fakes.mock_slack import MockSlack
from tests.slow.procs import (
    CHILD_SECRETS,
    Calbot,
    World,
    connect_link,
    dms,
    engine,
    eventually,
    fresh_database,
    jobs_in_step,
    outbox_key,
    scan_logs,
    updates_of,
    versions,
    world,
)
from tests.support import PG_URL

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not PG_URL,
        reason="several instances share PostgreSQL (row claims need SKIP LOCKED): "
        "set TEST_DATABASE_URL=postgresql+asyncpg://… to run",
    ),
]

ADMIN = "UADMIN"
PEOPLE = [f"U{n:02d}" for n in range(1, 11)]
CONNECTS = PEOPLE[:6]  # finish the OAuth flow
STALLS = PEOPLE[6:8]  # open their link and never come back
REVOKED = "U06"  # connected, then its grant dies: the health job notices
PANEL = ["U01", "U02"]  # interviewers of the proposal
CHANNEL = "C1"
SETTLE = 1.0  # seconds without a new Slack call before a run counts as finished


def email(user: str) -> str:
    return f"{user.lower()}@contoso.com"


def seed(slack: MockSlack) -> None:
    slack.add_user(ADMIN, name="ada", real_name="Ada Admin", email="ada@contoso.com", is_admin=True)
    for user in PEOPLE:
        slack.add_user(user, name=user.lower(), real_name=f"Person {user}", email=email(user))
    slack.add_channel(CHANNEL, PEOPLE, name="interviewers")


async def run_scenario(w: World, calbots: list[Calbot]) -> dict[str, Any]:
    """Drive the whole story through `calbots` (round robin); return what came of it."""
    slack, sandbox = w.slack, w.sandbox.state

    def on(i: int) -> Calbot:
        return calbots[i % len(calbots)]

    # 1. Everyone asks for a link at once, spread over the instances.
    statuses = await asyncio.gather(
        *(w.command(on(i), user, "connect") for i, user in enumerate(PEOPLE))
    )
    assert statuses == [200] * len(PEOPLE)
    await eventually(
        lambda: all(dms(slack, u, "connect-dm") and w.replies(u) for u in PEOPLE),
        timeout=20,
        what="a connect DM and an answer for everyone",
    )

    # 2. Six sign in (clicked on one instance, back on the other); two only click.
    await asyncio.gather(
        *(w.connect(u, email(u), on(i), on(i + 1)) for i, u in enumerate(CONNECTS)),
        *(w.open_link(on(i), connect_link(slack, u)) for i, u in enumerate(STALLS)),
    )
    await eventually(
        lambda: all(dms(slack, u, "connect-dm")[0].text.startswith("Connected") for u in CONNECTS),
        timeout=20,
        what="the connect DMs edited to Connected",
    )

    # 3. The scheduled jobs, on every instance at once. Time is played forward for the
    # two who stalled; one grant dies at Cronofy for the health check to find.
    async with engine(w.db_url) as eng, eng.begin() as conn:
        await conn.execute(
            update(m.ConnectLink)
            .where(m.ConnectLink.clicked_at.is_not(None), m.ConnectLink.completed_at.is_(None))
            .values(clicked_at=datetime.now(UTC) - timedelta(hours=1))
        )
    sandbox.expire_access_tokens(email(REVOKED))
    sandbox.fail_refresh(email(REVOKED), "invalid_grant")
    userinfo_before = sandbox.request_count("/v1/userinfo")
    outputs = await jobs_in_step(calbots, "stalled", "health")
    # Between them the instances followed up each stalled link and checked each
    # connection once (each job prints how many it did).
    done: Counter[str] = Counter()
    for output in outputs:
        for job, count in re.findall(r"^(stalled|health): (\d+)$", output, re.M):
            done[job] += int(count)
    assert done == {"stalled": len(STALLS), "health": len(CONNECTS)}, outputs
    checks = sandbox.request_count("/v1/userinfo") - userinfo_before
    assert checks == len(CONNECTS), "each connection is checked once per round"
    await eventually(
        lambda: (
            all(len(versions(dms(slack, u, "connect-dm")[0])) == 2 for u in STALLS)
            and len(dms(slack, REVOKED, "health")) == 1
        ),
        timeout=20,
        what="the stalled follow-ups and the revoked-connection DM",
    )

    # 4. An admin nudges the channel: everyone not connected, once.
    assert await w.click(on(1), ADMIN, "status.nudge_all", f"channel:{CHANNEL}") == 200
    not_connected = [u for u in PEOPLE if u not in CONNECTS or u == REVOKED]
    await eventually(
        lambda: (
            all(dms(slack, u, "nudge") for u in not_connected)
            and any(
                d.text == f"Nudged {len(not_connected)} of {len(not_connected)}"
                for d in dms(slack, ADMIN, "progress")
            )
        ),
        timeout=20,
        what="the nudges and their finished progress DM",
    )

    # 5. A proposal; both interviewers accept the same slot at the same moment on the two
    # instances, and one of them double-clicks (the second click lands on the other).
    propose = f'propose "Jane Doe" 45m with <@{PANEL[0]}> <@{PANEL[1]}> next week'
    assert await w.command(on(0), ADMIN, propose) == 200
    await eventually(
        lambda: all(dms(slack, u, "offer") for u in PANEL) and bool(dms(slack, ADMIN, "track")),
        timeout=20,
        what="the offers and the tracking card",
    )
    [offer] = dms(slack, PANEL[0], "offer")
    first_slot = _accept_values(offer.blocks)[0]
    async with engine(w.db_url) as eng, eng.connect() as door:
        # The answers are held at the door (their INSERTs wait on this lock) until all
        # three are in, so they really collide whatever the machine's speed.
        await door.execute(text("LOCK TABLE slot_responses IN EXCLUSIVE MODE"))
        clicks = await asyncio.gather(
            w.click(on(0), PANEL[0], "propose.accept", first_slot),
            w.click(on(1), PANEL[1], "propose.accept", first_slot),
            w.click(on(1), PANEL[0], "propose.accept", first_slot),
        )
        assert clicks == [200, 200, 200]
        await eventually(
            lambda: _inserts_waiting(w.db_url, "slot_responses", 3),
            timeout=15,
            what="the three answers at the door",
        )
        await door.rollback()

    async def booked() -> bool:
        async with engine(w.db_url) as eng, eng.connect() as conn:
            states = (await conn.execute(select(m.Booking.state))).scalars().all()
        return list(states) == ["booked"]

    await eventually(booked, timeout=20, what="the booking")
    await eventually(
        lambda: all("Booked" in dms(slack, u, "offer")[0].text for u in PANEL),
        timeout=20,
        what="the offers edited to Booked",
    )
    await _settle(w)
    return await _outcome(w)


async def _inserts_waiting(db_url: str, table: str, count: int) -> bool:
    async with engine(db_url) as eng, eng.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE :insert"
            ),
            {"insert": f"INSERT INTO {table}%"},
        )
    return waiting == count


def _accept_values(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        str(e["value"])
        for b in blocks
        if b.get("type") == "actions"
        for e in b["elements"]
        if str(e.get("action_id", "")).startswith("propose.accept")
    ]


async def _settle(w: World) -> None:
    """Until nothing is pending in the outbox and Slack has heard nothing new for a while."""
    async with engine(w.db_url) as eng:

        async def quiet() -> bool:
            before = len(w.slack.calls)
            await asyncio.sleep(SETTLE)
            async with eng.connect() as conn:
                pending = await conn.scalar(
                    select(func.count()).where(m.OutboxMessage.status == "pending")
                )
            return not pending and len(w.slack.calls) == before

        await eventually(quiet, timeout=30, what="the outbox to drain", poll=0)


def _shape(text: str) -> str:
    """A text with its numbers and times blanked: two runs seconds apart may differ there."""
    return re.sub(r"\d+", "#", text)


async def _outcome(w: World) -> dict[str, Any]:
    """Everything a person, a calendar or the database shows, plus the exactly-once facts."""
    slack, sandbox = w.slack, w.sandbox.state
    landed = [outbox_key(msg) for msg in slack.messages.values()]
    twice = {k: n for k, n in Counter(k for k in landed if k).items() if n > 1}
    assert twice == {}, f"posted more than once: {twice}"

    people: dict[str, Any] = {}
    for user in [ADMIN, *PEOPLE]:
        inbox: list[tuple[str, Any]] = []
        for message in dms(slack, user):
            kind = outbox_key(message).split(":")[0]
            if kind == "connect-dm":
                # Edited once per thing that happened to the link, never repeated.
                assert updates_of(slack, message) == len(versions(message)) - 1, user
                inbox.append((kind, [_shape(v) for v in versions(message)]))
            else:  # cards edited as answers come in: how often depends on timing
                inbox.append((kind, _shape(message.text)))
        answers = w.replies(user) + w.replies(user, "act")
        assert not [a for a in answers if "went wrong" in a], f"{user} was told: {answers}"
        if user in PANEL:
            # The double-click's answer depends on how far the booking got meanwhile
            # ("being booked right now", "already booked", or nothing): not compared.
            answers = w.replies(user)
        people[user] = {
            "dms": inbox,
            "answers": sorted(_shape(t) for t in answers),
            "events": len([e for e in sandbox.events(email(user)) if e.created_by_app])
            if sandbox.user(email(user))
            else 0,
        }
    async with engine(w.db_url) as eng, eng.connect() as conn:
        connections = dict(
            (
                await conn.execute(
                    select(m.ChatUser.platform_user_id, m.CalendarConnection.state).join(
                        m.CalendarConnection
                    )
                )
            ).all()
        )
        bookings = (await conn.execute(select(m.Booking.state))).scalars().all()
        proposals = (await conn.execute(select(m.Proposal.state))).scalars().all()
        statuses = Counter(
            (key.split(":")[0], kind, status)
            for key, kind, status in (
                await conn.execute(
                    select(m.OutboxMessage.key, m.OutboxMessage.kind, m.OutboxMessage.status)
                )
            ).all()
            # How many card edits a run makes depends on how answers interleave.
            if kind == "send"
        )
        dead = await conn.scalar(select(func.count()).where(m.OutboxMessage.status == "dead"))
    assert dead == 0
    assert list(bookings) == ["booked"] and list(proposals) == ["booked"]
    for user in PANEL:
        assert people[user]["events"] == 1, f"{user} has {people[user]['events']} events"
    return {
        "people": people,
        "connections": connections,
        "bookings": list(bookings),
        "outbox": dict(statuses),
    }


async def test_two_instances_do_each_piece_of_work_once(tmp_path: Path) -> None:
    outcomes = []
    for instances in (1, 2):
        run_dir = tmp_path / f"{instances}-instances"
        run_dir.mkdir()
        async with fresh_database(run_dir) as db_url, world(run_dir, db_url) as w:
            seed(w.slack)
            # One shared public address, as behind a load balancer: links and the OAuth
            # callback name it; the test sends each request to the instance it chooses.
            public = w.calbot("a")
            calbots = [public] + [
                w.calbot(name, public_url=public.url) for name in "bc"[: instances - 1]
            ]
            await asyncio.gather(*(c.start() for c in calbots))
            try:
                outcomes.append(await run_scenario(w, calbots))
            except BaseException:
                for c in calbots:
                    print(f"--- {c.name} ---\n{c.log_tail()}")
                raise
            assert scan_logs(run_dir, CHILD_SECRETS) == []
    single, double = outcomes
    assert _differences(single, double) == []


def _differences(one: Any, two: Any, path: str = "") -> list[str]:
    """Where two outcomes differ, readably (a bare == on nested dicts says nothing)."""
    if isinstance(one, dict) and isinstance(two, dict):
        return [
            d
            for key in sorted(set(one) | set(two), key=str)
            for d in _differences(one.get(key), two.get(key), f"{path}/{key}")
        ]
    return [] if one == two else [f"{path}: one instance {one!r}, two instances {two!r}"]
