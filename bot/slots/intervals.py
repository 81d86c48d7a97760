"""A small sorted-sweep interval algebra over (start, end) pairs of comparable values.

Inputs need not be sorted; outputs are sorted, merged, and never contain empty pieces.
Touching intervals ([a, b) and [b, c)) are merged: back-to-back working ranges are
continuous working time.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime

Span = tuple[datetime, datetime]

__all__ = ["Span", "contains", "intersect", "intersect_all", "merge", "overlaps_any", "subtract"]


def merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """Intersection of two *merged* span lists."""
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def intersect_all(groups: Iterable[Sequence[Span]]) -> list[Span]:
    result: list[Span] | None = None
    for group in groups:
        result = list(group) if result is None else intersect(result, group)
        if not result:
            return []
    return result or []


def subtract(source: Sequence[Span], removed: Sequence[Span]) -> list[Span]:
    """``source`` minus ``removed``; both merged."""
    out: list[Span] = []
    j = 0
    for start, end in source:
        cursor = start
        while j < len(removed) and removed[j][1] <= cursor:
            j += 1
        k = j
        while k < len(removed) and removed[k][0] < end:
            r_start, r_end = removed[k]
            if r_start > cursor:
                out.append((cursor, r_start))
            cursor = max(cursor, r_end)
            if cursor >= end:
                break
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def contains(
    spans: Sequence[Span], starts: Sequence[datetime], start: datetime, end: datetime
) -> bool:
    """Whether one span of the merged ``spans`` (with ``starts`` = their starts) covers
    [start, end]."""
    i = bisect_right(starts, start) - 1
    return i >= 0 and spans[i][1] >= end


def overlaps_any(
    spans: Sequence[Span], starts: Sequence[datetime], start: datetime, end: datetime
) -> bool:
    """Whether [start, end) overlaps any of the merged ``spans``."""
    i = bisect_right(starts, start) - 1
    if i >= 0 and spans[i][1] > start:
        return True
    return i + 1 < len(spans) and spans[i + 1][0] < end
