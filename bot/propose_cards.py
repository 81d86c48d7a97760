"""Proposal cards: each interviewer's offer (in their own time zone) and the coordinator's
tracking card, both edited in place as answers arrive."""

from __future__ import annotations

from bot.cards import new_link_button
from bot.messages import Actions, Block, Button, Context, Header, Message, Section
from bot.records import ParticipantRecord, ProposalRecord, SlotRecord
from bot.slots import Interval, format_slot

_CLOSED = {
    "cancelled": "🚫 Cancelled by the coordinator.",
    "expired": "⌛ This proposal expired without a time everyone accepted.",
    "failed": "⚠️ No times could be found for this proposal.",
}


def _label(slot: SlotRecord, reader_tz: str, coordinator_tz: str) -> tuple[str, str | None]:
    label = format_slot(Interval(slot.start, slot.end), reader_tz, coordinator_tz)
    return label.text, label.context


def _name(p: ParticipantRecord) -> str:
    return p.user.display_name or p.user.ref.user_id


def _panel(proposal: ProposalRecord, me: ParticipantRecord | None) -> str:
    required = [_name(p) for p in proposal.active if p.role == "required" and p is not me]
    pool = [_name(p) for p in proposal.active if p.role == "pool" and p is not me]
    parts = []
    if required:
        parts.append("with " + ", ".join(required))
    if pool:
        parts.append(f"and any {proposal.request.get('pool_required', 1)} of " + ", ".join(pool))
    return " ".join(parts) or "just you"


def _header(proposal: ProposalRecord) -> list[Block]:
    minutes = proposal.request.get("duration", 45)
    title = proposal.title or "Interview"
    coordinator = proposal.coordinator.display_name or proposal.coordinator.ref.user_id
    return [
        Header(text=f"{title}: {proposal.candidate_name}"[:150]),
        Section(
            text=f"**{minutes} minutes** · candidate **{proposal.candidate_name}** · "
            f"coordinated by {coordinator}"
        ),
    ]


def _booked_line(proposal: ProposalRecord, reader_tz: str) -> str | None:
    slot = proposal.slot(proposal.booked_slot_id) if proposal.booked_slot_id else None
    if slot is None or proposal.state not in {"booked", "booking"}:
        return None
    text, _ = _label(slot, reader_tz, str(proposal.request.get("tz", "UTC")))
    if proposal.state == "booking":
        return f"📅 Booking {text}…"
    return f"✅ **Booked: {text}**. It's in your calendar."


def offer_card(proposal: ProposalRecord, me: ParticipantRecord, reader_tz: str) -> Message:
    coordinator_tz = str(proposal.request.get("tz", "UTC"))
    blocks = _header(proposal)
    blocks.append(Context(text=f"Panel: {_panel(proposal, me)}. Times in {reader_tz}."))
    booked = _booked_line(proposal, reader_tz)
    if booked:
        blocks.append(Section(text=booked))
        return Message(text=booked.replace("**", ""), blocks=tuple(blocks))
    if proposal.state in _CLOSED:
        blocks.append(Section(text=_CLOSED[proposal.state]))
        return Message(text=_CLOSED[proposal.state], blocks=tuple(blocks))
    if me.state == "replaced":
        blocks.append(
            Section(text="The coordinator found someone else for this interview. Thanks!")
        )
        return Message(text="You're no longer needed for this interview", blocks=tuple(blocks))
    if me.state == "none_work":
        blocks.append(Section(text="You said none of these work. The coordinator has been told."))
        return Message(text="You said none of these times work", blocks=tuple(blocks))
    open_slots = [s for s in proposal.slots if s.state == "open"]
    for slot in open_slots:
        text, context = _label(slot, reader_tz, coordinator_tz)
        answer = proposal.responses.get((slot.id, me.id))
        mark = {"accept": " — ✓ you accepted", "decline": " — ✗ you declined"}.get(answer or "", "")
        blocks.append(Section(text=f"**{text}**{mark}"))
        if context:
            blocks.append(Context(text=context))
        value = f"{proposal.id}:{slot.id}"
        blocks.append(
            Actions(
                buttons=(
                    Button(
                        label="Accept" if answer != "accept" else "Accepted ✓",
                        action_id="propose.accept",
                        value=value,
                        style="primary" if answer != "accept" else None,
                    ),
                    Button(
                        label="Decline" if answer != "decline" else "Declined ✗",
                        action_id="propose.decline",
                        value=value,
                    ),
                )
            )
        )
    if any(s.state == "conflict" for s in proposal.slots):
        blocks.append(Context(text="A time was withdrawn: it was taken in someone's calendar."))
    blocks.append(
        Actions(
            buttons=(
                Button(
                    label="None of these work",
                    action_id="propose.none",
                    value=str(proposal.id),
                    style="danger",
                ),
            )
        )
    )
    return Message(
        text=f"Interview times for {proposal.candidate_name}: please pick",
        blocks=tuple(blocks),
    )


def tracking_card(proposal: ProposalRecord) -> Message:
    tz = str(proposal.request.get("tz", "UTC"))
    blocks = _header(proposal)
    booked = _booked_line(proposal, tz)
    if booked:
        blocks.append(
            Section(text=booked.replace("It's in your calendar.", "It's in every calendar."))
        )
    elif proposal.state in _CLOSED:
        blocks.append(Section(text=_CLOSED[proposal.state]))
    people = proposal.active
    for slot in [s for s in proposal.slots if s.state in {"open", "booked"}]:
        text, _ = _label(slot, tz, tz)
        yes = [_name(p) for p in people if proposal.responses.get((slot.id, p.id)) == "accept"]
        no = [_name(p) for p in people if proposal.responses.get((slot.id, p.id)) == "decline"]
        waiting = [
            _name(p)
            for p in people
            if (slot.id, p.id) not in proposal.responses and p.state != "none_work"
        ]
        parts = [f"✓ {', '.join(yes)}" if yes else "", f"✗ {', '.join(no)}" if no else ""]
        parts.append(f"⏳ {', '.join(waiting)}" if waiting else "")
        blocks.append(Section(text=f"**{text}**\n" + " · ".join(p for p in parts if p)))
    none = [_name(p) for p in people if p.state == "none_work"]
    if none:
        blocks.append(Context(text=f"None of these work for: {', '.join(none)}."))
    if proposal.state in {"open", "booked", "waiting"}:
        buttons = [
            Button(
                label="Cancel", action_id="propose.cancel", value=str(proposal.id), style="danger"
            )
        ]
        if proposal.state == "open" and none:
            buttons.insert(
                0,
                Button(label="Propose new times", action_id="propose.next", value=str(proposal.id)),
            )
            for p in [p for p in people if p.state == "none_work"][:3]:
                buttons.insert(
                    1,
                    Button(
                        label=f"Replace {_name(p)}"[:70],
                        action_id="propose.replace",
                        value=f"{proposal.id}:{p.id}",
                    ),
                )
        blocks.append(Actions(buttons=tuple(buttons)))
    return Message(text=f"Tracking: {proposal.candidate_name}", blocks=tuple(blocks))


def connect_to_accept() -> Message:
    """An interviewer without a working calendar pressed Accept: the booking would have
    no calendar to put the interview in."""
    text = (
        "Connect your calendar first: I put the interview in the calendar of everyone "
        "who accepts. Then press Accept again."
    )
    return Message(
        text=text,
        blocks=(
            Section(text=text),
            Actions(buttons=(new_link_button("Connect my calendar", primary=True),)),
        ),
    )


def not_connected_card(proposal_id: int, names: list[tuple[str, str]]) -> Message:
    """Interviewers who must connect first, each with a Nudge button."""
    lines = "\n".join(f"• <@{uid}|{name}>" for uid, name in names)
    buttons = [
        Button(label=f"Nudge {name}"[:70], action_id="propose.nudge", value=f"{proposal_id}:{uid}")
        for uid, name in names[:10]
    ]
    buttons.append(
        Button(
            label="Search again", action_id="propose.retry", value=str(proposal_id), style="primary"
        )
    )
    blocks: list[Block] = [
        Section(
            text="These interviewers haven't connected a working calendar, so I can't see "
            f"when they are free:\n{lines}"
        )
    ]
    for start in range(0, len(buttons), 5):
        blocks.append(Actions(buttons=tuple(buttons[start : start + 5])))
    return Message(
        text="Some interviewers need to connect their calendar first", blocks=tuple(blocks)
    )
