"""Value types of the slot finder: frozen, validated, UTC inside.

All instants are aware ``datetime`` objects normalised to UTC on construction. Local time
exists only in :class:`WorkingHours` (naive wall-clock ``time`` ranges interpreted in each
interviewer's own IANA zone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import holidays

from bot.errors import CalbotError
from bot.slots.tz import is_valid_zone, to_utc

__all__ = [
    "DEFAULT_WORKING_HOURS",
    "MAX_DURATION",
    "MAX_WINDOW",
    "MIN_DURATION",
    "START_INTERVALS",
    "Interval",
    "Interviewer",
    "Slot",
    "SlotRequest",
    "SlotRequestError",
    "WorkingHours",
]

MIN_DURATION = timedelta(minutes=15)
MAX_DURATION = timedelta(minutes=240)
MAX_WINDOW = timedelta(weeks=8)
MAX_COUNT = 20
#: Allowed ``start_interval`` values (minutes). 15 and 30 are what the form offers; the
#: other divisors of an hour are accepted for API callers and tests.
START_INTERVALS = (5, 10, 15, 20, 30, 60)
_MINUTE = timedelta(minutes=1)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SlotRequestError(CalbotError, ValueError):
    """A proposal that cannot be searched, with the form field to blame.

    ``field`` / ``message`` describe the first problem found; ``errors`` maps every
    offending field to its first message, ready for a Slack modal's
    ``response_action: errors`` or a re-shown Teams card.
    """

    def __init__(self, field: str, message: str, errors: Mapping[str, str] | None = None) -> None:
        self.field = field
        self.message = message
        self.errors: dict[str, str] = dict(errors) if errors else {field: message}
        super().__init__(f"{field}: {message}")


def _raise_first(problems: list[tuple[str, str]]) -> None:
    if problems:
        errors: dict[str, str] = {}
        for name, message in problems:
            errors.setdefault(name, message)
        raise SlotRequestError(problems[0][0], problems[0][1], errors)


def _minutes(value: timedelta) -> float:
    return value / _MINUTE


@dataclass(frozen=True, slots=True)
class Interval:
    """[start, end) between two instants; both normalised to UTC, ``start <= end``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = to_utc(self.start, "interval start")
        end = to_utc(self.end, "interval end")
        if end < start:
            raise ValueError(f"interval ends ({end.isoformat()}) before it starts")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end


TimeRange = tuple[time, time]


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Local wall-clock working ranges per weekday (index 0 = Monday … 6 = Sunday).

    A range ``(start, end)`` begins on its weekday at ``start``; if ``end <= start`` it ends
    on the next day (so ``(22:00, 02:00)`` is a night shift and ``(09:00, 00:00)`` runs to
    midnight). Times are naive and read in the interviewer's own zone, day by day, so
    "09:00" stays 09:00 local across DST changes. Default: Mon–Fri 09:00–17:30.
    """

    days: tuple[tuple[TimeRange, ...], ...] = ()

    def __post_init__(self) -> None:
        days = self.days
        if not days:
            days = tuple(((time(9), time(17, 30)),) if d < 5 else () for d in range(7))
        if len(days) != 7:
            raise ValueError("working hours need exactly 7 weekdays (Monday first)")
        clean: list[tuple[TimeRange, ...]] = []
        for index, ranges in enumerate(days):
            day: list[TimeRange] = []
            for item in ranges:
                start, end = item
                if not isinstance(start, time) or not isinstance(end, time):
                    raise TypeError(f"{_WEEKDAYS[index]}: working hours must be time pairs")
                if start.tzinfo is not None or end.tzinfo is not None:
                    raise ValueError(f"{_WEEKDAYS[index]}: working hours are naive local times")
                if start == end and start != time(0):
                    raise ValueError(f"{_WEEKDAYS[index]}: empty working range at {start}")
                day.append((start, end))
            clean.append(tuple(sorted(day)))
        object.__setattr__(self, "days", tuple(clean))

    @classmethod
    def weekly(cls, start: time, end: time, weekdays: Iterable[int] = range(5)) -> WorkingHours:
        """The same range on each of ``weekdays`` (0 = Monday)."""
        chosen = set(weekdays)
        return cls(tuple(((start, end),) if d in chosen else () for d in range(7)))

    @classmethod
    def from_mapping(cls, mapping: Mapping[int | str, Sequence[tuple[Any, Any]]]) -> WorkingHours:
        """From ``{"mon": [("09:00", "12:00"), ("13:00", "17:30")], 5: [...]}``.

        Keys are weekday numbers (0 = Monday) or three-letter English names; values are
        ``time`` objects or ``"HH:MM"`` strings. Missing days are days off.
        """
        days: list[list[TimeRange]] = [[] for _ in range(7)]
        for key, ranges in mapping.items():
            index = key if isinstance(key, int) else _WEEKDAYS.index(str(key).lower()[:3])
            if not 0 <= index < 7:
                raise ValueError(f"weekday out of range: {key!r}")
            for start, end in ranges:
                days[index].append((_as_time(start), _as_time(end)))
        return cls(tuple(tuple(d) for d in days))

    def ranges(self, weekday: int) -> tuple[TimeRange, ...]:
        return self.days[weekday]


def _as_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        return time.fromisoformat(value)
    raise TypeError(f"expected a time or 'HH:MM', got {value!r}")


DEFAULT_WORKING_HOURS = WorkingHours()


def _supported_subdivisions(country: str) -> list[str] | None:
    supported = holidays.list_supported_countries(include_aliases=True)
    subdivisions = supported.get(country)
    return None if subdivisions is None else list(subdivisions)


@dataclass(frozen=True, slots=True)
class Interviewer:
    """A person on the panel, as the slot rules see them.

    ``key`` is calbot's own id for the person (the Cronofy ``sub`` is mapped separately);
    ``tz`` their IANA zone; ``country``/``subdivision`` select public holidays (ISO 3166
    codes as the ``holidays`` package knows them, e.g. ``"GB"``/``"ENG"``, ``"US"``/
    ``"CA"``); ``busy`` the periods calbot knows to be busy (from a free/busy re-check).
    """

    key: str
    tz: str
    working_hours: WorkingHours = DEFAULT_WORKING_HOURS
    country: str | None = None
    subdivision: str | None = None
    busy: tuple[Interval, ...] = ()

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        if not isinstance(self.key, str) or not self.key:
            problems.append(("interviewers", "an interviewer needs a non-empty key"))
        if not is_valid_zone(self.tz):
            problems.append(("tz", f"unknown time zone {self.tz!r} for {self.key}"))
        country = self.country.strip().upper() or None if self.country else None
        subdivision = self.subdivision.strip().upper() or None if self.subdivision else None
        if country is not None:
            subdivisions = _supported_subdivisions(country)
            if subdivisions is None:
                problems.append(("country", f"no public-holiday data for country {country!r}"))
            elif subdivision is not None and subdivision not in subdivisions:
                problems.append(
                    ("subdivision", f"{country} has no subdivision {self.subdivision!r}")
                )
        elif subdivision is not None:
            problems.append(("subdivision", "a subdivision needs a country"))
        _raise_first(problems)
        object.__setattr__(self, "country", country)
        object.__setattr__(self, "subdivision", subdivision)
        object.__setattr__(self, "busy", tuple(self.busy))


@dataclass(frozen=True, slots=True)
class Slot:
    """A proposed meeting time and who would attend.

    ``participants``: required interviewers first (request order), then the pool members
    chosen for this slot. ``alternates``: other pool members who are also free, for
    "Replace interviewer". Candidates straight from Cronofy list everyone Cronofy reported
    free in ``participants`` and have no alternates.
    """

    start: datetime
    end: datetime
    participants: tuple[str, ...] = ()
    alternates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        start = to_utc(self.start, "slot start")
        end = to_utc(self.end, "slot end")
        if end <= start:
            raise ValueError("a slot must end after it starts")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "participants", tuple(self.participants))
        object.__setattr__(self, "alternates", tuple(self.alternates))

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


@dataclass(frozen=True, slots=True, kw_only=True)
class SlotRequest:
    """What the coordinator asked for. Constructed only when valid.

    Checks that need no clock run on construction (all problems are collected into
    ``SlotRequestError.errors``); :meth:`validate` adds the ones relative to ``now``
    (window in the past, nothing left after the minimum notice).
    """

    duration: timedelta
    required: tuple[str, ...]
    window: Interval
    pool: tuple[str, ...] = ()
    pool_required: int = 0
    min_notice: timedelta = timedelta(hours=24)
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(minutes=10)
    count: int = 5
    start_interval: timedelta = timedelta(minutes=15)
    coordinator_tz: str = "UTC"

    def __post_init__(self) -> None:
        object.__setattr__(self, "required", tuple(self.required))
        object.__setattr__(self, "pool", tuple(self.pool))
        _raise_first(self.problems())

    def problems(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """Every (field, message) wrong with this request; time-relative ones need ``now``."""
        out: list[tuple[str, str]] = []
        if not self.required:
            out.append(("required", "choose at least one required interviewer"))
        if len(set(self.required)) != len(self.required):
            out.append(("required", "an interviewer is listed twice"))
        if not isinstance(self.duration, timedelta) or not (
            MIN_DURATION <= self.duration <= MAX_DURATION
        ):
            out.append(("duration", "duration must be between 15 and 240 minutes"))
        elif self.duration % _MINUTE:
            out.append(("duration", "duration must be a whole number of minutes"))
        if len(set(self.pool)) != len(self.pool):
            out.append(("pool", "a pool member is listed twice"))
        both = sorted(set(self.required) & set(self.pool))
        if both:
            out.append(("pool", f"{', '.join(both)} cannot be both required and in the pool"))
        if self.pool_required < 0:
            out.append(("pool_required", "the number from the pool cannot be negative"))
        elif self.pool_required > len(self.pool):
            out.append(
                (
                    "pool_required",
                    f"asked for {self.pool_required} of the pool but it has only "
                    f"{len(self.pool)} {'person' if len(self.pool) == 1 else 'people'}",
                )
            )
        elif self.pool and self.pool_required == 0:
            out.append(("pool_required", "say how many of the pool must attend (at least 1)"))
        window = self.window.end - self.window.start
        if window <= timedelta(0):
            out.append(("window", "the search window is empty"))
        elif window > MAX_WINDOW:
            out.append(("window", "the search window can be at most 8 weeks long"))
        elif isinstance(self.duration, timedelta) and window < self.duration:
            out.append(("window", "the search window is shorter than the interview"))
        if self.min_notice < timedelta(0):
            out.append(("min_notice", "minimum notice cannot be negative"))
        for name, value in (
            ("buffer_before", self.buffer_before),
            ("buffer_after", self.buffer_after),
        ):
            if value < timedelta(0) or value > MAX_DURATION:
                out.append((name, "buffers must be between 0 and 240 minutes"))
            elif value % _MINUTE:
                out.append((name, "buffers must be whole minutes"))
        if not 1 <= self.count <= MAX_COUNT:
            out.append(("count", f"offer between 1 and {MAX_COUNT} slots"))
        if _minutes(self.start_interval) not in START_INTERVALS:
            out.append(("start_interval", "slots can start every 15 or 30 minutes"))
        if not is_valid_zone(self.coordinator_tz):
            out.append(("coordinator_tz", f"unknown time zone {self.coordinator_tz!r}"))
        if now is not None:
            now = to_utc(now, "now")
            if self.window.end <= now:
                out.append(("window", "the search window is in the past"))
            elif self.window.end - max(now + self.min_notice, self.window.start) < self.duration:
                out.append(
                    (
                        "window",
                        "no time left in the window after the minimum notice "
                        f"({_minutes(self.min_notice) / 60:g} h)",
                    )
                )
        return out

    def validate(self, now: datetime) -> SlotRequest:
        """Raise :class:`SlotRequestError` unless the request is searchable at ``now``."""
        _raise_first(self.problems(now))
        return self

    def earliest_start(self, now: datetime) -> datetime:
        """Minimum notice is absolute elapsed time (24 h = 86 400 s), not "same wall time
        tomorrow", so it is not shifted by a DST change in between (cal.com #12137)."""
        return max(self.window.start, to_utc(now, "now") + self.min_notice)

    @property
    def participants(self) -> tuple[str, ...]:
        return self.required + self.pool
