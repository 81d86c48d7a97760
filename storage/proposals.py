"""Proposal persistence, mixed into SqlStore (same sessions, clock and helpers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.records import SEARCHABLE, ParticipantRecord, ProposalRecord, SlotRecord, UserRecord
from storage import models as m


class ProposalStoreMixin:
    # Provided by SqlStore, which this is mixed into.
    _tx: Callable[[], Any]
    _now: Callable[[], datetime]
    _workspace: Callable[[AsyncSession, str, str], Awaitable[m.Workspace]]

    async def create_proposal(
        self,
        *,
        coordinator_id: int,
        platform: str,
        workspace_id: str,
        candidate_name: str,
        candidate_email: str | None,
        title: str,
        request: dict[str, Any],
        participants: list[tuple[int, str, int]],
        state: str,
        expires_at: datetime,
    ) -> int:
        now = self._now()
        async with self._tx() as s:
            ws = await self._workspace(s, platform, workspace_id)
            proposal = m.Proposal(
                workspace_id=ws.id,
                coordinator_id=coordinator_id,
                candidate_name=candidate_name,
                candidate_email=candidate_email,
                title=title,
                request=request,
                state=state,
                version=1,
                created_at=now,
                updated_at=now,
                expires_at=expires_at,
            )
            s.add(proposal)
            await s.flush()
            for user_id, role, position in participants:
                s.add(
                    m.ProposalParticipant(
                        proposal_id=proposal.id,
                        user_id=user_id,
                        role=role,
                        position=position,
                        state="invited",
                    )
                )
            return proposal.id

    async def get_proposal(self, proposal_id: int) -> ProposalRecord | None:
        from storage.repository import _user_record

        async with self._tx() as s:
            proposal = await s.get(m.Proposal, proposal_id)
            if proposal is None:
                return None
            ws = await s.get(m.Workspace, proposal.workspace_id)
            coordinator = await s.get(m.ChatUser, proposal.coordinator_id)
            assert ws is not None and coordinator is not None
            people = (
                await s.execute(
                    select(m.ProposalParticipant, m.ChatUser)
                    .join(m.ChatUser, m.ChatUser.id == m.ProposalParticipant.user_id)
                    .where(m.ProposalParticipant.proposal_id == proposal_id)
                    .order_by(m.ProposalParticipant.role.desc(), m.ProposalParticipant.position)
                )
            ).all()
            slots = (
                await s.scalars(
                    select(m.ProposalSlot)
                    .where(m.ProposalSlot.proposal_id == proposal_id)
                    .order_by(m.ProposalSlot.start)
                )
            ).all()
            responses = (
                await s.execute(
                    select(
                        m.SlotResponse.slot_id, m.SlotResponse.participant_id, m.SlotResponse.answer
                    )
                    .join(m.ProposalSlot, m.ProposalSlot.id == m.SlotResponse.slot_id)
                    .where(m.ProposalSlot.proposal_id == proposal_id)
                )
            ).all()
            booking = await s.scalar(select(m.Booking).filter_by(proposal_id=proposal_id))
            return ProposalRecord(
                id=proposal.id,
                platform=ws.platform,
                workspace_id=ws.external_id,
                coordinator=_user_record(coordinator),
                candidate_name=proposal.candidate_name,
                candidate_email=proposal.candidate_email,
                title=proposal.title,
                request=dict(proposal.request),
                state=proposal.state,
                version=proposal.version,
                created_at=proposal.created_at,
                expires_at=proposal.expires_at,
                participants=tuple(
                    ParticipantRecord(p.id, _user_record(u), p.role, p.position, p.state)
                    for p, u in people
                ),
                slots=tuple(SlotRecord(x.id, x.start, x.end, x.state) for x in slots),
                responses={(r.slot_id, r.participant_id): r.answer for r in responses},
                booked_slot_id=booking.slot_id if booking else None,
                booking_state=booking.state if booking else None,
            )

    async def replace_slots(
        self,
        proposal_id: int,
        slots: list[tuple[datetime, datetime]],
        *,
        state: str = "open",
        expires_at: datetime | None = None,
    ) -> bool:
        """New search results: the old open slots are withdrawn, the new ones offered.

        Only while the proposal is still searching or open: False (nothing changed) once
        it is being booked, booked, cancelled or expired — a stale "Search again" button
        must not reopen it."""
        values: dict[str, Any] = {
            "state": state,
            "updated_at": self._now(),
            "version": m.Proposal.version + 1,
        }
        if expires_at is not None:
            values["expires_at"] = expires_at
        async with self._tx() as s:
            claimed = await s.execute(
                update(m.Proposal)
                .where(m.Proposal.id == proposal_id, m.Proposal.state.in_(SEARCHABLE))
                .values(**values)
            )
            if not getattr(claimed, "rowcount", 0):
                return False
            await s.execute(
                update(m.ProposalSlot)
                .where(m.ProposalSlot.proposal_id == proposal_id, m.ProposalSlot.state == "open")
                .values(state="withdrawn")
            )
            for start, end in slots:
                s.add(m.ProposalSlot(proposal_id=proposal_id, start=start, end=end, state="open"))
        return True

    async def set_proposal_state(
        self, proposal_id: int, state: str, *, expect: tuple[str, ...] = ()
    ) -> bool:
        async with self._tx() as s:
            query = update(m.Proposal).where(m.Proposal.id == proposal_id)
            if expect:
                query = query.where(m.Proposal.state.in_(expect))
            result = await s.execute(
                query.values(state=state, updated_at=self._now(), version=m.Proposal.version + 1)
            )
            return bool(getattr(result, "rowcount", 0))

    async def record_response(self, slot_id: int, participant_id: int, answer: str) -> bool:
        """Returns False when the same answer was already recorded (a replayed click)."""
        for attempt in range(2):
            try:
                return await self._record_response(slot_id, participant_id, answer)
            except IntegrityError:
                # The same click arrived twice at once (a double-click whose halves landed
                # on two instances): the other insert won, and the second look finds it.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _record_response(self, slot_id: int, participant_id: int, answer: str) -> bool:
        async with self._tx() as s:
            row = await s.scalar(
                select(m.SlotResponse).filter_by(slot_id=slot_id, participant_id=participant_id)
            )
            if row is not None and row.answer == answer:
                return False
            if row is None:
                s.add(
                    m.SlotResponse(
                        slot_id=slot_id,
                        participant_id=participant_id,
                        answer=answer,
                        answered_at=self._now(),
                    )
                )
            else:
                row.answer = answer
                row.answered_at = self._now()
            return True

    async def set_participant_state(self, participant_id: int, state: str) -> bool:
        async with self._tx() as s:
            result = await s.execute(
                update(m.ProposalParticipant)
                .where(
                    m.ProposalParticipant.id == participant_id, m.ProposalParticipant.state != state
                )
                .values(state=state)
            )
            return bool(getattr(result, "rowcount", 0))

    async def add_participant(
        self, proposal_id: int, user_id: int, role: str, position: int
    ) -> None:
        async with self._tx() as s:
            existing = await s.scalar(
                select(m.ProposalParticipant).filter_by(proposal_id=proposal_id, user_id=user_id)
            )
            if existing is None:
                s.add(
                    m.ProposalParticipant(
                        proposal_id=proposal_id,
                        user_id=user_id,
                        role=role,
                        position=position,
                        state="invited",
                    )
                )
            else:
                existing.state = "invited"

    async def start_booking(self, proposal_id: int, slot_id: int) -> bool:
        """Claim the right to book an open proposal. The unique proposal_id makes a
        second claim fail; a proposal cancelled or expired meanwhile is not claimed."""
        now = self._now()
        try:
            async with self._tx() as s:
                claimed = await s.execute(
                    update(m.Proposal)
                    .where(m.Proposal.id == proposal_id, m.Proposal.state == "open")
                    .values(state="booking", updated_at=now, version=m.Proposal.version + 1)
                )
                if not getattr(claimed, "rowcount", 0):
                    return False
                s.add(
                    m.Booking(
                        proposal_id=proposal_id,
                        slot_id=slot_id,
                        state="booking",
                        created_at=now,
                        updated_at=now,
                    )
                )
            return True
        except IntegrityError:
            return False

    async def abandon_booking(self, proposal_id: int, slot_id: int) -> None:
        """The slot was taken meanwhile: free the claim, drop the slot, reopen the rest."""
        async with self._tx() as s:
            await s.execute(delete(m.Booking).filter_by(proposal_id=proposal_id, slot_id=slot_id))
            await s.execute(
                update(m.ProposalSlot).where(m.ProposalSlot.id == slot_id).values(state="conflict")
            )
            await s.execute(
                update(m.Proposal)
                .where(m.Proposal.id == proposal_id)
                .values(state="open", updated_at=self._now(), version=m.Proposal.version + 1)
            )

    async def finish_booking(self, proposal_id: int, slot_id: int) -> None:
        async with self._tx() as s:
            await s.execute(
                update(m.Booking)
                .where(m.Booking.proposal_id == proposal_id)
                .values(state="booked", updated_at=self._now())
            )
            await s.execute(
                update(m.ProposalSlot)
                .where(m.ProposalSlot.proposal_id == proposal_id)
                .values(state="withdrawn")
                .where(m.ProposalSlot.id != slot_id, m.ProposalSlot.state == "open")
            )
            await s.execute(
                update(m.ProposalSlot).where(m.ProposalSlot.id == slot_id).values(state="booked")
            )
            await s.execute(
                update(m.Proposal)
                .where(m.Proposal.id == proposal_id)
                .values(state="booked", updated_at=self._now(), version=m.Proposal.version + 1)
            )

    async def cancel_booking(self, proposal_id: int) -> None:
        async with self._tx() as s:
            await s.execute(
                update(m.Booking)
                .where(m.Booking.proposal_id == proposal_id)
                .values(state="cancelled", updated_at=self._now())
            )

    async def expire_proposals(self, now: datetime) -> list[int]:
        """Open proposals past their time, each claimed once."""
        expired: list[int] = []
        async with self._tx() as s:
            ids = (
                await s.scalars(
                    select(m.Proposal.id).where(
                        m.Proposal.state.in_(SEARCHABLE), m.Proposal.expires_at <= now
                    )
                )
            ).all()
            for proposal_id in ids:
                result = await s.execute(
                    update(m.Proposal)
                    .where(m.Proposal.id == proposal_id, m.Proposal.state.in_(SEARCHABLE))
                    .values(state="expired", updated_at=now, version=m.Proposal.version + 1)
                )
                if getattr(result, "rowcount", 0):
                    expired.append(proposal_id)
        return expired

    async def unfinished_bookings(self, older_than: datetime) -> list[int]:
        """Bookings a crashed process left half-written (resumed by the expire job).

        Each one is claimed: its `updated_at` moves to now, so an instance running the
        same job at the same moment skips it, and another resumes it only if this resume
        dies too (after the same grace period).
        """
        now = self._now()
        claimed: list[int] = []
        async with self._tx() as s:
            rows = await s.scalars(
                select(m.Booking.proposal_id).where(
                    m.Booking.state == "booking", m.Booking.updated_at < older_than
                )
            )
            for proposal_id in rows.all():
                result = await s.execute(
                    update(m.Booking)
                    .where(
                        m.Booking.proposal_id == proposal_id,
                        m.Booking.state == "booking",
                        m.Booking.updated_at < older_than,
                    )
                    .values(updated_at=now)
                )
                if getattr(result, "rowcount", 0):
                    claimed.append(proposal_id)
        return claimed

    async def user_records(self, user_ids: list[int]) -> list[UserRecord]:
        from storage.repository import _user_record

        async with self._tx() as s:
            rows = await s.scalars(select(m.ChatUser).where(m.ChatUser.id.in_(user_ids)))
            by_id = {row.id: _user_record(row) for row in rows.all()}
            return [by_id[i] for i in user_ids if i in by_id]


__all__ = ["ProposalStoreMixin"]
