"""DST regression cases (anchors C.2 bug list, C.6 items 1-3): London and New York spring
and autumn 2026, Lord Howe's 30-minute shift. Each case lists the local starts that must
be offered when every candidate Cronofy could send is fed through the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.slots import (
    Slot,
    WallTime,
    compute_candidates,
    dst_problem,
    select_slots,
    slot_problems,
    wall_time_kind,
    working_periods,
)
from bot.slots.tz import resolve_wall_time, transitions

from .support import (
    ALL_WEEK,
    LONDON,
    LORD_HOWE,
    NEW_YORK,
    every,
    hours,
    local_starts,
    person,
    request,
    utc,
    wall,
)


def offered(tz: str, day: date, start: str, end: str, minutes: int = 30) -> list[str]:
    """All local starts offered on ``day`` to one interviewer in ``tz`` with those hours."""
    alice = person("alice", tz, hours(start, end, ALL_WEEK))
    following = day + timedelta(days=1)
    req = request(
        start=wall(tz, day.year, day.month, day.day),
        end=wall(tz, following.year, following.month, following.day),
        minutes=minutes,
        count=20,
        coordinator_tz=tz,
    )
    # Noisy candidates, as a careless upstream might send: every 15 min, all day long.
    noisy = every(req.window.start, req.window.end, 15, minutes)
    now = req.window.start - timedelta(days=3)
    slots = select_slots(req, noisy, [alice], now)
    # Ground truth and Cronofy-like candidates agree once calbot's rules are applied.
    truth = select_slots(req, compute_candidates(req, [alice]), [alice], now)
    assert truth == slots
    assert len(slots) < req.count  # every valid slot of the day is listed
    return local_starts(slots, tz)


def test_transitions_2026() -> None:
    year = (utc(2026, 1, 1), utc(2027, 1, 1))
    assert transitions(NEW_YORK, *year) == (
        (utc(2026, 3, 8, 7), 3600),
        (utc(2026, 11, 1, 6), -3600),
    )
    assert transitions(LONDON, *year) == (
        (utc(2026, 3, 29, 1), 3600),
        (utc(2026, 10, 25, 1), -3600),
    )
    assert transitions(LORD_HOWE, *year) == (
        (datetime(2026, 4, 4, 15, tzinfo=UTC), -1800),
        (datetime(2026, 10, 3, 15, 30, tzinfo=UTC), 1800),
    )


@pytest.mark.parametrize(
    ("tz", "naive", "kind"),
    [
        (NEW_YORK, datetime(2026, 3, 8, 2, 30), WallTime.GAP),
        (NEW_YORK, datetime(2026, 3, 8, 3, 0), WallTime.NORMAL),
        (NEW_YORK, datetime(2026, 11, 1, 1, 30), WallTime.FOLD),
        (NEW_YORK, datetime(2026, 11, 1, 2, 0), WallTime.NORMAL),
        (LONDON, datetime(2026, 3, 29, 1, 30), WallTime.GAP),
        (LONDON, datetime(2026, 10, 25, 1, 0), WallTime.FOLD),
        (LORD_HOWE, datetime(2026, 10, 4, 2, 15), WallTime.GAP),
        (LORD_HOWE, datetime(2026, 10, 4, 2, 30), WallTime.NORMAL),
        (LORD_HOWE, datetime(2026, 4, 5, 1, 45), WallTime.FOLD),
        (LORD_HOWE, datetime(2026, 4, 5, 1, 15), WallTime.NORMAL),
    ],
)
def test_wall_time_kind(tz: str, naive: datetime, kind: WallTime) -> None:
    assert wall_time_kind(naive, ZoneInfo(tz)) is kind


def test_gap_edges_resolve_to_the_change_instant() -> None:
    ny = ZoneInfo(NEW_YORK)
    assert resolve_wall_time(datetime(2026, 3, 8, 2, 30), ny) == utc(2026, 3, 8, 7)
    assert resolve_wall_time(datetime(2026, 3, 8, 2, 30), ny, edge="end") == utc(2026, 3, 8, 7)
    # a repeated edge widens: the first occurrence for a start, the second for an end
    assert resolve_wall_time(datetime(2026, 11, 1, 1, 30), ny) == utc(2026, 11, 1, 5, 30)
    assert resolve_wall_time(datetime(2026, 11, 1, 1, 30), ny, edge="end") == utc(
        2026, 11, 1, 6, 30
    )


# --- America/New_York -------------------------------------------------------------------


def test_new_york_spring_forward_no_slot_at_0230() -> None:
    starts = offered(NEW_YORK, date(2026, 3, 8), "01:00", "05:00")
    assert not any(s.startswith("02:") for s in starts)
    # 01:30 EST + 30 min ends at the change (it would read 01:30–03:00): dropped.
    assert starts == [
        "01:00",
        "01:15",
        "03:00",
        "03:15",
        "03:30",
        "03:45",
        "04:00",
        "04:15",
        "04:30",
    ]


def test_new_york_spring_forward_hours_starting_in_the_gap() -> None:
    # "from 02:30" on a day when 02:30 never happens: work starts at the change, 03:00 EDT.
    assert offered(NEW_YORK, date(2026, 3, 8), "02:30", "04:30")[:2] == ["03:00", "03:15"]


def test_new_york_fall_back_ambiguous_0130_is_dropped() -> None:
    alice = person("alice", NEW_YORK, hours("00:00", "06:00", ALL_WEEK))
    req = request(start=utc(2026, 10, 31), end=utc(2026, 11, 3), minutes=30, count=20)
    first_0130 = wall(NEW_YORK, 2026, 11, 1, 1, 30, fold=0)  # 05:30Z, EDT
    second_0130 = wall(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)  # 06:30Z, EST
    assert second_0130 - first_0130 == timedelta(hours=1)
    candidates = [Slot(t, t + timedelta(minutes=30)) for t in (first_0130, second_0130)]
    assert select_slots(req, candidates, [alice], utc(2026, 10, 1)) == []
    problems = slot_problems(
        req,
        Slot(second_0130, second_0130 + timedelta(minutes=30), ("alice",)),
        [alice],
        utc(2026, 10, 1),
    )
    assert problems == ["alice: local start 01:30 is ambiguous in America/New_York (DST fall-back)"]


def test_new_york_fall_back_day() -> None:
    starts = offered(NEW_YORK, date(2026, 11, 1), "00:30", "04:00")
    # 00:30–01:00 ends on an ambiguous 01:00; nothing starts or ends in the repeated hour.
    assert starts == ["02:00", "02:15", "02:30", "02:45", "03:00", "03:15", "03:30"]
    assert offered(NEW_YORK, date(2026, 11, 1), "01:30", "04:00")[0] == "02:00"


def test_new_york_weekday_hours_follow_the_wall_clock_across_the_change() -> None:
    bob = person("bob", NEW_YORK)
    spans = working_periods(bob, utc(2026, 3, 6), utc(2026, 3, 10))
    assert spans == [
        (utc(2026, 3, 6, 14), utc(2026, 3, 6, 22, 30)),  # Fri 09:00 EST
        (utc(2026, 3, 9, 13), utc(2026, 3, 9, 21, 30)),  # Mon 09:00 EDT
    ]


def test_minimum_notice_landing_on_the_change_day_is_absolute() -> None:
    # cal.com #12137: 24 h of notice from Sat 15:00 EST is Sun 16:00 EDT, not 15:00.
    alice = person("alice", NEW_YORK, hours("09:00", "18:00", ALL_WEEK))
    req = request(
        start=utc(2026, 3, 8),
        end=utc(2026, 3, 9),
        minutes=30,
        min_notice=timedelta(hours=24),
        coordinator_tz=NEW_YORK,
    )
    now = wall(NEW_YORK, 2026, 3, 7, 15)
    slots = select_slots(req, compute_candidates(req, [alice]), [alice], now)
    assert min(s.start for s in slots) == wall(NEW_YORK, 2026, 3, 8, 16)
    assert compute_candidates(req, [alice], now)[0].start == wall(NEW_YORK, 2026, 3, 8, 16)


# --- Europe/London ----------------------------------------------------------------------


def test_london_spring_forward_hours_starting_at_0130() -> None:
    # 01:00-02:00 does not exist on 2026-03-29; hours "from 01:30" begin at 02:00 BST.
    alice = person("alice", LONDON, hours("01:30", "04:00", ALL_WEEK))
    day = [s for s in working_periods(alice, utc(2026, 3, 29), utc(2026, 3, 30)) if s[0].day == 29]
    assert day == [(utc(2026, 3, 29, 1), utc(2026, 3, 29, 3))]
    starts = offered(LONDON, date(2026, 3, 29), "01:30", "04:00")
    assert starts == ["02:00", "02:15", "02:30", "02:45", "03:00", "03:15", "03:30"]


def test_london_fall_back_day() -> None:
    starts = offered(LONDON, date(2026, 10, 25), "00:30", "03:00")
    assert starts == ["02:00", "02:15", "02:30"]


def test_london_week_after_the_change_is_not_shifted() -> None:
    # cal.com #4702/#10517: slots one hour off in the weeks after the change.
    alice = person("alice", LONDON)
    req = request(
        start=utc(2026, 10, 19), end=utc(2026, 10, 31), minutes=60, count=20, coordinator_tz=LONDON
    )
    slots = select_slots(req, compute_candidates(req, [alice]), [alice], utc(2026, 10, 1))
    assert {s for s in local_starts(slots, LONDON)} <= {
        f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 15, 30, 45)
    }
    assert min(local_starts(slots, LONDON)) == "09:00"


# --- Australia/Lord_Howe (30-minute shift) ----------------------------------------------


def test_lord_howe_spring_forward_half_hour_gap() -> None:
    starts = offered(LORD_HOWE, date(2026, 10, 4), "01:00", "04:00")
    # 02:00-02:30 is skipped; 01:30 + 30 min would end at the change.
    assert starts == ["01:00", "01:15", "02:30", "02:45", "03:00", "03:15", "03:30"]


def test_lord_howe_fall_back_half_hour_fold() -> None:
    starts = offered(LORD_HOWE, date(2026, 4, 5), "00:30", "03:00")
    # 01:30-02:00 happens twice; 01:00 + 30 min ends on an ambiguous 01:30.
    assert starts == ["00:30", "00:45", "02:00", "02:15", "02:30"]


def test_dst_problem_messages() -> None:
    ny = ZoneInfo(NEW_YORK)
    crossing = dst_problem(utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 15), ny)
    assert crossing == "crosses a DST change in America/New_York"
    assert dst_problem(utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 45), ny) is None
    assert dst_problem(utc(2026, 6, 1, 13), utc(2026, 6, 1, 14), ny) is None
