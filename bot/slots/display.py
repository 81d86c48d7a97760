"""Slots as text for a reader in their own zone (English, locale-independent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

from bot.slots.tz import get_zone, to_utc

__all__ = ["SlotLabel", "format_range", "format_slot"]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class SlotLabel:
    """``text`` for the reader; ``context`` (small print) in the coordinator's zone when
    that zone is a different one, else ``None``."""

    text: str
    context: str | None = None


def _day(local: datetime) -> str:
    return f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}"


def format_range(start: datetime, end: datetime, tz: str) -> str:
    """ "Tue 1 Dec, 14:00–14:45 (Europe/London)".

    A slot that ends on the next local day reads "Tue 1 Dec, 23:30 – Wed 2 Dec, 00:15
    (…)"; one ending exactly at midnight keeps the short form ("23:15–00:00").
    """
    zone = get_zone(tz)
    local_start = to_utc(start, "start").astimezone(zone)
    local_end = to_utc(end, "end").astimezone(zone)
    same_day = local_end.date() == local_start.date() or (
        local_end.time() == time(0) and local_end.date() - local_start.date() == timedelta(days=1)
    )
    if same_day:
        return f"{_day(local_start)}, {local_start:%H:%M}–{local_end:%H:%M} ({tz})"
    return f"{_day(local_start)}, {local_start:%H:%M} – {_day(local_end)}, {local_end:%H:%M} ({tz})"


class _Span(Protocol):
    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...


def format_slot(slot: _Span, reader_tz: str, coordinator_tz: str | None = None) -> SlotLabel:
    """The slot in the reader's zone, plus the coordinator's zone when it differs."""
    text = format_range(slot.start, slot.end, reader_tz)
    if coordinator_tz is None or coordinator_tz == reader_tz:
        return SlotLabel(text)
    return SlotLabel(text, format_range(slot.start, slot.end, coordinator_tz))
