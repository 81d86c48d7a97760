"""Types and validation: every bad input is a SlotRequestError naming its field."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.slots import Interval, Interviewer, Slot, SlotRequest, SlotRequestError, WorkingHours

from .support import utc

WINDOW = Interval(utc(2026, 11, 30), utc(2026, 12, 5))
NOW = utc(2026, 11, 27, 9)


def make(**overrides: Any) -> SlotRequest:
    fields: dict[str, Any] = {
        "duration": timedelta(minutes=45),
        "required": ("alice", "bob"),
        "window": WINDOW,
        "coordinator_tz": "Europe/London",
    }
    fields.update(overrides)
    return SlotRequest(**fields)


def test_defaults() -> None:
    req = make()
    assert req.min_notice == timedelta(hours=24)
    assert req.buffer_before == timedelta(0)
    assert req.buffer_after == timedelta(minutes=10)
    assert req.count == 5
    assert req.start_interval == timedelta(minutes=15)
    assert req.pool == () and req.pool_required == 0
    assert req.validate(NOW) is req


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"required": ()}, "required", "at least one required"),
        ({"required": ("a", "a")}, "required", "twice"),
        ({"duration": timedelta(minutes=10)}, "duration", "between 15 and 240"),
        ({"duration": timedelta(minutes=241)}, "duration", "between 15 and 240"),
        ({"duration": timedelta(minutes=30, seconds=5)}, "duration", "whole number"),
        ({"pool": ("c", "d"), "pool_required": 3}, "pool_required", "only 2 people"),
        ({"pool": ("c",), "pool_required": 2}, "pool_required", "only 1 person"),
        ({"pool": ("c",), "pool_required": 0}, "pool_required", "at least 1"),
        ({"pool_required": -1}, "pool_required", "negative"),
        ({"pool": ("alice",), "pool_required": 1}, "pool", "both required and in the pool"),
        ({"window": Interval(utc(2026, 1, 1), utc(2026, 3, 1))}, "window", "8 weeks"),
        ({"window": Interval(utc(2026, 1, 1), utc(2026, 1, 1, 0, 30))}, "window", "shorter"),
        ({"window": Interval(utc(2026, 1, 1), utc(2026, 1, 1))}, "window", "empty"),
        ({"coordinator_tz": "Mars/Olympus"}, "coordinator_tz", "unknown time zone"),
        ({"coordinator_tz": "../etc/passwd"}, "coordinator_tz", "unknown time zone"),
        ({"start_interval": timedelta(minutes=7)}, "start_interval", "15 or 30"),
        ({"count": 0}, "count", "between 1 and"),
        ({"buffer_after": timedelta(minutes=-5)}, "buffer_after", "between 0 and 240"),
        ({"min_notice": timedelta(hours=-1)}, "min_notice", "negative"),
    ],
)
def test_invalid_requests(overrides: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(SlotRequestError) as caught:
        make(**overrides)
    assert caught.value.field == field
    assert fragment in caught.value.message
    assert caught.value.errors[field] == caught.value.message


def test_all_problems_are_collected_per_field() -> None:
    with pytest.raises(SlotRequestError) as caught:
        make(required=(), duration=timedelta(minutes=5), coordinator_tz="Nowhere/Land")
    assert set(caught.value.errors) == {"required", "duration", "coordinator_tz"}


def test_window_wholly_in_the_past() -> None:
    req = make(window=Interval(utc(2026, 11, 1), utc(2026, 11, 6)))
    with pytest.raises(SlotRequestError, match="in the past") as caught:
        req.validate(NOW)
    assert caught.value.field == "window"


def test_window_eaten_by_minimum_notice() -> None:
    req = make(window=Interval(utc(2026, 11, 27, 10), utc(2026, 11, 28, 9)))
    with pytest.raises(SlotRequestError, match="minimum notice"):
        req.validate(NOW)
    make(window=req.window, min_notice=timedelta(hours=1)).validate(NOW)


def test_window_exactly_eight_weeks_is_allowed() -> None:
    make(window=Interval(utc(2027, 1, 4), utc(2027, 3, 1)))


def test_interviewer_validation() -> None:
    with pytest.raises(SlotRequestError) as caught:
        Interviewer("zed", "Europe/Londinium")
    assert caught.value.field == "tz"
    with pytest.raises(SlotRequestError, match="no public-holiday data"):
        Interviewer("zed", "UTC", country="XX")
    with pytest.raises(SlotRequestError, match="no subdivision"):
        Interviewer("zed", "UTC", country="GB", subdivision="ZZZ")
    with pytest.raises(SlotRequestError, match="needs a country"):
        Interviewer("zed", "UTC", subdivision="ENG")
    person = Interviewer("zed", "Europe/London", country="gb", subdivision="eng")
    assert (person.country, person.subdivision) == ("GB", "ENG")


def test_default_working_hours_are_weekdays_0900_1730() -> None:
    wh = WorkingHours()
    assert wh.ranges(0) == ((time(9), time(17, 30)),)
    assert wh.ranges(4) == ((time(9), time(17, 30)),)
    assert wh.ranges(5) == () and wh.ranges(6) == ()
    assert WorkingHours.from_mapping({"mon": [("09:00", "12:00"), ("13:00", "17:30")]}).ranges(
        0
    ) == ((time(9), time(12)), (time(13), time(17, 30)))
    with pytest.raises(ValueError, match="7 weekdays"):
        WorkingHours(((),))


def test_instants_are_normalised_to_utc_and_must_be_aware() -> None:
    ny = ZoneInfo("America/New_York")
    interval = Interval(datetime(2026, 6, 1, 9, tzinfo=ny), datetime(2026, 6, 1, 10, tzinfo=ny))
    assert interval.start == utc(2026, 6, 1, 13)
    assert interval.start.tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        Interval(datetime(2026, 6, 1, 9), datetime(2026, 6, 1, 10))
    with pytest.raises(ValueError, match="before it starts"):
        Interval(utc(2026, 6, 2), utc(2026, 6, 1))


def test_a_slot_at_a_non_existent_wall_time_cannot_be_built() -> None:
    # 02:30 on 2026-03-08 does not exist in New York: clocks jump from 02:00 to 03:00.
    ny = ZoneInfo("America/New_York")
    with pytest.raises(ValueError, match="does not exist in America/New_York"):
        Slot(datetime(2026, 3, 8, 2, 30, tzinfo=ny), datetime(2026, 3, 8, 3, 15, tzinfo=ny))
