"""calbot's own slot rules, applied on top of Cronofy's candidates. Pure functions.

Cronofy intersects calendars; calbot still owns the edges (anchors C.1):

1. the slot has the requested duration, starts no earlier than ``now + min_notice`` and
   the window start, and ends no later than the window end;
2. every required interviewer, and every pool member chosen for it, is inside their
   working hours *in their own IANA zone*, not on a public holiday of their country /
   subdivision, and free of every known busy period widened by the buffers
   (``busy.start - buffer_after .. busy.end + buffer_before`` must not overlap the slot,
   Cronofy's buffer semantics);
3. no participant sees a local start or end that is ambiguous or non-existent, and no
   slot crosses a DST change in any participant's zone;
4. slots are unique by (start, end);
5. ``count`` slots are *spread*: round-robin over the days (coordinator's zone), each pick
   preferring a time of day far from the ones already chosen and not overlapping a slot
   already chosen that day; ties go to the earliest. Deterministic.

``compute_candidates`` enumerates candidates from working hours and busy periods alone —
the ground truth for tests and what the Cronofy sandbox can serve.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.slots.hours import is_holiday, working_periods
from bot.slots.intervals import Span, contains, intersect_all, merge, overlaps_any, subtract
from bot.slots.model import Interviewer, Slot, SlotRequest, SlotRequestError
from bot.slots.tz import dst_problem, get_zone, to_utc, transitions

__all__ = [
    "Interviewers",
    "align_up",
    "compute_candidates",
    "index_interviewers",
    "select_slots",
    "slot_problems",
]

Interviewers = Mapping[str, Interviewer] | Iterable[Interviewer]

_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTES_PER_DAY = 24 * 60


def index_interviewers(interviewers: Interviewers, request: SlotRequest) -> dict[str, Interviewer]:
    """Interviewers by key; every required and pool key must be present."""
    if isinstance(interviewers, Mapping):
        people = dict(interviewers)
    else:
        people = {person.key: person for person in interviewers}
    for field, keys in (("required", request.required), ("pool", request.pool)):
        missing = [key for key in keys if key not in people]
        if missing:
            raise SlotRequestError(field, f"unknown interviewer(s): {', '.join(missing)}")
    return people


def align_up(instant: datetime, interval: timedelta, tz: str) -> datetime:
    """The first instant at or after ``instant`` whose wall time in ``tz`` is a multiple of
    ``interval`` past local midnight (so 30-minute starts in Asia/Kathmandu, UTC+05:45,
    fall on :00/:30 local rather than :15/:45)."""
    offset = instant.astimezone(get_zone(tz)).utcoffset() or timedelta(0)
    local = instant + offset - _EPOCH
    step = interval.total_seconds()
    seconds = local.total_seconds()
    aligned = -(-seconds // step) * step
    return _EPOCH + timedelta(seconds=aligned) - offset


# --- per-person view of the window ---------------------------------------------------------


@dataclass(slots=True)
class _Person:
    interviewer: Interviewer
    zone: ZoneInfo
    free: list[Span]  # working time minus busy periods widened by the buffers
    free_starts: list[datetime]
    working: list[Span]
    working_starts: list[datetime]
    blocked: list[Span]
    blocked_starts: list[datetime]
    changes: list[datetime]  # DST transitions near the window

    def is_free(self, start: datetime, end: datetime) -> bool:
        return contains(self.free, self.free_starts, start, end)

    def dst_ok(self, start: datetime, end: datetime) -> bool:
        if not self.changes:
            return True
        i = bisect_left(self.changes, start - _DAY)
        if i == len(self.changes) or self.changes[i] > end + _DAY:
            return True  # no transition within a day: the fold check cannot fail
        return dst_problem(start, end, self.zone) is None


def _person(interviewer: Interviewer, request: SlotRequest) -> _Person:
    lo, hi = request.window.start, request.window.end
    working = working_periods(interviewer, lo, hi)
    blocked = merge(
        (busy.start - request.buffer_after, busy.end + request.buffer_before)
        for busy in interviewer.busy
        if busy.end + request.buffer_before > lo - _DAY and busy.start < hi + _DAY
    )
    free = subtract(working, blocked)
    changes = [instant for instant, _ in transitions(interviewer.tz, lo - 2 * _DAY, hi + 2 * _DAY)]
    return _Person(
        interviewer=interviewer,
        zone=get_zone(interviewer.tz),
        free=free,
        free_starts=[s for s, _ in free],
        working=working,
        working_starts=[s for s, _ in working],
        blocked=blocked,
        blocked_starts=[s for s, _ in blocked],
        changes=changes,
    )


def _people(request: SlotRequest, interviewers: Interviewers) -> dict[str, _Person]:
    index = index_interviewers(interviewers, request)
    return {key: _person(index[key], request) for key in request.participants}


# --- ground truth -------------------------------------------------------------------------


def compute_candidates(
    request: SlotRequest,
    interviewers: Interviewers,
    now: datetime | None = None,
    *,
    overlapping: bool = True,
) -> list[Slot]:
    """Candidates from working hours, holidays and busy periods alone (no Cronofy).

    Like Cronofy with ``required: "all"`` for the required interviewers and
    ``required: N`` for the pool: a start every ``start_interval`` (aligned in the
    coordinator's zone) where every required interviewer and at least N pool members are
    inside working hours and free of busy periods plus buffers. ``participants`` lists the
    required interviewers and *every* free pool member, as Cronofy does. With ``now`` the
    minimum notice is applied too. ``overlapping=False`` mimics ``response_format:
    "slots"`` (each next slot starts at or after the previous end); the default mimics
    ``"overlapping_slots"``. DST and spreading are left to :func:`select_slots`.
    """
    people = _people(request, interviewers)
    earliest = request.window.start if now is None else request.earliest_start(now)
    bounds = [(earliest, request.window.end)]
    common = intersect_all([bounds, *(people[key].free for key in request.required)])
    out: list[Slot] = []
    for span_start, span_end in common:
        start = align_up(span_start, request.start_interval, request.coordinator_tz)
        while start + request.duration <= span_end:
            end = start + request.duration
            free_pool = tuple(key for key in request.pool if people[key].is_free(start, end))
            if len(free_pool) >= request.pool_required:
                out.append(Slot(start, end, request.required + free_pool))
                step_from = end if not overlapping else start + request.start_interval
            else:
                step_from = start + request.start_interval
            start = align_up(step_from, request.start_interval, request.coordinator_tz)
    return out


# --- selection -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Valid:
    start: datetime
    end: datetime
    pool: tuple[str, ...]  # eligible pool members, pool order
    day: date  # coordinator-local date of the start
    minute: int  # coordinator-local minute of the day of the start


def _eligible(
    request: SlotRequest,
    people: Mapping[str, _Person],
    start: datetime,
    end: datetime,
    listed: frozenset[str],
) -> tuple[str, ...] | None:
    """Eligible pool members if the slot passes every per-person rule, else ``None``."""
    for key in request.required:
        if listed and key not in listed:
            return None  # Cronofy did not report this required interviewer free
        person = people[key]
        if not person.is_free(start, end) or not person.dst_ok(start, end):
            return None
    pool = tuple(
        key
        for key in request.pool
        if (not listed or key in listed)
        and people[key].is_free(start, end)
        and people[key].dst_ok(start, end)
    )
    if len(pool) < request.pool_required:
        return None
    return pool


def _valid_candidates(
    request: SlotRequest, candidates: Iterable[Slot], people: Mapping[str, _Person], now: datetime
) -> list[_Valid]:
    earliest = request.earliest_start(now)
    latest = request.window.end
    # unique by (start, end); the participants Cronofy listed for duplicates are united
    listed: dict[tuple[datetime, datetime], set[str]] = {}
    for slot in candidates:
        if slot.end - slot.start != request.duration:
            continue
        if slot.start < earliest or slot.end > latest:
            continue
        listed.setdefault((slot.start, slot.end), set()).update(slot.participants)
    zone = get_zone(request.coordinator_tz)
    out: list[_Valid] = []
    for (start, end), names in sorted(listed.items()):
        pool = _eligible(request, people, start, end, frozenset(names))
        if pool is None:
            continue
        local = start.astimezone(zone)
        out.append(_Valid(start, end, pool, local.date(), local.hour * 60 + local.minute))
    return out


def _distance(minute: int, used: list[int]) -> int:
    if not used:
        return 0
    return min(min(abs(minute - u), _MINUTES_PER_DAY - abs(minute - u)) for u in used)


def _spread(valid: list[_Valid], count: int) -> list[_Valid]:
    by_day: dict[date, list[_Valid]] = {}
    for item in valid:  # valid is sorted by start, so days come out in order
        by_day.setdefault(item.day, []).append(item)
    picked: list[_Valid] = []
    picked_ids: set[int] = set()
    on_day: dict[date, list[_Valid]] = {day: [] for day in by_day}
    used: list[int] = []
    while len(picked) < count:
        progress = False
        for day, items in by_day.items():
            if len(picked) >= count:
                break
            best: _Valid | None = None
            best_key: tuple[bool, int, datetime] | None = None
            for item in items:
                if id(item) in picked_ids:
                    continue
                overlap = any(
                    item.start < other.end and other.start < item.end for other in on_day[day]
                )
                key = (overlap, -_distance(item.minute, used), item.start)
                if best_key is None or key < best_key:
                    best, best_key = item, key
            if best is not None:
                picked.append(best)
                picked_ids.add(id(best))
                on_day[day].append(best)
                used.append(best.minute)
                progress = True
        if not progress:
            break
    return sorted(picked, key=lambda item: (item.start, item.end))


def _assign(request: SlotRequest, picked: list[_Valid]) -> list[Slot]:
    """Choose N pool members per slot, balancing load over the offered slots."""
    load = dict.fromkeys(request.pool, 0)
    order = {key: i for i, key in enumerate(request.pool)}
    out: list[Slot] = []
    for item in picked:
        chosen = sorted(item.pool, key=lambda key: (load[key], order[key]))
        chosen = sorted(chosen[: request.pool_required], key=order.__getitem__)
        for key in chosen:
            load[key] += 1
        alternates = tuple(key for key in item.pool if key not in chosen)
        out.append(Slot(item.start, item.end, request.required + tuple(chosen), alternates))
    return out


def select_slots(
    request: SlotRequest,
    candidates: Iterable[Slot],
    interviewers: Interviewers,
    now: datetime,
) -> list[Slot]:
    """At most ``request.count`` slots from ``candidates`` that pass every calbot rule,
    spread over days and times of day, in chronological order.

    ``candidates`` usually come from Cronofy (``parse_availability_response``). When a
    candidate lists participants, only those are considered free (a required interviewer
    missing from a non-empty list drops the slot); an empty list means "not stated".
    ``interviewers`` may carry ``busy`` periods from a free/busy re-check.
    """
    now = to_utc(now, "now")
    people = _people(request, interviewers)
    valid = _valid_candidates(request, candidates, people, now)
    return _assign(request, _spread(valid, request.count))


# --- explanation / booking-time re-check ---------------------------------------------------


def slot_problems(
    request: SlotRequest, slot: Slot, interviewers: Interviewers, now: datetime
) -> list[str]:
    """Every reason why ``slot`` (with its ``participants``) may not be offered or booked.

    Empty means the slot is fine. Used to re-check a slot just before booking with fresh
    busy periods, and in tests as a readable oracle.
    """
    now = to_utc(now, "now")
    index = index_interviewers(interviewers, request)
    problems: list[str] = []
    if slot.end - slot.start != request.duration:
        problems.append(f"lasts {slot.end - slot.start}, not {request.duration}")
    if slot.start < now + request.min_notice:
        problems.append("starts within the minimum notice")
    if slot.start < request.window.start:
        problems.append("starts before the window")
    if slot.end > request.window.end:
        problems.append("ends after the window")
    missing = [key for key in request.required if key not in slot.participants]
    if missing:
        problems.append(f"required interviewer(s) missing: {', '.join(missing)}")
    pool = [key for key in slot.participants if key in request.pool]
    if len(pool) < request.pool_required:
        problems.append(f"only {len(pool)} of {request.pool_required} from the pool")
    for key in slot.participants:
        if key not in index:
            problems.append(f"{key}: not on the panel")
            continue
        person = _person(index[key], request)
        if not contains(person.working, person.working_starts, slot.start, slot.end):
            local_day = slot.start.astimezone(person.zone).date()
            if is_holiday(person.interviewer, local_day):
                problems.append(f"{key}: public holiday on {local_day.isoformat()}")
            else:
                problems.append(f"{key}: outside working hours in {person.interviewer.tz}")
        if overlaps_any(person.blocked, person.blocked_starts, slot.start, slot.end):
            problems.append(f"{key}: busy (including buffers)")
        dst = dst_problem(slot.start, slot.end, person.zone)
        if dst:
            problems.append(f"{key}: {dst}")
    return problems
