"""Whose public holidays apply to an interviewer: their own time zone's country."""

from __future__ import annotations

import pytest

from bot.slots.hours import holiday_country_for_zone


@pytest.mark.parametrize(
    ("tz", "country"),
    [
        ("Europe/London", "GB"),
        ("America/New_York", "US"),
        ("Australia/Sydney", "AU"),
        ("Europe/Paris", "FR"),
        ("UTC", None),
        ("Not/AZone", None),
    ],
)
def test_country_from_the_tz_database(tz: str, country: str | None) -> None:
    assert holiday_country_for_zone(tz) == country
