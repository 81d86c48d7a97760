"""The sandbox's availability engine: which slots a :class:`Query` finds, given busy time.

Pure (no aiohttp, no state), so the rules can be tested and property-checked directly.

Model, per reference §5.2/§5.3:

* Candidate starts are ``period.start + k · start_interval`` while the slot fits in the
  period; overlapping periods were merged, so a start is never offered twice.
* A member is free for ``[start, end)`` when the slot lies inside one of their own
  ``available_periods`` (if they sent any) and ``[start - buffer.before, end +
  buffer.after)`` overlaps none of their blocking events. Buffers may reach outside the
  query periods: they only keep other meetings away.
* A group holds when at least ``required`` of its members are free ("all" = every one);
  the query holds when every group does. ``participants`` lists every free member of
  every group, as in Cronofy's example (two of three pool members can be named for a
  ``required: 1`` group).
* ``overlapping_slots``: every holding candidate. ``slots``: the earliest holding
  candidate, then the next holding one that starts at or after its end, and so on.
  ``periods``: runs of overlapping holding candidates, joined while the members free for
  the whole run still satisfy every group; participants are those members.
* At most ``max_results`` items, earliest first.

All of time is treated as available unless busy: calbot applies working hours itself
(it sends them as periods), so Cronofy's "managed availability" rules are not modelled.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from integrations.cronofy.sandbox.availability_query import Member, Query, Span, merge


@dataclass(frozen=True)
class Found:
    start: datetime
    end: datetime
    participants: tuple[str, ...]


class Timeline:
    """One member's time, ready for many cheap "free for this slot?" questions."""

    def __init__(
        self,
        busy: Sequence[Span],
        *,
        before: timedelta,
        after: timedelta,
        available: Sequence[Span] | None = None,
    ) -> None:
        # [a - before, b + after) overlaps busy [s, e)  ⇔  [a, b) overlaps [s - after,
        # e + before): widen each busy span once instead of every slot.
        self._blocked = merge([(s - after, e + before) for s, e in busy])
        self._blocked_starts = [s for s, _ in self._blocked]
        self._available = merge(list(available)) if available is not None else None
        self._available_starts = [s for s, _ in self._available or ()]

    def free(self, start: datetime, end: datetime) -> bool:
        if self._available is not None:
            i = bisect_right(self._available_starts, start) - 1
            if i < 0 or self._available[i][1] < end:
                return False
        i = bisect_right(self._blocked_starts, start) - 1
        if i >= 0 and self._blocked[i][1] > start:
            return False
        return i + 1 >= len(self._blocked) or self._blocked[i + 1][0] >= end


def _candidate_starts(query: Query) -> list[datetime]:
    starts: list[datetime] = []
    for period_start, period_end in query.periods:
        start = period_start
        while start + query.duration <= period_end:
            starts.append(start)
            start += query.start_interval
    return sorted(set(starts))


def find(query: Query, busy: Mapping[str, Sequence[Span]]) -> list[Found]:
    """Every holding candidate (the ``overlapping_slots`` answer, before ``max_results``).

    ``busy`` maps each sub of the query to its blocking spans (a member's ``calendar_ids``
    filter is the caller's job, as it knows the calendars).
    """
    lines: dict[Member, Timeline] = {
        member: Timeline(
            busy.get(member.sub, ()),
            before=query.buffer_before,
            after=query.buffer_after,
            available=member.available,
        )
        for group in query.groups
        for member in group.members
    }
    found: list[Found] = []
    for start in _candidate_starts(query):
        end = start + query.duration
        free: dict[str, None] = {}
        for group in query.groups:
            members = [m for m in group.members if lines[m].free(start, end)]
            if len(members) < group.required:
                break
            free.update(dict.fromkeys(m.sub for m in members))
        else:
            found.append(Found(start, end, tuple(free)))
    return found


def _holds(query: Query, free: Sequence[str]) -> bool:
    present = set(free)
    return all(
        sum(m.sub in present for m in group.members) >= group.required for group in query.groups
    )


def shape(query: Query, found: Sequence[Found]) -> list[Found]:
    """The candidates in the query's ``response_format``, capped at ``max_results``."""
    if query.response_format == "slots":
        out: list[Found] = []
        for item in found:
            if not out or item.start >= out[-1].end:
                out.append(item)
    elif query.response_format == "periods":
        out = []
        for item in found:
            last = out[-1] if out else None
            if last and item.start <= last.end:
                # Joined only while someone from each group is free for the whole run,
                # so the period's participants are free from its start to its end.
                both = tuple(p for p in last.participants if p in item.participants)
                if _holds(query, both):
                    out[-1] = Found(last.start, max(last.end, item.end), both)
                    continue
            out.append(item)
    else:
        out = list(found)
    return out[: query.max_results]
