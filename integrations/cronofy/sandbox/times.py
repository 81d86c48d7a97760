"""Parsing the time values the sandbox accepts, with the same strictness for every endpoint."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def instant(value: object) -> datetime | None:
    """An ISO-8601 time with ``Z`` or an offset, as UTC; None when it is anything else.

    A time without a zone is refused: Cronofy wants UTC instants, and guessing a zone
    would hide a caller's bug.
    """
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def day(value: object) -> date | None:
    """A ``YYYY-MM-DD`` date (all-day events, free/busy ``from``/``to``)."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def zone(value: object) -> ZoneInfo | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def local_midnight(value: date, tz: ZoneInfo) -> datetime:
    return datetime(value.year, value.month, value.day, tzinfo=tz)
