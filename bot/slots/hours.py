"""Working hours in each interviewer's own zone, minus their public holidays, as UTC spans."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

from bot.slots.intervals import Span, merge
from bot.slots.model import Interviewer, WorkingHours
from bot.slots.tz import get_zone, resolve_wall_time

__all__ = ["holiday_dates", "is_holiday", "working_periods"]

_DAY = timedelta(days=1)


@lru_cache(maxsize=256)
def holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Public holidays (including "observed" substitute days) for one country/year.

    Cached per (country, subdivision, year): building a ``holidays`` calendar costs
    milliseconds, and a proposal asks the same few questions for every slot.
    """
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(calendar.keys())


def is_holiday(interviewer: Interviewer, day: date) -> bool:
    if interviewer.country is None:
        return False
    return day in holiday_dates(interviewer.country, interviewer.subdivision, day.year)


def working_periods(interviewer: Interviewer, start: datetime, end: datetime) -> list[Span]:
    """The interviewer's working time overlapping [start, end), as merged UTC spans.

    Built day by day in the interviewer's zone from local wall-clock ranges; each edge is
    turned into an instant with fold-aware resolution (a DST gap edge maps to the change
    instant, a repeated edge widens the range). A range is skipped when the local date it
    starts on is a public holiday for the interviewer. Spans are not clipped to
    [start, end): callers compare slots against them.
    """
    return list(
        _working_periods(
            interviewer.tz,
            interviewer.working_hours,
            interviewer.country,
            interviewer.subdivision,
            start,
            end,
        )
    )


@lru_cache(maxsize=4096)
def _working_periods(
    tz: str,
    hours: WorkingHours,
    country: str | None,
    subdivision: str | None,
    start: datetime,
    end: datetime,
) -> tuple[Span, ...]:
    zone = get_zone(tz)
    first = start.astimezone(zone).date() - _DAY  # a night shift from the day before
    last = end.astimezone(zone).date()
    spans: list[Span] = []
    day = first
    while day <= last:
        ranges = hours.ranges(day.weekday())
        if ranges and not (
            country is not None and day in holiday_dates(country, subdivision, day.year)
        ):
            for range_start, range_end in ranges:
                begin = resolve_wall_time(datetime.combine(day, range_start), zone, edge="start")
                end_day = day if range_end > range_start else day + _DAY
                finish = resolve_wall_time(datetime.combine(end_day, range_end), zone, edge="end")
                if begin < finish and finish > start and begin < end:
                    spans.append((begin, finish))
        day += _DAY
    return tuple(merge(spans))


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """IANA zone → ISO 3166 country, from the tz database's own zone.tab (tzdata)."""
    from importlib.resources import files

    table: dict[str, str] = {}
    text = files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) >= 3:
                table[parts[2]] = parts[0]
    return table


def holiday_country_for_zone(tz: str) -> str | None:
    """The country whose public holidays apply to someone in `tz`, when the holidays
    package knows it (Europe/London → GB, America/New_York → US); otherwise None."""
    country = _zone_countries().get(tz)
    if country is None:
        return None
    return country if country in holidays.list_supported_countries() else None
