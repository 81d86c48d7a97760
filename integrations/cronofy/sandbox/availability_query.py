"""Validating a ``POST /v1/availability`` body into a :class:`Query` (reference §5.2).

Bad input raises :class:`Unprocessable`, answered like Cronofy does: 422 with an ``errors``
map (§9) naming every problem found, not only the first.

Cronofy's numeric limits could not be confirmed (§5.4, §13.3). The ones below are the
sandbox's own, chosen so that anything calbot legitimately sends passes (8-week windows,
≤ 50 periods, 15/30-minute intervals, ≤ 512 results) while a runaway query fails loudly
here rather than surprisingly in production. They live in one place so they are easy to
correct once Cronofy's real numbers are known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from integrations.cronofy.sandbox import times
from integrations.cronofy.sandbox.errors import Collector, Unprocessable

Span = tuple[datetime, datetime]

MAX_PERIODS = 50  # bot/slots/cronofy_query.py coarsens to this many
MAX_QUERY_SPAN = timedelta(days=63)  # first start → last end; calbot caps windows at 8 weeks
MAX_GROUPS = 10
MAX_MEMBERS = 50  # over all groups; the benchmark panel has 10
MAX_DURATION_MINUTES = 1440
MAX_BUFFER_MINUTES = 1440
MAX_RESULTS = 512  # also the default (third-party code uses 512; §5.2)
# The commonly seen values (§5.2 ❓); stricter than necessary on purpose.
START_INTERVALS = frozenset({5, 10, 15, 20, 30, 60})
RESPONSE_FORMATS = frozenset({"periods", "slots", "overlapping_slots"})


@dataclass(frozen=True)
class Member:
    sub: str
    # The member's own available_periods (merged), or None: free whenever not busy.
    available: tuple[Span, ...] | None = None
    calendar_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Group:
    members: tuple[Member, ...]
    required: int  # "all" is stored as len(members)


@dataclass(frozen=True)
class Query:
    groups: tuple[Group, ...]
    duration: timedelta
    periods: tuple[Span, ...]
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    start_interval: timedelta = timedelta(minutes=15)
    response_format: str = "periods"
    max_results: int = MAX_RESULTS
    include_member_statuses: bool = False
    subs: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        seen = dict.fromkeys(m.sub for g in self.groups for m in g.members)
        object.__setattr__(self, "subs", tuple(seen))


def merge(spans: list[Span]) -> tuple[Span, ...]:
    """Sorted, with overlapping or touching spans joined."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return tuple(out)


class _Collector(Collector):
    def minutes(self, value: Any, where: str, low: int, high: int) -> int | None:
        """A ``{"minutes": N}`` object with low ≤ N ≤ high."""
        if value is None:
            self.add(where, "required", "required")
            return None
        minutes = value.get("minutes") if isinstance(value, dict) else None
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            self.add(where, "invalid", 'must be {"minutes": <integer>}')
            return None
        if not low <= minutes <= high:
            self.add(where, "out_of_range", f"minutes must be between {low} and {high}")
            return None
        return minutes

    def periods(self, value: Any, where: str) -> list[Span] | None:
        if value is None:
            self.add(where, "required", "required")
            return None
        if not isinstance(value, list) or not value:
            self.add(where, "required", "must be a non-empty array")
            return None
        if len(value) > MAX_PERIODS:
            self.add(where, "too_many", f"at most {MAX_PERIODS} periods")
            return None
        spans: list[Span] = []
        for index, item in enumerate(value):
            item = item if isinstance(item, dict) else {}
            start, end = times.instant(item.get("start")), times.instant(item.get("end"))
            for name, parsed in (("start", start), ("end", end)):
                if parsed is None:
                    self.add(f"{where}[{index}].{name}", "invalid", "must be an ISO-8601 UTC time")
            if start is not None and end is not None:
                if end <= start:
                    self.add(f"{where}[{index}].end", "invalid", "must be after start")
                else:
                    spans.append((start, end))
        if spans and max(e for _, e in spans) - min(s for s, _ in spans) > MAX_QUERY_SPAN:
            self.add(where, "too_long", f"periods must lie within {MAX_QUERY_SPAN.days} days")
            return None
        return spans if len(spans) == len(value) else None


def parse_query(body: Any, known_sub: Callable[[str], bool]) -> Query:
    """The validated query; raises :class:`Unprocessable` with every problem found."""
    c = _Collector()
    if not isinstance(body, dict):
        raise Unprocessable({"body": [{"key": "errors.invalid", "description": "JSON object"}]})

    groups = _groups(c, body.get("participants"), known_sub)
    duration = c.minutes(
        body.get("required_duration"), "required_duration", 1, MAX_DURATION_MINUTES
    )

    if "query_periods" in body and "available_periods" in body:
        c.add("query_periods", "invalid", "send query_periods or available_periods, not both")
        periods = None
    else:
        name = "available_periods" if "available_periods" in body else "query_periods"
        periods = c.periods(body.get(name), name)
    if "query_slots" in body:
        c.add("query_slots", "unsupported", "the sandbox answers query_periods only")

    buffer = body.get("buffer") or {}
    if not isinstance(buffer, dict):
        c.add("buffer", "invalid", "must be an object")
        buffer = {}
    before = after = 0
    for side in ("before", "after"):
        if buffer.get(side) is not None:
            value = c.minutes(buffer[side], f"buffer.{side}", 0, MAX_BUFFER_MINUTES)
            if side == "before":
                before = value or 0
            else:
                after = value or 0

    interval = 15  # Cronofy's documented default is not known; 15 matches calbot's
    if body.get("start_interval") is not None:
        interval = c.minutes(body["start_interval"], "start_interval", 1, 1440) or 0
        if interval and interval not in START_INTERVALS:
            c.add("start_interval", "invalid", f"minutes must be one of {sorted(START_INTERVALS)}")

    response_format = body.get("response_format", "periods")
    if response_format not in RESPONSE_FORMATS:
        c.add("response_format", "invalid", f"must be one of {sorted(RESPONSE_FORMATS)}")

    max_results = body.get("max_results", MAX_RESULTS)
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        c.add("max_results", "invalid", "must be an integer")
    elif not 1 <= max_results <= MAX_RESULTS:
        c.add("max_results", "out_of_range", f"must be between 1 and {MAX_RESULTS}")

    c.raise_if_any()
    assert groups is not None and duration is not None and periods is not None
    return Query(
        groups=tuple(groups),
        duration=timedelta(minutes=duration),
        periods=merge(periods),
        buffer_before=timedelta(minutes=before),
        buffer_after=timedelta(minutes=after),
        start_interval=timedelta(minutes=interval),
        response_format=str(response_format),
        max_results=int(max_results),
        include_member_statuses=bool(body.get("include_member_statuses", False)),
    )


def _groups(c: _Collector, value: Any, known_sub: Callable[[str], bool]) -> list[Group] | None:
    if value is None:
        c.add("participants", "required", "required")
        return None
    if not isinstance(value, list) or not value:
        c.add("participants", "required", "must be a non-empty array of groups")
        return None
    if len(value) > MAX_GROUPS:
        c.add("participants", "too_many", f"at most {MAX_GROUPS} groups")
        return None
    if sum(len(g.get("members") or ()) for g in value if isinstance(g, dict)) > MAX_MEMBERS:
        c.add("participants", "too_many", f"at most {MAX_MEMBERS} members in all")
        return None
    groups: list[Group] = []
    for gi, raw in enumerate(value):
        where = f"participants[{gi}]"
        raw = raw if isinstance(raw, dict) else {}
        members = _members(c, raw.get("members"), where, known_sub)
        required = raw.get("required", "all")
        count: int | None = None
        if required == "all":
            count = len(members) if members else None
        elif isinstance(required, bool) or not isinstance(required, int):
            c.add(f"{where}.required", "invalid", 'must be "all" or an integer')
        elif members is not None and not 1 <= required <= len(members):
            c.add(f"{where}.required", "out_of_range", f"must be between 1 and {len(members)}")
        else:
            count = required
        if members and count is not None:
            groups.append(Group(tuple(members), count))
    return groups if len(groups) == len(value) else None


def _members(
    c: _Collector, value: Any, where: str, known_sub: Callable[[str], bool]
) -> list[Member] | None:
    if not isinstance(value, list) or not value:
        c.add(f"{where}.members", "required", "must be a non-empty array")
        return None
    members: list[Member] = []
    for mi, raw in enumerate(value):
        at = f"{where}.members[{mi}]"
        raw = raw if isinstance(raw, dict) else {}
        sub = raw.get("sub")
        if not isinstance(sub, str) or not sub:
            c.add(f"{at}.sub", "required", "required")
            continue
        if not known_sub(sub):
            c.add(f"{at}.sub", "unknown", "not an account that authorized this application")
            continue
        available = None
        if raw.get("available_periods") is not None:
            spans = c.periods(raw["available_periods"], f"{at}.available_periods")
            if spans is None:
                continue
            available = merge(spans)
        calendar_ids = raw.get("calendar_ids")
        if calendar_ids is not None and not (
            isinstance(calendar_ids, list) and all(isinstance(i, str) for i in calendar_ids)
        ):
            c.add(f"{at}.calendar_ids", "invalid", "must be an array of calendar ids")
            continue
        members.append(
            Member(sub, available, tuple(calendar_ids) if calendar_ids is not None else None)
        )
    return members if len(members) == len(value) else None
