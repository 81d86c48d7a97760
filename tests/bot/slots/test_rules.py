"""Table tests for calbot's own rules on top of Cronofy's candidates."""

from __future__ import annotations

import random
from datetime import timedelta
from itertools import pairwise

import pytest

from bot.slots import Slot, SlotRequestError, compute_candidates, select_slots, slot_problems

from .support import ALL_WEEK, every, hours, local_days, local_starts, person, request, utc

NOW = utc(2026, 11, 1)


def hhmm(slots: list[Slot]) -> list[str]:
    return local_starts(slots, "UTC")


# --- buffers (anchors C.6 #6: Cronofy's preferences guide worked example) ----------------


@pytest.mark.parametrize(("interval", "expected"), [(60, "12:00"), (15, "11:15")])
def test_buffer_before_after_a_busy_hour(interval: int, expected: str) -> None:
    alice = person("alice", busy=[(utc(2026, 12, 1, 10), utc(2026, 12, 1, 11))])
    req = request(
        start=utc(2026, 12, 1, 10),
        end=utc(2026, 12, 1, 17),
        minutes=60,
        buffer_before=timedelta(minutes=10),
        start_interval=timedelta(minutes=interval),
        count=1,
    )
    assert hhmm(compute_candidates(req, [alice]))[0] == expected
    cronofy_like = every(req.window.start, req.window.end, interval, 60)
    assert hhmm(select_slots(req, cronofy_like, [alice], NOW)) == [expected]


def test_buffer_after_keeps_a_gap_before_the_next_meeting() -> None:
    alice = person("alice", busy=[(utc(2026, 12, 1, 10), utc(2026, 12, 1, 11))])
    req = request(
        start=utc(2026, 12, 1, 8),
        end=utc(2026, 12, 1, 11),
        minutes=45,
        buffer_after=timedelta(minutes=10),
        count=10,
    )
    slots = select_slots(req, every(req.window.start, req.window.end, 15, 45), [alice], NOW)
    # 09:15-10:00 would leave no 10 minutes before the 10:00 meeting; 08:xx is before
    # working hours.
    assert hhmm(slots) == ["09:00"]


# --- minimum notice, window edges, duration, uniqueness ---------------------------------


def test_minimum_notice_relative_to_now() -> None:
    alice = person("alice")
    req = request(
        start=utc(2026, 12, 1),
        end=utc(2026, 12, 2),
        minutes=30,
        min_notice=timedelta(hours=24),
        count=20,
    )
    now = utc(2026, 11, 30, 13, 7)
    slots = select_slots(req, compute_candidates(req, [alice]), [alice], now)
    assert slots and min(s.start for s in slots) == utc(2026, 12, 1, 13, 15)


def test_never_ends_after_the_window() -> None:
    alice = person("alice")
    req = request(start=utc(2026, 12, 1, 9), end=utc(2026, 12, 1, 10, 40), minutes=45, count=10)
    candidates = every(utc(2026, 12, 1, 9), utc(2026, 12, 1, 12), 15, 45)
    slots = select_slots(req, candidates, [alice], NOW)
    assert hhmm(slots) == ["09:00", "09:15", "09:30", "09:45"]  # 10:00 would end at 10:45
    assert max(s.end for s in slots) <= req.window.end
    assert max(s.end for s in compute_candidates(req, [alice])) <= req.window.end


def test_wrong_length_candidates_are_ignored() -> None:
    alice = person("alice")
    req = request(start=utc(2026, 12, 1), end=utc(2026, 12, 2), minutes=45)
    candidates = [
        Slot(utc(2026, 12, 1, 10), utc(2026, 12, 1, 11)),
        Slot(utc(2026, 12, 1, 12), utc(2026, 12, 1, 12, 45)),
    ]
    assert hhmm(select_slots(req, candidates, [alice], NOW)) == ["12:00"]


def test_duplicate_candidates_give_unique_slots() -> None:
    alice = person("alice")
    req = request(start=utc(2026, 12, 1), end=utc(2026, 12, 2), minutes=30, count=10)
    one = Slot(utc(2026, 12, 1, 10), utc(2026, 12, 1, 10, 30), ("alice",))
    slots = select_slots(req, [one, one, Slot(one.start, one.end)], [alice], NOW)
    assert slots == [Slot(one.start, one.end, ("alice",))]


def test_working_hours_in_each_interviewers_own_zone() -> None:
    london = person("alice", "Europe/London")
    new_york = person("bob", "America/New_York")
    req = request(
        ["alice", "bob"], start=utc(2026, 12, 1), end=utc(2026, 12, 2), minutes=60, count=20
    )
    slots = select_slots(
        req, every(req.window.start, req.window.end, 15, 60), [london, new_york], NOW
    )
    # London 09:00-17:30 GMT and New York 09:00-17:30 EST (14:00-22:30Z) share 14:00-17:30Z.
    assert min(hhmm(slots)) == "14:00" and max(s.end for s in slots) <= utc(2026, 12, 1, 17, 30)


def test_busy_period_from_a_free_busy_recheck_removes_the_slot() -> None:
    req = request(
        start=utc(2026, 12, 1), end=utc(2026, 12, 2), minutes=30, buffer_after=timedelta(minutes=10)
    )
    slot = Slot(utc(2026, 12, 1, 14), utc(2026, 12, 1, 14, 30), ("alice",))
    free = person("alice")
    assert slot_problems(req, slot, [free], NOW) == []
    booked = person("alice", busy=[(utc(2026, 12, 1, 14, 35), utc(2026, 12, 1, 15))])
    assert slot_problems(req, slot, [booked], NOW) == ["alice: busy (including buffers)"]
    assert select_slots(req, [slot], [booked], NOW) == []
    assert select_slots(req, [slot], [free], NOW) == [slot]


def test_unknown_interviewer_is_a_request_error() -> None:
    req = request(["alice", "ghost"])
    with pytest.raises(SlotRequestError, match="ghost") as caught:
        select_slots(req, [], [person("alice")], NOW)
    assert caught.value.field == "required"


# --- candidates' participants and the pool ---------------------------------------------


def test_required_interviewer_not_reported_free_by_cronofy_drops_the_slot() -> None:
    req = request(["alice", "bob"], start=utc(2026, 12, 1), end=utc(2026, 12, 2), minutes=30)
    people = [person("alice"), person("bob")]
    start, end = utc(2026, 12, 1, 10), utc(2026, 12, 1, 10, 30)
    assert select_slots(req, [Slot(start, end, ("alice",))], people, NOW) == []
    assert len(select_slots(req, [Slot(start, end, ("alice", "bob"))], people, NOW)) == 1


def test_pool_members_are_chosen_from_those_free_and_balanced() -> None:
    people = [person("alice"), person("carol"), person("dan"), person("erin", "Asia/Tokyo")]
    req = request(
        ["alice"],
        pool=("carol", "dan", "erin"),
        pool_required=1,
        start=utc(2026, 11, 30),
        end=utc(2026, 12, 5),
        minutes=45,
        count=4,
    )
    slots = select_slots(req, compute_candidates(req, people), people, NOW)
    assert len(slots) == 4
    chosen = [s.participants[1:] for s in slots]
    assert all(len(c) == 1 for c in chosen)
    # erin (Tokyo, 00:00-08:30Z) is never free in UTC office hours; carol/dan alternate.
    assert sorted(c[0] for c in chosen) == ["carol", "carol", "dan", "dan"]
    assert all(s.participants[0] == "alice" for s in slots)
    assert all("erin" not in s.alternates for s in slots)


def test_pool_member_cronofy_did_not_list_is_not_chosen() -> None:
    people = [person("alice"), person("carol"), person("dan")]
    req = request(
        ["alice"],
        pool=("carol", "dan"),
        pool_required=1,
        start=utc(2026, 12, 1),
        end=utc(2026, 12, 2),
        minutes=30,
    )
    slot = Slot(utc(2026, 12, 1, 10), utc(2026, 12, 1, 10, 30), ("alice", "dan"))
    (result,) = select_slots(req, [slot], people, NOW)
    assert result.participants == ("alice", "dan") and result.alternates == ()


def test_pool_short_of_n_drops_the_slot() -> None:
    people = [
        person("alice"),
        person("carol"),
        person("dan", busy=[(utc(2026, 12, 1), utc(2026, 12, 2))]),
    ]
    req = request(
        ["alice"],
        pool=("carol", "dan"),
        pool_required=2,
        start=utc(2026, 12, 1),
        end=utc(2026, 12, 2),
        minutes=30,
    )
    assert compute_candidates(req, people) == []
    slot = Slot(utc(2026, 12, 1, 10), utc(2026, 12, 1, 10, 30))
    assert select_slots(req, [slot], people, NOW) == []
    assert "only 1 of 2 from the pool" in slot_problems(
        req, Slot(slot.start, slot.end, ("alice", "carol")), people, NOW
    )


# --- spread ----------------------------------------------------------------------------


def test_spread_over_days_and_times_of_day() -> None:
    alice = person("alice")
    req = request(start=utc(2026, 11, 30), end=utc(2026, 12, 5), minutes=45)
    candidates = compute_candidates(req, [alice])
    slots = select_slots(req, candidates, [alice], NOW)
    assert len(slots) == 5
    assert len(set(local_days(slots, "UTC"))) == 5  # one per weekday, not 5 adjacent ones
    assert len({s.start.hour for s in slots}) == 5  # and at different hours
    assert slots != candidates[:5]
    # Mon earliest, then each day the time of day farthest from those already offered
    assert hhmm(slots) == ["09:00", "16:45", "12:45", "14:45", "10:45"]


def test_spread_uses_at_least_three_days_when_it_can() -> None:
    alice = person("alice", working=hours("09:00", "11:00", (0, 1, 2)))
    req = request(start=utc(2026, 11, 30), end=utc(2026, 12, 5), minutes=30)
    slots = select_slots(req, compute_candidates(req, [alice]), [alice], NOW)
    assert len(slots) == 5 and len(set(local_days(slots, "UTC"))) == 3
    # two extra picks reuse a day but neither overlaps the slot already chosen there
    for a in slots:
        for b in slots:
            assert a is b or not (a.start < b.end and b.start < a.end)


def test_spread_is_deterministic_and_order_independent() -> None:
    people = [person("alice", "Europe/London"), person("bob", "America/New_York")]
    req = request(
        ["alice", "bob"],
        start=utc(2026, 11, 30),
        end=utc(2026, 12, 12),
        minutes=60,
        coordinator_tz="Europe/London",
    )
    candidates = compute_candidates(req, people)
    shuffled = list(candidates)
    random.Random(7).shuffle(shuffled)
    assert select_slots(req, candidates, people, NOW) == select_slots(req, shuffled, people, NOW)


def test_fewer_valid_slots_than_requested() -> None:
    alice = person("alice", working=hours("09:00", "10:00", ALL_WEEK))
    req = request(start=utc(2026, 12, 1), end=utc(2026, 12, 2), minutes=60, count=5)
    assert len(select_slots(req, compute_candidates(req, [alice]), [alice], NOW)) == 1


def test_non_overlapping_candidates_like_cronofy_slots_format() -> None:
    alice = person("alice")
    req = request(start=utc(2026, 12, 1), end=utc(2026, 12, 2), minutes=45)
    slots = compute_candidates(req, [alice], overlapping=False)
    assert hhmm(slots)[:3] == ["09:00", "09:45", "10:30"]
    assert all(a.end <= b.start for a, b in pairwise(slots))


# --- day edges and odd offsets (anchors C.6 #2 and #4) ----------------------------------


def test_last_slot_of_a_day_ending_at_midnight_is_kept() -> None:
    alice = person("alice", "Europe/Brussels", hours("20:00", "00:00", ALL_WEEK))
    req = request(start=utc(2026, 12, 1), end=utc(2026, 12, 2), minutes=45, count=20)
    slots = select_slots(req, compute_candidates(req, [alice]), [alice], NOW)
    assert local_starts(slots, "Europe/Brussels")[-1] == "23:15"


def test_night_shift_across_midnight() -> None:
    alice = person("alice", "UTC", hours("22:00", "02:00", ALL_WEEK))
    req = request(start=utc(2026, 12, 1, 21), end=utc(2026, 12, 2, 3), minutes=60, count=20)
    slots = select_slots(req, compute_candidates(req, [alice]), [alice], NOW)
    assert "23:30" in hhmm(slots) and max(s.end for s in slots) == utc(2026, 12, 2, 2)


def test_half_hour_zone_with_hourly_starts() -> None:
    # cal.com slots.test.ts: Asia/Kolkata 07:30-09:30, 60-minute slots -> one, at 08:00
    alice = person("alice", "Asia/Kolkata", hours("07:30", "09:30", ALL_WEEK))
    req = request(
        start=utc(2026, 12, 1),
        end=utc(2026, 12, 2),
        minutes=60,
        start_interval=timedelta(minutes=60),
        coordinator_tz="Asia/Kolkata",
    )
    slots = select_slots(req, compute_candidates(req, [alice]), [alice], NOW)
    assert local_starts(slots, "Asia/Kolkata") == ["08:00"]


def test_starts_align_to_the_coordinators_wall_clock() -> None:
    # Asia/Kathmandu is UTC+05:45: 30-minute starts fall on :00/:30 there
    alice = person("alice", "Asia/Kathmandu", hours("09:00", "11:00", ALL_WEEK))
    req = request(
        start=utc(2026, 12, 1),
        end=utc(2026, 12, 2),
        minutes=60,
        start_interval=timedelta(minutes=30),
        coordinator_tz="Asia/Kathmandu",
        count=10,
    )
    candidates = compute_candidates(req, [alice])
    assert local_starts(candidates, "Asia/Kathmandu") == ["09:00", "09:30", "10:00"]
