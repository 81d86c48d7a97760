"""Hypothesis properties of the slot rules, checked against an independent oracle.

The oracle reads each slot on the wall clock of every participant (the implementation
works on UTC spans built from local hours) and asks the ``holidays`` package directly.
Candidates are either the local ground truth or "noisy" Cronofy-like lists (a slot every
interval, all day and night, with or without participants), so the rules must hold
whatever the upstream sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slots import (
    Interval,
    Interviewer,
    Slot,
    SlotRequest,
    WorkingHours,
    compute_candidates,
    select_slots,
)

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
]
# (date, zone): DST changes in 2026/2027 with the zone that changes, holidays, plain weeks
BASE_DATES: list[tuple[date, str | None]] = [
    (date(2026, 3, 8), "America/New_York"),
    (date(2026, 11, 1), "America/New_York"),
    (date(2027, 3, 14), "America/New_York"),
    (date(2026, 3, 29), "Europe/London"),
    (date(2026, 10, 25), "Europe/London"),
    (date(2026, 3, 29), "Europe/Berlin"),
    (date(2026, 4, 5), "Australia/Lord_Howe"),
    (date(2026, 10, 4), "Australia/Lord_Howe"),
    (date(2026, 4, 5), "Australia/Sydney"),
    (date(2026, 10, 4), "Australia/Sydney"),
    (date(2026, 9, 27), "Pacific/Chatham"),
    (date(2026, 11, 26), None),
    (date(2026, 12, 25), None),
    (date(2027, 1, 4), None),
    (date(2027, 6, 15), None),
]
COUNTRIES = [None, None, "GB", "US", "AU", "DE"]
KEYS = [f"p{i}" for i in range(6)]


@dataclass
class Case:
    request: SlotRequest
    people: list[Interviewer]
    now: datetime
    candidates: list[Slot]


def minutes_to_time(value: int) -> time:
    return time(value // 60, value % 60)


@st.composite
def working_hours(draw: st.DrawFn) -> WorkingHours:
    kind = draw(st.sampled_from(["default", "default", "all-week", "all-week", "per-day"]))
    if kind == "default":
        return WorkingHours()
    if kind == "all-week":  # weekends too, often in the small hours when clocks change
        start = draw(st.one_of(st.integers(0, 12), st.integers(0, 48))) * 15
        end = min(start + draw(st.integers(8, 56)) * 15, 23 * 60 + 45)
        return WorkingHours.weekly(minutes_to_time(start), minutes_to_time(end), range(7))
    days: list[tuple[tuple[time, time], ...]] = []
    for _ in range(7):
        if draw(st.integers(0, 9)) < 2:
            days.append(())
            continue
        start = draw(st.integers(0, 88)) * 15
        end = min(start + draw(st.integers(4, 48)) * 15, 23 * 60 + 45)
        days.append(((minutes_to_time(start), minutes_to_time(end)),))
    return WorkingHours(tuple(days))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    base, event_zone = draw(st.sampled_from(BASE_DATES))
    base += timedelta(days=draw(st.integers(-2, 1)))
    start = datetime(base.year, base.month, base.day, tzinfo=UTC) + timedelta(
        minutes=15 * draw(st.integers(0, 95))
    )
    window = Interval(start, start + timedelta(hours=draw(st.integers(12, 6 * 24))))
    n_required = draw(st.integers(1, 3))
    n_pool = draw(st.integers(0, 3))
    # most panels share a zone or two; near a DST change, usually the zone that changes
    panel_zone = event_zone or draw(st.sampled_from(ZONES))
    people: list[Interviewer] = []
    span = int((window.end - window.start).total_seconds() // 60)
    for key in KEYS[: n_required + n_pool]:
        busy = []
        for _ in range(draw(st.integers(0, 6))):
            offset = draw(st.integers(-120, span))
            length = draw(st.integers(1, 16)) * 15
            b_start = window.start + timedelta(minutes=offset)
            busy.append(Interval(b_start, b_start + timedelta(minutes=length)))
        people.append(
            Interviewer(
                key=key,
                tz=draw(
                    st.one_of(st.just(panel_zone), st.just(panel_zone), st.sampled_from(ZONES))
                ),
                working_hours=draw(working_hours()),
                country=draw(st.sampled_from(COUNTRIES)),
                busy=tuple(busy),
            )
        )
    request = SlotRequest(
        duration=timedelta(minutes=draw(st.sampled_from([15, 30, 45, 60, 90, 120]))),
        required=tuple(KEYS[:n_required]),
        pool=tuple(KEYS[n_required : n_required + n_pool]),
        pool_required=draw(st.integers(1, n_pool)) if n_pool else 0,
        window=window,
        min_notice=timedelta(
            minutes=draw(st.sampled_from([0, 60, 24 * 60, draw(st.integers(0, 48 * 4)) * 15]))
        ),
        buffer_before=timedelta(minutes=draw(st.sampled_from([0, 5, 10, 30]))),
        buffer_after=timedelta(minutes=draw(st.sampled_from([0, 10, 15]))),
        count=draw(st.integers(1, 8)),
        start_interval=timedelta(minutes=draw(st.sampled_from([15, 30]))),
        coordinator_tz=draw(st.sampled_from(ZONES)),
    )
    now = window.start + timedelta(minutes=draw(st.integers(-3 * 1440, 1440)))
    source = draw(st.sampled_from(["truth", "noisy-all", "noisy-none", "noisy-some"]))
    if source == "truth":
        candidates = compute_candidates(request, people)
    else:
        candidates = []
        t = window.start
        step = request.start_interval
        while t + request.duration <= window.end + timedelta(hours=2):
            if source == "noisy-all":
                who = request.participants
            elif source == "noisy-none":
                who = ()
            else:
                who = tuple(k for k in request.participants if draw(st.integers(0, 4)) > 0)
            candidates.append(Slot(t, t + request.duration, who))
            t += step
    return Case(request, people, now, candidates)


# --- the oracle ----------------------------------------------------------------------


@cache
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def ambiguous(local: datetime) -> bool:
    naive = local.replace(tzinfo=None)
    zone = local.tzinfo
    return (
        naive.replace(tzinfo=zone, fold=0).utcoffset()
        != naive.replace(tzinfo=zone, fold=1).utcoffset()
    )


def in_working_hours(p: Interviewer, start: datetime, end: datetime) -> bool:
    zone = ZoneInfo(p.tz)
    ls, le = start.astimezone(zone), end.astimezone(zone)
    if ls.date() != le.date():
        return False  # generated hours never cross midnight
    return any(a <= ls.time() and le.time() <= b for a, b in p.working_hours.ranges(ls.weekday()))


def on_holiday(p: Interviewer, start: datetime) -> bool:
    if p.country is None:
        return False
    local = start.astimezone(ZoneInfo(p.tz)).date()
    return local in _holidays(p.country, local.year)


def busy_clash(p: Interviewer, req: SlotRequest, start: datetime, end: datetime) -> bool:
    return any(
        b.start < end + req.buffer_after and b.end > start - req.buffer_before for b in p.busy
    )


def dst_clean(p: Interviewer, start: datetime, end: datetime) -> bool:
    zone = ZoneInfo(p.tz)
    ls, le = start.astimezone(zone), end.astimezone(zone)
    return ls.utcoffset() == le.utcoffset() and not ambiguous(ls) and not ambiguous(le)


def person_ok(
    p: Interviewer, req: SlotRequest, start: datetime, end: datetime, dst: bool = True
) -> bool:
    return (
        in_working_hours(p, start, end)
        and not on_holiday(p, start)
        and not busy_clash(p, req, start, end)
        and (not dst or dst_clean(p, start, end))
    )


def valid(case: Case, start: datetime, end: datetime, listed: Sequence[str]) -> bool:
    req = case.request
    people = {p.key: p for p in case.people}
    if end - start != req.duration or end > req.window.end:
        return False
    if start < req.window.start or start < case.now + req.min_notice:
        return False
    if listed and not set(req.required) <= set(listed):
        return False
    if not all(person_ok(people[k], req, start, end) for k in req.required):
        return False
    pool = [
        k for k in req.pool if (not listed or k in listed) and person_ok(people[k], req, start, end)
    ]
    return len(pool) >= req.pool_required


def distinct_valid(case: Case) -> dict[tuple[datetime, datetime], set[str]]:
    listed: dict[tuple[datetime, datetime], set[str]] = {}
    for c in case.candidates:
        listed.setdefault((c.start, c.end), set()).update(c.participants)
    return {k: v for k, v in listed.items() if valid(case, k[0], k[1], sorted(v))}


# --- properties ----------------------------------------------------------------------


@SETTINGS
@given(cases())
def test_every_offered_slot_obeys_every_rule(case: Case) -> None:
    req = case.request
    people = {p.key: p for p in case.people}
    slots = select_slots(req, case.candidates, case.people, case.now)
    assert len(slots) <= req.count
    assert len({(s.start, s.end) for s in slots}) == len(slots)  # unique
    assert slots == sorted(slots, key=lambda s: s.start)
    for slot in slots:
        assert slot.end - slot.start == req.duration
        assert slot.start >= case.now + req.min_notice  # minimum notice
        assert req.window.start <= slot.start and slot.end <= req.window.end  # never after
        assert slot.participants[: len(req.required)] == req.required
        chosen = slot.participants[len(req.required) :]
        assert len(chosen) == req.pool_required and set(chosen) <= set(req.pool)
        for key in slot.participants + slot.alternates:
            p = people[key]
            assert in_working_hours(p, slot.start, slot.end), (key, p.tz, slot)
            assert not on_holiday(p, slot.start), (key, slot)
            assert not busy_clash(p, req, slot.start, slot.end), (key, slot)
            assert dst_clean(p, slot.start, slot.end), (key, p.tz, slot)


@SETTINGS
@given(cases())
def test_nothing_valid_is_lost_and_slots_are_spread(case: Case) -> None:
    req = case.request
    good = distinct_valid(case)
    slots = select_slots(req, case.candidates, case.people, case.now)
    assert len(slots) == min(req.count, len(good))
    assert {(s.start, s.end) for s in slots} <= set(good)
    zone = ZoneInfo(req.coordinator_tz)
    days = {start.astimezone(zone).date() for start, _ in good}
    offered = {s.start.astimezone(zone).date() for s in slots}
    assert len(offered) == min(len(days), req.count, len(slots))
    # deterministic, whatever the order of the candidates
    assert select_slots(req, list(reversed(case.candidates)), case.people, case.now) == slots


@SETTINGS
@given(cases())
def test_compute_candidates_is_the_ground_truth(case: Case) -> None:
    req = case.request
    people = {p.key: p for p in case.people}
    truth = compute_candidates(req, case.people)
    found = {(c.start, c.end): c for c in truth}
    coordinator = ZoneInfo(req.coordinator_tz)
    t = req.window.start.replace(minute=req.window.start.minute // 15 * 15)
    step = req.start_interval // timedelta(minutes=1)
    while t + req.duration <= req.window.end:
        end = t + req.duration
        local = t.astimezone(coordinator)
        if not all(dst_clean(people[k], t, end) for k in req.participants):
            # Around a DST change the wall-clock reading of an edge is not well defined
            # (a slot ending exactly at the change reads 01:45-03:00); select_slots drops
            # such slots, so the ground truth is not compared there.
            found.pop((t, end), None)
        elif t >= req.window.start and (local.hour * 60 + local.minute) % step == 0:
            required_ok = all(person_ok(people[k], req, t, end, dst=False) for k in req.required)
            pool = tuple(k for k in req.pool if person_ok(people[k], req, t, end, dst=False))
            if required_ok and len(pool) >= req.pool_required:
                assert (t, end) in found, (t, end)
                assert found.pop((t, end)).participants == req.required + pool
        t += timedelta(minutes=15)
    assert not found  # nothing offered that the oracle rejects
