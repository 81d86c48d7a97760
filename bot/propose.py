"""Interview slot proposals: search Cronofy once, offer slots in chat, book exactly once.

Booking is claimed with a unique row per proposal (two accepts on two instances book
once), re-checked against Cronofy, then written with a deterministic event id per person
(a retry updates, never duplicates). A crash mid-booking leaves the claim in "booking",
which the expire job resumes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import propose_cards
from bot.connect import Actor
from bot.delivery import send_or_edit
from bot.errors import CalendarError, CalendarNotConnected, CalendarUnavailable, ChatError
from bot.forms import Form, FormErrors, FormField, FormValues
from bot.identity import UserRef
from bot.messages import Message, Section, simple
from bot.ports import CalendarPort, ChatPort, Clock, Store, TokenSet
from bot.propose_form import (
    PROPOSE_FORM_ID,
    ProposalDraft,
    draft_from_form,
    parse_propose_text,
    propose_form,
)
from bot.records import (
    SEARCHABLE,
    ParticipantRecord,
    ProposalRecord,
    SlotRecord,
    UserRecord,
    row_id,
)
from bot.slots import (
    Interval,
    Interviewer,
    SlotRequest,
    SlotRequestError,
    build_availability_request,
    parse_availability_response,
    select_slots,
)
from bot.slots.hours import holiday_country_for_zone

log = logging.getLogger(__name__)

REFRESH_AHEAD = timedelta(minutes=5)
REPLACE_FORM_PREFIX = "replace:"


class ProposeService:
    def __init__(
        self,
        *,
        store: Store,
        chats: Mapping[str, ChatPort],
        calendar: CalendarPort,
        clock: Clock,
        ttl: timedelta = timedelta(hours=48),
        invite_candidate: bool = False,
        wake_outbox: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._chats = chats
        self._calendar = calendar
        self._clock = clock
        self._ttl = ttl
        self._invite_candidate = invite_candidate
        self._wake = wake_outbox or (lambda: None)
        # Set by the composition root: ConnectFlow.send_link, for the coordinator's nudges.
        self.send_link: Callable[..., Awaitable[object]] | None = None

    # --- creating ------------------------------------------------------------------------

    async def start(self, actor: Actor, text: str) -> Message | Form:
        """`/calendar propose` opens the form; with text, it is the one-line form."""
        tz = (actor.profile.tz if actor.profile else None) or "UTC"
        today = self._clock.now().astimezone(ZoneInfo(tz)).date()
        if not text.strip():
            return propose_form(tz, today)
        draft, errors = parse_propose_text(text, tz=tz, today=today)
        if errors:
            lines = "\n".join(f"• {message}" for message in errors.values())
            return simple(
                f"I couldn't read that proposal:\n{lines}\n"
                'Example: `/calendar propose "Jane Doe" 45m with @alice @bob [any 1 of @carol '
                "@dan] next week`, or just `/calendar propose` for the form."
            )
        return await self.create(actor, draft)

    async def submit(self, actor: Actor, values: FormValues) -> FormErrors | Message:
        tz = (actor.profile.tz if actor.profile else None) or "UTC"
        today = self._clock.now().astimezone(ZoneInfo(tz)).date()
        draft, errors = draft_from_form(values, today)
        if errors:
            return errors
        unknown = await self._unknown_people(actor, draft)
        if unknown:
            return unknown
        return await self.create(actor, draft)

    async def _unknown_people(self, actor: Actor, draft: ProposalDraft) -> FormErrors:
        chat = self._chats[actor.user.platform]
        errors: FormErrors = {}
        for field, ids in (("required", draft.required), ("pool", draft.pool)):
            for uid in ids:
                try:
                    profile = await chat.profile(
                        UserRef(actor.user.platform, actor.user.workspace_id, uid)
                    )
                except ChatError:
                    errors[field] = f"I can't find {uid} in this workspace."
                    break
                if profile.is_bot or profile.deleted:
                    errors[field] = f"{profile.display_name or uid} can't attend interviews."
                    break
        return errors

    async def create(self, actor: Actor, draft: ProposalDraft) -> Message:
        unknown = await self._unknown_people(actor, draft)
        if unknown:
            return simple(" ".join(unknown.values()))
        coordinator = await self._store.upsert_user(actor.user, actor.profile, actor.address)
        chat = self._chats[actor.user.platform]
        ids = [*draft.required, *draft.pool]
        members = []
        for uid in ids:
            ref = UserRef(actor.user.platform, actor.user.workspace_id, uid)
            members.append((uid, await chat.profile(ref), None))
        users = await self._store.upsert_members(
            actor.user.platform, actor.user.workspace_id, members
        )
        participants = [(users[uid].id, "required", i) for i, uid in enumerate(draft.required)]
        participants += [(users[uid].id, "pool", i) for i, uid in enumerate(draft.pool)]
        proposal_id = await self._store.create_proposal(
            coordinator_id=coordinator.id,
            platform=actor.user.platform,
            workspace_id=actor.user.workspace_id,
            candidate_name=draft.candidate_name,
            candidate_email=draft.candidate_email,
            title=draft.title or "Interview",
            request=draft.to_request(),
            participants=participants,
            state="waiting",
            expires_at=self._clock.now() + self._ttl,
        )
        return await self.search(proposal_id)

    # --- searching -----------------------------------------------------------------------

    async def search(self, proposal_id: int, *, shift_days: int = 0) -> Message:
        proposal = await self._store.get_proposal(proposal_id)
        if proposal is None:
            return simple("I can't find that proposal any more.")
        missing = await self._not_connected(proposal)
        required_missing = [
            (p.user.ref.user_id, p.user.display_name or p.user.ref.user_id)
            for p in proposal.active
            if p.role == "required" and p.user.id in missing
        ]
        if required_missing:
            return propose_cards.not_connected_card(proposal.id, required_missing)
        people = [p for p in proposal.active if p.user.id not in missing]
        try:
            request, interviewers, subs = await self._slot_request(proposal, people, shift_days)
            now = self._clock.now()
            body = build_availability_request(request, interviewers, subs, now)
        except SlotRequestError as exc:
            return simple(f"I can't search those times: {exc}")
        try:
            raw = await self._calendar.availability(body)
        except CalendarUnavailable:
            return simple(
                "Cronofy isn't answering right now, so I couldn't look up free times. "
                "Nothing was sent to the panel; press “Search again” in a few minutes.",
            )
        except CalendarError as exc:
            log.warning("availability refused: %s", exc)
            return simple("Cronofy refused the availability search. Please check the proposal.")
        found = parse_availability_response(raw, subs)
        slots = select_slots(request, list(found.slots), interviewers, now)
        if not slots:
            return simple(
                "No time in that window works for everyone required. Try a wider window, "
                "fewer required interviewers, or less notice."
            )
        offered = await self._store.replace_slots(
            proposal.id, [(s.start, s.end) for s in slots], expires_at=now + self._ttl
        )
        if not offered:  # booked, cancelled or expired while Cronofy was answering
            current = await self._store.get_proposal(proposal.id)
            return simple(_closed_words(current.state if current else ""))
        await self.refresh_cards(proposal.id)
        note = ""
        skipped = [p for p in proposal.active if p.user.id in missing]
        if skipped:
            note = (
                " (left out of the pool, not connected: "
                + ", ".join(p.user.display_name or p.user.ref.user_id for p in skipped)
                + ")"
            )
        return simple(
            f"I've offered {len(slots)} times to the panel{note}. "
            "Answers will show up in your tracking card."
        )

    async def _not_connected(self, proposal: ProposalRecord) -> set[int]:
        return {p.user.id for p in proposal.active if not await self._has_calendar(p.user.id)}

    async def _has_calendar(self, user_id: int) -> bool:
        connection = await self._store.get_connection(user_id)
        return connection is not None and connection.is_healthy

    async def _slot_request(
        self, proposal: ProposalRecord, people: list[ParticipantRecord], shift_days: int
    ) -> tuple[SlotRequest, list[Interviewer], dict[str, str]]:
        r = proposal.request
        tz = str(r.get("tz") or "UTC")
        zone = ZoneInfo(tz)
        start_day = date.fromisoformat(str(r["window_start"])) + timedelta(days=shift_days)
        end_day = date.fromisoformat(str(r["window_end"])) + timedelta(days=shift_days)
        window = Interval(
            datetime(start_day.year, start_day.month, start_day.day, tzinfo=zone),
            datetime(end_day.year, end_day.month, end_day.day, tzinfo=zone) + timedelta(days=1),
        )
        required = [p for p in people if p.role == "required"]
        pool = [p for p in people if p.role == "pool"]
        request = SlotRequest(
            duration=timedelta(minutes=int(r.get("duration", 45))),
            required=tuple(str(p.user.id) for p in required),
            pool=tuple(str(p.user.id) for p in pool),
            pool_required=min(int(r.get("pool_required", 0)), len(pool)),
            window=window,
            min_notice=timedelta(hours=int(r.get("min_notice_hours", 24))),
            buffer_before=timedelta(minutes=int(r.get("buffer_before", 0))),
            buffer_after=timedelta(minutes=int(r.get("buffer_after", 10))),
            count=int(r.get("count", 5)),
            coordinator_tz=tz,
        )
        # Public holidays follow each person's own time zone's country (no holiday
        # interviews in London on 28 Dec, none in New York on Thanksgiving).
        interviewers = [
            Interviewer(
                key=str(p.user.id),
                tz=p.user.tz or tz,
                country=holiday_country_for_zone(p.user.tz or tz),
            )
            for p in people
        ]
        subs: dict[str, str] = {}
        for p in people:
            connection = await self._store.get_connection(p.user.id)
            if connection is not None:
                subs[str(p.user.id)] = connection.cronofy_sub
        return request, interviewers, subs

    # --- answering -----------------------------------------------------------------------

    async def answer(self, actor: Actor, value: str, answer: str) -> Message | None:
        proposal_id, _, slot_text = value.partition(":")
        proposal, me = await self._mine(actor, proposal_id)
        if isinstance(proposal, Message):
            return proposal
        assert me is not None
        slot_id = row_id(slot_text)
        slot = proposal.slot(slot_id) if slot_id is not None else None
        if slot is None or slot.state != "open":
            return simple("That time is no longer on offer.")
        if answer == "accept" and not await self._has_calendar(me.user.id):
            # The booking writes the event into each accepting interviewer's calendar.
            return propose_cards.connect_to_accept()
        recorded = await self._store.record_response(slot.id, me.id, answer)
        if not recorded and answer != "accept":
            return None  # the same click again: nothing changes
        latest = await self._store.get_proposal(proposal.id)
        assert latest is not None
        if answer == "accept" and _agreed(latest, slot):
            # A repeated accept too: a process that died between recording the last
            # accept and claiming the booking left everyone agreed and nothing booked
            # (the proposal is still open), and pressing again is what people then do.
            # The booking claim makes a repeat harmless.
            await self.book(latest.id, slot.id)
        elif not recorded:
            return None  # the same click again: nothing changes
        await self.refresh_cards(latest.id)
        return None

    async def none_work(self, actor: Actor, value: str) -> Message | None:
        proposal, me = await self._mine(actor, value)
        if isinstance(proposal, Message):
            return proposal
        assert me is not None
        await self._store.set_participant_state(me.id, "none_work")
        await self.refresh_cards(proposal.id)
        return simple("Thanks, I've told the coordinator that none of these times work for you.")

    async def next_window(self, actor: Actor, value: str) -> Message:
        proposal = await self._searching(actor, value)
        if isinstance(proposal, Message):
            return proposal
        r = proposal.request
        span = (
            date.fromisoformat(str(r["window_end"])) - date.fromisoformat(str(r["window_start"]))
        ).days + 1
        for participant in proposal.participants:
            if participant.state == "none_work":
                await self._store.set_participant_state(participant.id, "invited")
        return await self.search(proposal.id, shift_days=span)

    async def nudge(self, actor: Actor, value: str) -> Message:
        """The coordinator asks an interviewer on their own panel to connect."""
        proposal_id, _, uid = value.partition(":")
        proposal = await self._coordinated(actor, proposal_id)
        if isinstance(proposal, Message):
            return proposal
        person = next((p for p in proposal.active if p.user.ref.user_id == uid), None)
        if person is None:
            return simple("That person isn't on this panel.")
        if self.send_link is None:
            return simple("Nudging isn't available here.")
        name = proposal.coordinator.display_name or proposal.coordinator.ref.user_id
        day = self._clock.now().date().isoformat()
        try:
            await self.send_link(
                person.user,
                asked_by=name,
                key=f"nudge:{person.user.id}:{day}",
                guard=f"unless_connected:{person.user.id}",
            )
        except Exception:  # the same person was already nudged today
            return simple(f"{person.user.display_name or uid} was already nudged today.")
        return simple(f"I've sent {person.user.display_name or uid} a link to connect.")

    async def replace_form(self, actor: Actor, value: str) -> Message:
        """ "Replace <name>": a one-field form; its id carries which proposal and person."""
        found = await self._leaving(actor, value)
        if isinstance(found, Message):
            return found
        proposal, leaving = found
        name = leaving.user.display_name or leaving.user.ref.user_id
        form = Form(
            id=f"{REPLACE_FORM_PREFIX}{proposal.id}:{leaving.id}",
            title="Replace an interviewer",
            submit_label="Replace",
            fields=(
                FormField(id="person", label=f"Who replaces {name}?", kind="users", required=True),
            ),
        )
        return Message(
            text=f"Who replaces {name}?",
            blocks=(Section(text=f"Who replaces {name}? Pick one person."),),
            form=form,
        )

    async def replace(self, actor: Actor, form_id: str, values: FormValues) -> FormErrors | Message:
        """Swap the interviewer for the person picked, then search and offer again."""
        found = await self._leaving(actor, form_id[len(REPLACE_FORM_PREFIX) :])
        if isinstance(found, Message):
            return found
        proposal, leaving = found
        picked = values.get("person") or []
        people = [picked] if isinstance(picked, str) else list(picked)
        if len(people) != 1:
            return {"person": "Pick exactly one person."}
        ref = UserRef(actor.user.platform, actor.user.workspace_id, people[0])
        try:
            profile = await self._chats[ref.platform].profile(ref)
        except ChatError:
            return {"person": "I can't find that person in this workspace."}
        if profile.is_bot or profile.deleted:
            return {"person": f"{profile.display_name or ref.user_id} can't attend interviews."}
        if any(p.user.ref.user_id == ref.user_id for p in proposal.active):
            return {"person": "That person is already on the panel."}
        users = await self._store.upsert_members(
            ref.platform, ref.workspace_id, [(ref.user_id, profile, None)]
        )
        await self._store.set_participant_state(leaving.id, "replaced")
        await self._store.add_participant(
            proposal.id, users[ref.user_id].id, leaving.role, leaving.position
        )
        for participant in proposal.active:
            if participant.state == "none_work" and participant.id != leaving.id:
                await self._store.set_participant_state(participant.id, "invited")
        return await self.search(proposal.id)

    async def retry(self, actor: Actor, value: str) -> Message:
        proposal = await self._searching(actor, value)
        if isinstance(proposal, Message):
            return proposal
        return await self.search(proposal.id)

    async def cancel(self, actor: Actor, value: str) -> Message:
        proposal = await self._coordinated(actor, value)
        if isinstance(proposal, Message):
            return proposal
        if proposal.state in {"cancelled", "expired"}:
            return simple("That proposal is already closed.")
        if proposal.booked_slot_id is not None:
            try:
                await self._delete_events(proposal)
            except CalendarError:
                return simple(
                    "Cronofy isn't answering, so I couldn't remove the events yet. "
                    "Nothing was changed: please try again in a few minutes."
                )
            await self._store.cancel_booking(proposal.id)
        await self._store.set_proposal_state(proposal.id, "cancelled")
        await self.refresh_cards(proposal.id)
        return simple(
            "Cancelled. Everyone's card says so"
            + (
                ", and the events were removed from their calendars."
                if proposal.booked_slot_id
                else "."
            )
        )

    # --- booking -------------------------------------------------------------------------

    async def book(self, proposal_id: int, slot_id: int) -> None:
        if not await self._store.start_booking(proposal_id, slot_id):
            return  # someone else's accept is booking (or booked) this proposal
        await self._write_booking(proposal_id, slot_id, recheck=True)

    async def _write_booking(self, proposal_id: int, slot_id: int, *, recheck: bool) -> None:
        proposal = await self._store.get_proposal(proposal_id)
        assert proposal is not None
        slot = proposal.slot(slot_id)
        assert slot is not None
        attendees = [p for p in proposal.active if _accepted(proposal, slot, p)]
        if recheck and not await self._still_free(proposal, slot, attendees):
            await self._store.abandon_booking(proposal_id, slot_id)
            await self.refresh_cards(proposal_id)
            return
        try:
            for participant in attendees:
                try:
                    await self._write_event(proposal, slot, participant, attendees)
                except CalendarNotConnected:
                    # Disconnected since accepting: the others' events invite them by
                    # e-mail; holding the booking for them would hold it forever.
                    log.warning(
                        "booking %s: attendee %s has no calendar", proposal_id, participant.id
                    )
        except CalendarError as exc:
            # Left in "booking": the expire job resumes it; the event ids make it safe.
            log.warning("booking %s paused: %s", proposal_id, type(exc).__name__)
            await self.refresh_cards(proposal_id)
            return
        await self._store.finish_booking(proposal_id, slot_id)
        await self.refresh_cards(proposal_id)

    async def _still_free(
        self, proposal: ProposalRecord, slot: SlotRecord, people: list[ParticipantRecord]
    ) -> bool:
        """Ask Cronofy again for exactly this slot: a meeting may have appeared since."""
        r = proposal.request
        subs: dict[str, str] = {}
        for p in people:
            connection = await self._store.get_connection(p.user.id)
            if connection is not None:
                subs[str(p.user.id)] = connection.cronofy_sub
        before = timedelta(minutes=int(r.get("buffer_before", 0)))
        after = timedelta(minutes=int(r.get("buffer_after", 10)))
        body = {
            "participants": [
                {"members": [{"sub": sub} for sub in subs.values()], "required": "all"}
            ],
            "required_duration": {"minutes": int((slot.end - slot.start).total_seconds() // 60)},
            "available_periods": [{"start": _stamp(slot.start), "end": _stamp(slot.end)}],
            "buffer": {
                "before": {"minutes": int(before.total_seconds() // 60)},
                "after": {"minutes": int(after.total_seconds() // 60)},
            },
            "response_format": "slots",
        }
        try:
            raw = await self._calendar.availability(body)
        except CalendarError:
            return True  # can't re-check now: the events themselves are the source of truth
        found = parse_availability_response(raw, subs)
        return any(s.start == slot.start for s in found.slots)

    async def _write_event(
        self,
        proposal: ProposalRecord,
        slot: SlotRecord,
        participant: ParticipantRecord,
        everyone: list[ParticipantRecord],
    ) -> None:
        access, calendar_id = await self._calendar_for(participant.user)
        invitees = [
            {"email": p.user.email, "display_name": p.user.display_name or p.user.email}
            for p in everyone
            if p is not participant and p.user.email
        ]
        if self._invite_candidate and proposal.candidate_email:
            invitees.append(
                {"email": proposal.candidate_email, "display_name": proposal.candidate_name}
            )
        event: dict[str, object] = {
            "event_id": event_id(proposal.id, participant.user.id),
            "summary": f"{proposal.title}: {proposal.candidate_name}",
            "description": (
                f"Interview with {proposal.candidate_name}, scheduled with calbot by "
                f"{proposal.coordinator.display_name or proposal.coordinator.ref.user_id}."
            ),
            "start": slot.start,
            "end": slot.end,
            "tzid": participant.user.tz or str(proposal.request.get("tz", "UTC")),
        }
        if invitees:
            event["attendees"] = {"invite": invitees}
        await self._calendar.upsert_event(access, calendar_id, event)

    async def _delete_events(self, proposal: ProposalRecord) -> None:
        for participant in proposal.active:
            try:
                access, calendar_id = await self._calendar_for(participant.user)
            except CalendarError:
                continue
            await self._calendar.delete_event(
                access, calendar_id, event_id(proposal.id, participant.user.id)
            )

    async def _calendar_for(self, user: UserRecord) -> tuple[str, str]:
        tokens = await self._store.connection_tokens(user.id)
        connection = await self._store.get_connection(user.id)
        if tokens is None or connection is None:
            raise CalendarNotConnected(f"user {user.id} has no calendar connection")
        access = tokens.access_token
        if tokens.expires_at - self._clock.now() < REFRESH_AHEAD:
            fresh: TokenSet = await self._calendar.refresh(tokens.refresh_token)
            await self._store.store_tokens(connection.id, fresh)
            access = fresh.access_token
        calendars = await self._calendar.calendars(access)
        writable = [c for c in calendars if not c.readonly and not c.deleted]
        primary = next((c for c in writable if c.primary), writable[0] if writable else None)
        if primary is None:
            raise CalendarError("no writable calendar")
        return access, primary.calendar_id

    # --- jobs ----------------------------------------------------------------------------

    async def run_expiry(self) -> int:
        """Expire stale proposals and resume bookings a crashed process left half-done."""
        now = self._clock.now()
        expired = await self._store.expire_proposals(now)
        for proposal_id in expired:
            await self.refresh_cards(proposal_id)
        for proposal_id in await self._store.unfinished_bookings(now - timedelta(minutes=2)):
            proposal = await self._store.get_proposal(proposal_id)
            if proposal is not None and proposal.booked_slot_id is not None:
                await self._write_booking(proposal_id, proposal.booked_slot_id, recheck=False)
        return len(expired)

    # --- cards ---------------------------------------------------------------------------

    async def refresh_cards(self, proposal_id: int) -> None:
        """Send or edit every card of this proposal: each interviewer's and the tracker."""
        proposal = await self._store.get_proposal(proposal_id)
        if proposal is None:
            return
        cards: list[tuple[UserRecord, str, Message]] = []
        # Everyone's card, replaced people's too: one card per person per proposal, edited
        # in place when new times are searched, so no stale times stay clickable.
        for participant in proposal.participants:
            tz = participant.user.tz or str(proposal.request.get("tz", "UTC"))
            card = propose_cards.offer_card(proposal, participant, tz)
            cards.append((participant.user, f"offer:{proposal.id}:{participant.id}", card))
        cards.append(
            (proposal.coordinator, f"track:{proposal.id}", propose_cards.tracking_card(proposal))
        )
        existing = await self._store.existing_keys([key for _, key, _ in cards])
        items = [
            send_or_edit(user, key, card, already_sent=key in existing) for user, key, card in cards
        ]
        await self._store.enqueue(items)
        self._wake()

    # --- helpers -------------------------------------------------------------------------

    async def _mine(
        self, actor: Actor, proposal_id: str
    ) -> tuple[ProposalRecord | Message, ParticipantRecord | None]:
        proposal = await self._load(actor, proposal_id)
        if isinstance(proposal, Message):
            return proposal, None
        if proposal.state != "open":
            return simple(_closed_words(proposal.state)), None
        user = await self._store.find_user(actor.user)
        me = proposal.participant_for(user.id) if user else None
        if me is None or me.state == "replaced":
            return simple("This card belongs to someone else, so I didn't change anything."), None
        return proposal, me

    async def _coordinated(self, actor: Actor, value: str) -> ProposalRecord | Message:
        proposal = await self._load(actor, value)
        if isinstance(proposal, Message):
            return proposal
        user = await self._store.find_user(actor.user)
        if user is None or user.id != proposal.coordinator.id:
            return simple("Only the coordinator who proposed these times can do that.")
        return proposal

    async def _searching(self, actor: Actor, value: str) -> ProposalRecord | Message:
        """The coordinator's proposal, if it is still looking for a time: buttons that
        search again (on cards that stay in the chat) must not reopen a booked,
        cancelled or expired one."""
        proposal = await self._coordinated(actor, value)
        if isinstance(proposal, Message) or proposal.state in SEARCHABLE:
            return proposal
        return simple(_closed_words(proposal.state))

    async def _leaving(
        self, actor: Actor, value: str
    ) -> tuple[ProposalRecord, ParticipantRecord] | Message:
        """`<proposal id>:<participant id>` of a "Replace" button or its form: the panel
        (the coordinator's only) and the interviewer who is to leave it."""
        proposal_id, _, participant_id = value.partition(":")
        proposal = await self._searching(actor, proposal_id)
        if isinstance(proposal, Message):
            return proposal
        leaving = next((p for p in proposal.active if str(p.id) == participant_id), None)
        if leaving is None:
            return simple("That person is no longer on this panel.")
        return proposal, leaving

    async def _load(self, actor: Actor, value: str) -> ProposalRecord | Message:
        number = row_id(value)
        proposal = await self._store.get_proposal(number) if number is not None else None
        if proposal is None or (proposal.platform, proposal.workspace_id) != (
            actor.user.platform,
            actor.user.workspace_id,
        ):
            return simple("I can't find that proposal.")
        return proposal


def _accepted(proposal: ProposalRecord, slot: SlotRecord, p: ParticipantRecord) -> bool:
    return proposal.responses.get((slot.id, p.id)) == "accept"


def _agreed(proposal: ProposalRecord, slot: SlotRecord) -> bool:
    """Every required interviewer and N of the pool accepted this slot."""
    required = [p for p in proposal.active if p.role == "required"]
    pool = [p for p in proposal.active if p.role == "pool"]
    needed = min(int(proposal.request.get("pool_required", 0)), len(pool))
    return all(_accepted(proposal, slot, p) for p in required) and (
        sum(_accepted(proposal, slot, p) for p in pool) >= needed
    )


def event_id(proposal_id: int, user_id: int) -> str:
    """Deterministic per proposal and person: a retry or another instance updates it."""
    return f"calbot-proposal-{proposal_id}-user-{user_id}"


def _closed_words(state: str) -> str:
    return {
        "booked": "This interview is already booked, so I didn't change anything.",
        "booking": "This interview is being booked right now.",
        "cancelled": "This proposal was cancelled by the coordinator.",
        "expired": "This proposal has expired. Ask the coordinator to propose new times.",
    }.get(state, "This proposal is no longer open.")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["PROPOSE_FORM_ID", "ProposeService", "event_id"]
