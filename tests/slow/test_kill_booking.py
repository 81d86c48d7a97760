"""SIGKILL calbot while it books an interview; after the restart it is booked once.

Three interviewers accept a slot; the last accept starts the booking, which writes one
calendar event per interviewer. The process is killed while the second event's answer
is on its way (Cronofy wrote it, calbot never heard), so one event is known, one exists
unseen and one was never written. After the restart the `expire` job finishes the
booking: the event ids are deterministic, so each interviewer ends with exactly one
calbot event. Two `expire` runs at once resume it once (the resume is claimed).

With PostgreSQL, also the crash between the last accept being recorded and the booking
being claimed: the accept is pressed again (nothing happened, so people do) and books.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from storage import models as m
from tests.slow.procs import (
    CHILD_SECRETS,
    Calbot,
    World,
    dms,
    engine,
    eventually,
    fresh_database,
    outbox_key,
    scan_logs,
    world,
)
from tests.support import PG_URL

pytestmark = pytest.mark.slow

COORDINATOR = "UCOORD"
PANEL = ["U1", "U2", "U3"]
EVENTS = r"/v1/calendars/[^/]+/events"


def email(user: str) -> str:
    return f"{user.lower()}@contoso.com"


async def _panel(w: World, a: Calbot) -> None:
    """Slack users, each interviewer's calendar connected through the real flow."""
    w.slack.add_user(COORDINATOR, name="cora", real_name="Cora Coordinator")
    for user in PANEL:
        w.slack.add_user(user, name=user.lower(), real_name=f"Person {user}", email=email(user))
    assert await asyncio.gather(*(w.command(a, u, "connect") for u in PANEL)) == [200] * 3
    await eventually(
        lambda: all(dms(w.slack, u, "connect-dm") for u in PANEL), timeout=15, what="links"
    )
    await asyncio.gather(*(w.connect(u, email(u), a, a) for u in PANEL))


async def _propose(w: World, a: Calbot, candidate: str) -> str:
    """A proposal to the whole panel; the value of its first slot's Accept button."""
    before = {u: len(dms(w.slack, u, "offer")) for u in PANEL}
    mentions = " ".join(f"<@{u}>" for u in PANEL)
    assert await w.command(a, COORDINATOR, f'propose "{candidate}" 45m with {mentions} next week')
    await eventually(
        lambda: all(len(dms(w.slack, u, "offer")) > before[u] for u in PANEL),
        timeout=15,
        what="the offers",
    )
    offer = dms(w.slack, PANEL[0], "offer")[-1]
    return next(
        str(e["value"])
        for b in offer.blocks
        if b.get("type") == "actions"
        for e in b["elements"]
        if str(e.get("action_id", "")).startswith("propose.accept")
    )


def _calbot_events(w: World) -> dict[str, int]:
    state = w.sandbox.state
    return {u: len([e for e in state.events(email(u)) if e.created_by_app]) for u in PANEL}


async def _states(db_url: str, proposal_id: int) -> tuple[Any, Any]:
    async with engine(db_url) as eng, eng.connect() as conn:
        proposal = await conn.scalar(select(m.Proposal.state).filter_by(id=proposal_id))
        booking = await conn.scalar(select(m.Booking.state).filter_by(proposal_id=proposal_id))
    return proposal, booking


async def _responses(db_url: str) -> int:
    async with engine(db_url) as eng, eng.connect() as conn:
        return int(await conn.scalar(select(func.count(m.SlotResponse.id))) or 0)


async def _has_responses(db_url: str, count: int) -> bool:
    return await _responses(db_url) == count


async def _assert_booked_once(w: World, db_url: str, proposal_id: int) -> None:
    """One booking, one event per interviewer, every card says Booked, no DM twice."""
    await eventually(
        lambda: all(dms(w.slack, u, "offer")[-1].text.startswith("✅ Booked") for u in PANEL),
        timeout=20,
        what="the offers edited to Booked",
    )
    assert await _states(db_url, proposal_id) == ("booked", "booked")
    assert _calbot_events(w) == {u: 1 for u in PANEL}
    keys = [outbox_key(msg) for msg in w.slack.messages.values() if outbox_key(msg)]
    assert len(keys) == len(set(keys)), "a DM was posted twice"


async def test_sigkill_mid_booking_is_finished_once(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as db_url, world(tmp_path, db_url) as w:
        a = await w.calbot("a").start()
        try:
            await _panel(w, a)
            slot = await _propose(w, a, "Jane Doe")
            proposal_id = int(slot.split(":")[0])
            for user in PANEL[:2]:
                assert await w.click(a, user, "propose.accept", slot) == 200
            await eventually(
                lambda: _has_responses(db_url, 2), timeout=15, what="the first two accepts"
            )

            # The third accept books; the process dies with the 2nd event's answer held.
            hold = w.gate.hold("POST", EVENTS, after=1)
            assert await w.click(a, PANEL[2], "propose.accept", slot) == 200
            await asyncio.wait_for(hold.reached.wait(), timeout=15)
            await a.kill()
            hold.released.set()
            assert _calbot_events(w) == {"U1": 1, "U2": 1, "U3": 0}
            assert await _states(db_url, proposal_id) == ("booking", "booking")

            await a.start()
            # Pressing Accept again meanwhile books nothing more.
            assert await w.click(a, PANEL[2], "propose.accept", slot) == 200
            await eventually(
                lambda: any("being booked" in r for r in w.replies(PANEL[2], "act")),
                timeout=15,
                what="the 'being booked' answer",
            )

            # Two minutes later (played forward), two expire runs at once: one resumes.
            async with engine(db_url) as eng, eng.begin() as conn:
                await conn.execute(
                    update(m.Booking).values(updated_at=datetime.now(UTC) - timedelta(minutes=5))
                )
            before = len(w.sandbox.state.requests)
            resume = w.gate.hold("POST", EVENTS)
            first = asyncio.create_task(a.job("expire"))
            await asyncio.wait_for(resume.reached.wait(), timeout=30)
            await a.job("expire")  # runs to its end while the first is mid-resume
            resume.released.set()
            await first
            await _assert_booked_once(w, db_url, proposal_id)
            writes = [
                r
                for r in w.sandbox.state.requests[before:]
                if r.method == "POST" and re.fullmatch(EVENTS, r.path)
            ]
            assert len(writes) == len(PANEL), "the resume wrote each event once"
        except BaseException:
            print(a.log_tail())
            raise
        assert scan_logs(tmp_path, CHILD_SECRETS) == []


@pytest.mark.skipif(not PG_URL, reason="holds a PostgreSQL table lock to stop at that point")
async def test_sigkill_between_last_accept_and_booking_claim(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as db_url, world(tmp_path, db_url) as w:
        a = await w.calbot("a").start()
        try:
            await _panel(w, a)
            slot = await _propose(w, a, "Sam Lee")
            proposal_id = int(slot.split(":")[0])
            for user in PANEL[:2]:
                assert await w.click(a, user, "propose.accept", slot) == 200
            await eventually(lambda: _has_responses(db_url, 2), timeout=15, what="two accepts")

            # The booking claim (an INSERT into bookings) waits on our lock; the last
            # accept is already committed. Killed right there.
            async with engine(db_url) as eng, eng.connect() as conn:
                await conn.execute(text("LOCK TABLE bookings IN EXCLUSIVE MODE"))
                assert await w.click(a, PANEL[2], "propose.accept", slot) == 200
                await eventually(
                    lambda: _waiting_on_lock(db_url), timeout=15, what="the claim to block"
                )
                await a.kill()
                await conn.rollback()
            assert await _responses(db_url) == 3
            assert await _states(db_url, proposal_id) == ("open", None)

            await a.start()
            # Nothing happened for U3, so U3 presses Accept again: now it books.
            assert await w.click(a, PANEL[2], "propose.accept", slot) == 200
            await _assert_booked_once(w, db_url, proposal_id)
        except BaseException:
            print(a.log_tail())
            raise


async def _waiting_on_lock(db_url: str) -> bool:
    async with engine(db_url) as eng, eng.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO bookings%'"
            )
        )
    return bool(waiting)
