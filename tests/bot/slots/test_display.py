"""A slot as each reader sees it, in their own zone."""

from __future__ import annotations

from bot.slots import Interval, Slot, format_range, format_slot

from .support import LONDON, NEW_YORK, utc


def test_reader_zone_and_coordinator_context() -> None:
    slot = Slot(utc(2026, 12, 1, 14), utc(2026, 12, 1, 14, 45))
    label = format_slot(slot, LONDON, NEW_YORK)
    assert label.text == "Tue 1 Dec, 14:00–14:45 (Europe/London)"
    assert label.context == "Tue 1 Dec, 09:00–09:45 (America/New_York)"
    assert format_slot(slot, LONDON, LONDON).context is None
    assert format_slot(slot, LONDON).context is None


def test_summer_time_offsets() -> None:
    slot = Interval(utc(2026, 6, 29, 13), utc(2026, 6, 29, 14))
    assert format_slot(slot, LONDON).text == "Mon 29 Jun, 14:00–15:00 (Europe/London)"
    assert format_slot(slot, "Asia/Kathmandu").text == "Mon 29 Jun, 18:45–19:45 (Asia/Kathmandu)"


def test_slot_spanning_local_midnight() -> None:
    start, end = utc(2026, 12, 1, 14, 30), utc(2026, 12, 1, 15, 15)
    assert (
        format_range(start, end, "Asia/Tokyo") == "Tue 1 Dec, 23:30 – Wed 2 Dec, 00:15 (Asia/Tokyo)"
    )
    # the reader in Auckland (+13) sees it entirely on the next day
    assert (
        format_range(start, end, "Pacific/Auckland") == "Wed 2 Dec, 03:30–04:15 (Pacific/Auckland)"
    )


def test_slot_ending_exactly_at_midnight_keeps_the_short_form() -> None:
    assert (
        format_range(utc(2026, 12, 1, 23, 15), utc(2026, 12, 2), "UTC")
        == "Tue 1 Dec, 23:15–00:00 (UTC)"
    )


def test_date_line_reader_sees_another_weekday_than_the_coordinator() -> None:
    slot = Slot(utc(2026, 12, 4, 20), utc(2026, 12, 4, 20, 45))
    label = format_slot(slot, "Australia/Sydney", LONDON)
    assert label.text == "Sat 5 Dec, 07:00–07:45 (Australia/Sydney)"
    assert label.context == "Fri 4 Dec, 20:00–20:45 (Europe/London)"
