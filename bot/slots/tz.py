"""Time-zone helpers with explicit DST semantics (stdlib ``zoneinfo`` only).

Rule of the package: every instant is an aware UTC ``datetime``; local wall-clock time only
appears while building working-hour windows and when rendering. Python's ``+``/``-`` on a
zone-aware datetime is wall-clock arithmetic that ignores DST, so nothing here adds a
``timedelta`` to a local time and trusts the result: local wall times are turned into
instants with :func:`resolve_wall_time`, which looks at both ``fold`` values (PEP 495).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "WallTime",
    "dst_problem",
    "get_zone",
    "is_valid_zone",
    "resolve_wall_time",
    "to_utc",
    "transitions",
    "wall_time_kind",
]

_STEP = timedelta(hours=3)  # no zone has ever had two offset changes within 3 hours
_SECOND = timedelta(seconds=1)


class WallTime(Enum):
    """How a local wall-clock time maps onto instants in a zone."""

    NORMAL = "normal"  # exactly one instant
    GAP = "gap"  # none: skipped by a spring-forward change (e.g. 02:30 on US DST start)
    FOLD = "fold"  # two: repeated by a fall-back change (e.g. 01:30 on US DST end)


@lru_cache(maxsize=512)
def get_zone(key: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA key; raises ``ValueError`` for an unknown key."""
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {key!r}") from exc


def zone_or_utc(key: str | None) -> ZoneInfo:
    """A reader's zone for display; UTC when they have none or it is unknown here."""
    try:
        return get_zone(key) if key else get_zone("UTC")
    except ValueError:
        return get_zone("UTC")


def is_valid_zone(key: object) -> bool:
    if not isinstance(key, str) or not key:
        return False
    try:
        get_zone(key)
    except ValueError:
        return False
    return True


def wall_time_kind(naive: datetime, zone: ZoneInfo) -> WallTime:
    """Classify a naive local time with zoneinfo's fold semantics.

    ``fold=0`` uses the offset before a transition and ``fold=1`` the offset after it; if
    both give the same instant the wall time is ordinary. If they differ, the wall time is
    repeated (fold=0 is the earlier instant) or skipped (fold=0 is the *later* instant,
    because the pre-transition offset is the smaller one).
    """
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return WallTime.NORMAL
    return WallTime.FOLD if first < second else WallTime.GAP


def resolve_wall_time(naive: datetime, zone: ZoneInfo, *, edge: str = "start") -> datetime:
    """The UTC instant at which a local wall time (a working-hours edge) happens.

    - ordinary time: its one instant;
    - skipped time (spring forward): the transition instant, i.e. the first instant whose
      wall time is at or after the requested one (on US DST start, hours "from 02:30"
      begin at 03:00 EDT and hours "until 02:30" end at that same instant, the last
      moment of 01:59 EST);
    - repeated time (fall back): the earlier instant for a ``start`` edge and the later one
      for an ``end`` edge, so the window is never narrower than the wall-clock reading.
      (Slots touching the repeated hour are dropped by the DST rule anyway.)
    """
    if naive.tzinfo is not None:
        raise ValueError("resolve_wall_time expects a naive local time")
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return first
    if first < second:  # repeated
        return first if edge == "start" else second
    return _first_instant_with_offset(second, first, zone)


def _first_instant_with_offset(lo: datetime, hi: datetime, zone: ZoneInfo) -> datetime:
    """Bisect (lo, hi] for the instant where ``zone``'s offset changes to that at ``hi``."""
    target = hi.astimezone(zone).utcoffset()
    lo = lo.replace(microsecond=0)  # transitions happen on whole seconds
    if hi.microsecond:
        hi = hi.replace(microsecond=0) + _SECOND
    while hi - lo > _SECOND:
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + _SECOND
        if mid.astimezone(zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi


def to_utc(value: datetime, what: str = "datetime") -> datetime:
    """Normalise an aware datetime to UTC; refuse naive and non-existent local times.

    A ``ZoneInfo``-aware value whose wall time falls in a DST gap (e.g. 02:30 on
    2026-03-08 in America/New_York) names no real instant, so it is rejected rather than
    silently shifted by an hour. A repeated wall time is resolved by its ``fold``.
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (got naive {value.isoformat()})")
    tz = value.tzinfo
    if isinstance(tz, ZoneInfo):
        naive = value.replace(tzinfo=None)
        if wall_time_kind(naive, tz) is WallTime.GAP:
            raise ValueError(
                f"{what} {naive.isoformat(timespec='minutes')} does not exist in {tz.key} "
                "(skipped by a DST change)"
            )
    return value.astimezone(UTC)


def dst_problem(start: datetime, end: datetime, zone: ZoneInfo) -> str | None:
    """Why the interval [start, end) is unsafe to show in ``zone``, or ``None``.

    Unsafe means: the UTC offset differs between start and end (a DST change falls inside
    the slot or exactly at its end, so the local end would read e.g. 01:15–03:00 for 45
    minutes), or the local wall time of the start or of the end is ambiguous (it occurs
    twice in a fall-back hour), or does not exist. Detection uses fold semantics: a local
    time is ambiguous when flipping ``fold`` changes its UTC offset.
    """
    local_start = start.astimezone(zone)
    local_end = end.astimezone(zone)
    if local_start.utcoffset() != local_end.utcoffset():
        return f"crosses a DST change in {zone.key}"
    for label, local in (("start", local_start), ("end", local_end)):
        kind = wall_time_kind(local.replace(tzinfo=None), zone)
        if kind is WallTime.FOLD:
            return f"local {label} {local:%H:%M} is ambiguous in {zone.key} (DST fall-back)"
        if kind is WallTime.GAP:  # pragma: no cover - an instant always has a real wall time
            return f"local {label} {local:%H:%M} does not exist in {zone.key}"
    return None


@lru_cache(maxsize=1024)
def transitions(key: str, start: datetime, end: datetime) -> tuple[tuple[datetime, int], ...]:
    """UTC offset changes of zone ``key`` within [start, end]: (instant, new - old seconds).

    Found by sampling the offset every 3 hours and bisecting each change to the second.
    Used to skip the per-slot fold check for slots nowhere near a transition.
    """
    zone = get_zone(key)
    found: list[tuple[datetime, int]] = []
    prev_t = start
    prev_off = start.astimezone(zone).utcoffset()
    t = start
    while t < end:
        t = min(t + _STEP, end)
        off = t.astimezone(zone).utcoffset()
        if off != prev_off and off is not None and prev_off is not None:
            instant = _first_instant_with_offset(prev_t, t, zone)
            found.append((instant, int((off - prev_off).total_seconds())))
        prev_t, prev_off = t, off
    return tuple(found)
