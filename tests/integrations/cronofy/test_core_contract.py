"""The core's availability body (bot/slots/cronofy_query.py) against the sandbox: accepted
as sent, answered in the shape the core parses. Guards the contract between the two."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.slots import (
    Interval,
    Interviewer,
    SlotRequest,
    build_availability_request,
    parse_availability_response,
)

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, tzinfo=UTC)


async def test_core_query_for_three_continents_over_eight_weeks(client, sandbox):
    zones = {
        "alice": "Europe/London",
        "bob": "America/New_York",
        "carol": "Europe/London",
        "dan": "Australia/Sydney",
    }
    subs = {key: sandbox.state.add_user(f"{key}@contoso.com").sub for key in zones}
    # alice is busy for most of the London/New York overlap on the first Monday.
    busy = (MONDAY.replace(hour=14), MONDAY.replace(hour=16))
    sandbox.state.add_busy("alice@contoso.com", *busy)
    request = SlotRequest(
        duration=timedelta(minutes=45),
        required=("alice", "bob"),
        pool=("carol", "dan"),
        pool_required=1,
        window=Interval(MONDAY, MONDAY + timedelta(weeks=8)),
        buffer_after=timedelta(minutes=10),
        coordinator_tz="Europe/London",
    )
    people = [Interviewer(key=key, tz=tz) for key, tz in zones.items()]
    body = build_availability_request(request, people, subs, NOW)
    sandbox.state.requests.clear()

    answer = await client.availability(body)

    assert sandbox.state.request_count("/v1/availability") == 1
    result = parse_availability_response(answer, subs)
    assert result.slots and not result.unknown_subs
    assert result.member_statuses == dict.fromkeys(zones, "active")
    for slot in result.slots:
        assert {"alice", "bob"} <= set(slot.participants)
        assert {"carol", "dan"} & set(slot.participants)
        assert slot.end - slot.start == timedelta(minutes=45)
        # never inside alice's meeting nor within 10 minutes before it starts
        assert slot.end + timedelta(minutes=10) <= busy[0] or slot.start >= busy[1]
    first_monday = [s for s in result.slots if s.start.date() == MONDAY.date()]
    assert [s.start.strftime("%H:%M") for s in first_monday] == ["16:00", "16:45"]
