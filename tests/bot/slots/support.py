"""Small builders shared by the slot tests (fixed dates in 2026/2027, never the clock)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.slots import Interval, Interviewer, Slot, SlotRequest, WorkingHours

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
SYDNEY = "Australia/Sydney"
LORD_HOWE = "Australia/Lord_Howe"

ALL_WEEK = range(7)


def utc(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


def wall(tz: str, y: int, m: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:
    """A local wall time as a UTC instant (fold picks the occurrence of a repeated time)."""
    return datetime(y, m, d, h, mi, fold=fold, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def hours(start: str, end: str, weekdays: Iterable[int] = range(5)) -> WorkingHours:
    return WorkingHours.weekly(time.fromisoformat(start), time.fromisoformat(end), weekdays)


def person(
    key: str,
    tz: str = "UTC",
    working: WorkingHours | None = None,
    country: str | None = None,
    subdivision: str | None = None,
    busy: Sequence[tuple[datetime, datetime]] = (),
) -> Interviewer:
    return Interviewer(
        key=key,
        tz=tz,
        working_hours=working or WorkingHours(),
        country=country,
        subdivision=subdivision,
        busy=tuple(Interval(s, e) for s, e in busy),
    )


def request(
    required: Sequence[str] = ("alice",),
    start: datetime = utc(2026, 11, 30),
    end: datetime | None = None,
    minutes: int = 45,
    **kwargs: Any,
) -> SlotRequest:
    kwargs.setdefault("min_notice", timedelta(0))
    kwargs.setdefault("buffer_after", timedelta(0))
    return SlotRequest(
        duration=timedelta(minutes=minutes),
        required=tuple(required),
        window=Interval(start, end or start + timedelta(days=5)),
        **kwargs,
    )


def local_starts(slots: Iterable[Slot], tz: str) -> list[str]:
    zone = ZoneInfo(tz)
    return [s.start.astimezone(zone).strftime("%H:%M") for s in slots]


def local_days(slots: Iterable[Slot], tz: str) -> list[date]:
    zone = ZoneInfo(tz)
    return [s.start.astimezone(zone).date() for s in slots]


def every(
    start: datetime, end: datetime, step_minutes: int, minutes: int, who: Sequence[str] = ()
) -> list[Slot]:
    """Cronofy-shaped candidates: a slot every ``step_minutes`` between start and end."""
    out = []
    t = start
    while t + timedelta(minutes=minutes) <= end:
        out.append(Slot(t, t + timedelta(minutes=minutes), tuple(who)))
        t += timedelta(minutes=step_minutes)
    return out
