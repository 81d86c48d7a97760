"""Panels across continents and public holidays per person's country."""

from __future__ import annotations

from datetime import date

import pytest

from bot.slots import (
    SlotRequestError,
    build_availability_request,
    compute_candidates,
    format_slot,
    holiday_dates,
    select_slots,
    slot_problems,
    working_periods,
)

from .support import ALL_WEEK, LONDON, NEW_YORK, SYDNEY, hours, local_days, person, request, utc

NOW = utc(2026, 11, 1)
SUBS = {key: f"acc_{key}" for key in ("alice", "bob", "carol", "dan")}


def three_continents() -> list:
    return [
        person("alice", LONDON, hours("08:00", "21:00")),  # GMT: 08:00-21:00Z
        person("bob", NEW_YORK),  # EST: 14:00-22:30Z
        person("carol", SYDNEY, hours("07:00", "17:30")),  # AEDT (+11): 20:00Z-06:30Z
    ]


def test_three_continents_overlap() -> None:
    people = three_continents()
    req = request(
        ["alice", "bob", "carol"],
        start=utc(2026, 11, 30),
        end=utc(2026, 12, 7),
        minutes=45,
        count=8,
        coordinator_tz=LONDON,
    )
    candidates = compute_candidates(req, people)
    # 20:00-21:00Z is Mon-Thu 20:00 London, 15:00 New York and *Tue-Fri* 07:00 Sydney;
    # Friday 20:00Z is Saturday in Sydney, Sunday 20:00Z is Sunday in London/New York.
    assert [(c.start.day, c.start.strftime("%H:%M")) for c in candidates] == [
        (d, t) for d in (30, 1, 2, 3) for t in ("20:00", "20:15")
    ]
    body = build_availability_request(req, people, SUBS, NOW)
    assert body["available_periods"] == [
        {"start": f"2026-{m}-{d:02d}T20:00:00Z", "end": f"2026-{m}-{d:02d}T21:00:00Z"}
        for m, d in (("11", 30), ("12", 1), ("12", 2), ("12", 3))
    ]
    slots = select_slots(req, candidates, people, NOW)
    assert len(slots) == 8 and len(set(local_days(slots, LONDON))) == 4
    first = slots[0]
    assert format_slot(first, SYDNEY, LONDON).text == "Tue 1 Dec, 07:00–07:45 (Australia/Sydney)"
    assert format_slot(first, NEW_YORK, LONDON).text == "Mon 30 Nov, 15:00–15:45 (America/New_York)"
    assert format_slot(first, SYDNEY, LONDON).context == "Mon 30 Nov, 20:00–20:45 (Europe/London)"
    for slot in slots:
        assert slot_problems(req, slot, people, NOW) == []


def test_three_continents_with_default_hours_have_no_overlap() -> None:
    people = [person("alice", LONDON), person("bob", NEW_YORK), person("carol", SYDNEY)]
    req = request(["alice", "bob", "carol"], start=utc(2026, 11, 30), end=utc(2026, 12, 7))
    assert compute_candidates(req, people) == []
    with pytest.raises(SlotRequestError, match="no 45-minute stretch") as caught:
        build_availability_request(req, people, SUBS, NOW)
    assert caught.value.field == "required"


def test_holiday_sets_are_cached_per_country_subdivision_year() -> None:
    holiday_dates.cache_clear()
    assert date(2026, 12, 25) in holiday_dates("GB", "ENG", 2026)
    assert date(2026, 11, 26) in holiday_dates("US", None, 2026)
    holiday_dates("GB", "ENG", 2026)
    assert holiday_dates.cache_info().hits == 1


def test_christmas_in_gb_removes_those_days_only_for_the_gb_person() -> None:
    gb = person("alice", LONDON, hours("09:00", "17:30", ALL_WEEK), country="GB", subdivision="ENG")
    no_country = person("bob", LONDON, hours("09:00", "17:30", ALL_WEEK))
    window = (utc(2026, 12, 21), utc(2027, 1, 4))
    alice_days = {s.date() for s, _ in working_periods(gb, *window)}
    bob_days = {s.date() for s, _ in working_periods(no_country, *window)}
    removed = {date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 28), date(2027, 1, 1)}
    assert (
        bob_days - alice_days == removed
    )  # Christmas, Boxing Day, its Monday substitute, New Year
    assert date(2026, 12, 27) in alice_days  # a Sunday that is no holiday stays

    req = request(["alice", "bob"], start=window[0], end=window[1], minutes=60, count=20)
    slots = select_slots(req, compute_candidates(req, [gb, no_country]), [gb, no_country], NOW)
    assert not {s.start.date() for s in slots} & removed
    only_bob = request(["bob"], start=window[0], end=window[1], minutes=60, count=20)
    bob_slots = select_slots(
        only_bob, compute_candidates(only_bob, [no_country]), [no_country], NOW
    )
    assert date(2026, 12, 25) in {s.start.date() for s in bob_slots}


def test_thanksgiving_removes_only_the_us_pool_member() -> None:
    people = [
        person("alice", LONDON, country="GB", subdivision="ENG"),
        person("bob", NEW_YORK, country="US"),
        person("dan", LONDON, country="GB"),
    ]
    req = request(
        ["alice"],
        pool=("bob", "dan"),
        pool_required=1,
        start=utc(2026, 11, 23),
        end=utc(2026, 11, 28),
        minutes=45,
        count=20,
        coordinator_tz=LONDON,
    )
    candidates = compute_candidates(req, people)
    thanksgiving = [c for c in candidates if c.start.date() == date(2026, 11, 26)]
    assert thanksgiving and all("bob" not in c.participants for c in thanksgiving)
    wednesday = [
        c for c in candidates if c.start.date() == date(2026, 11, 25) and c.start.hour == 15
    ]
    assert wednesday and all("bob" in c.participants for c in wednesday)
    slot = thanksgiving[0]
    problems = slot_problems(req, type(slot)(slot.start, slot.end, ("alice", "bob")), people, NOW)
    assert problems == ["bob: public holiday on 2026-11-26"]


def test_thanksgiving_with_a_required_us_interviewer_skips_the_day() -> None:
    people = [person("alice", LONDON, country="GB"), person("bob", NEW_YORK, country="US")]
    req = request(
        ["alice", "bob"], start=utc(2026, 11, 23), end=utc(2026, 11, 28), minutes=45, count=20
    )
    days = {c.start.date() for c in compute_candidates(req, people)}
    assert days == {date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27)}
    # the GB-only panel works that Thursday
    gb_only = request(["alice"], start=req.window.start, end=req.window.end, minutes=45)
    assert date(2026, 11, 26) in {c.start.date() for c in compute_candidates(gb_only, people)}
