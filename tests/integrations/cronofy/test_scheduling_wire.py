"""The client's pure wire helpers for free/busy and events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from bot.errors import CalendarError
from integrations.cronofy import CronofyClient
from integrations.cronofy.scheduling import (
    BusyPeriod,
    busy_periods,
    event_body,
    free_busy_params,
    same_origin_path,
)

LONDON = ZoneInfo("Europe/London")


def test_free_busy_params_cover_whole_local_days():
    params = dict(
        free_busy_params(
            datetime(2026, 5, 4, 23, 30, tzinfo=UTC),  # 00:30 on the 5th in London
            datetime(2026, 5, 6, 9, tzinfo=UTC),
            "Europe/London",
            include_managed=True,
        )
    )
    assert params == {
        "tzid": "Europe/London",
        "from": "2026-05-05",
        "to": "2026-05-07",  # "to" is excluded, so the day of the end is included
        "include_managed": "true",
    }
    midnight = datetime(2026, 5, 6, tzinfo=LONDON)
    assert (
        dict(
            free_busy_params(
                midnight - timedelta(days=1), midnight, "Europe/London", include_managed=False
            )
        )["to"]
        == "2026-05-06"
    )
    with_ids = free_busy_params(
        midnight,
        midnight + timedelta(hours=1),
        "Etc/UTC",
        include_managed=False,
        calendar_ids=("cal_a", "cal_b"),
    )
    assert [v for k, v in with_ids if k == "calendar_ids[]"] == ["cal_a", "cal_b"]
    with pytest.raises(ValueError):
        free_busy_params(datetime(2026, 5, 4), midnight, "Etc/UTC", include_managed=True)


def test_busy_periods_skip_free_parse_dates_and_trim_to_range():
    items = [
        {
            "calendar_id": "c",
            "start": "2026-05-04T08:00:00Z",
            "end": "2026-05-04T08:30:00Z",
            "free_busy_status": "busy",
        },
        {
            "calendar_id": "c",
            "start": "2026-05-04T07:00:00Z",
            "end": "2026-05-04T07:30:00Z",
            "free_busy_status": "busy",
        },  # before the range
        {
            "calendar_id": "c",
            "start": "2026-05-04T09:00:00Z",
            "end": "2026-05-04T10:00:00Z",
            "free_busy_status": "free",
        },
        {
            "calendar_id": "c",
            "start": "2026-05-04T11:00:00+02:00",
            "end": "2026-05-04T12:00:00+02:00",
            "free_busy_status": "unknown",
        },
        {"calendar_id": "c", "start": "2026-05-05", "end": "2026-05-06"},
    ]
    found = busy_periods(
        items,  # type: ignore[arg-type]
        "Europe/London",
        datetime(2026, 5, 4, 7, 45, tzinfo=UTC),
        datetime(2026, 5, 5, 12, tzinfo=UTC),
    )
    assert found == [
        BusyPeriod(
            "c", datetime(2026, 5, 4, 8, tzinfo=UTC), datetime(2026, 5, 4, 8, 30, tzinfo=UTC)
        ),
        BusyPeriod(
            "c",
            datetime(2026, 5, 4, 9, tzinfo=UTC),
            datetime(2026, 5, 4, 10, tzinfo=UTC),
            "unknown",
        ),
        BusyPeriod(
            "c",
            datetime(2026, 5, 4, 23, tzinfo=UTC),
            datetime(2026, 5, 5, 23, tzinfo=UTC),
            "busy",
            all_day=True,
        ),
    ]


def test_same_origin_path():
    assert (
        same_origin_path(
            "https://api.cronofy.com/v1/free_busy/pages/abc?x=1", "https://api.cronofy.com"
        )
        == "/v1/free_busy/pages/abc?x=1"
    )
    assert same_origin_path("http://h:1/prefix/v1/p/x", "http://h:1/prefix/") == "/v1/p/x"
    for bad in (
        "https://evil.example/v1/free_busy/pages/abc",
        "http://api.cronofy.com/v1/x",
        "https://api.cronofy.com.evil.example/v1/x",
    ):
        with pytest.raises(ValueError):
            same_origin_path(bad, "https://api.cronofy.com")


def test_event_body():
    body = event_body(
        {
            "event_id": "e1",
            "summary": "s",
            "start": datetime(2026, 5, 4, 10, tzinfo=LONDON),
            "end": date(2026, 5, 5),
            "attendees": {"invite": [{"email": "a@b.c"}]},
        }
    )
    assert body["start"] == "2026-05-04T09:00:00Z" and body["end"] == "2026-05-05"
    assert body["attendees"] == {"invite": [{"email": "a@b.c"}]}
    original = {"event_id": "e", "start": "2026-05-04T09:00:00Z"}
    assert event_body(original) == original and event_body(original) is not original
    with pytest.raises(ValueError, match="event_id"):
        event_body({"summary": "no id"})


@respx.mock
async def test_next_page_on_another_host_is_refused_without_sending_the_token():
    first = respx.get("https://api.cronofy.com/v1/free_busy").mock(
        return_value=httpx.Response(
            200,
            json={
                "pages": {"current": 1, "total": 2, "next_page": "https://evil.example/p/1"},
                "free_busy": [],
            },
        )
    )
    evil = respx.get("https://evil.example/p/1")
    async with CronofyClient(client_id="i", client_secret="s") as client:
        now = datetime(2026, 5, 4, tzinfo=UTC)
        with pytest.raises(CalendarError, match="outside the API"):
            await client.free_busy("tok", from_=now, to=now + timedelta(days=1))
    assert first.call_count == 1 and not evil.called
    sent = first.calls[0].request
    assert sent.headers["Authorization"] == "Bearer tok"
    assert sent.url.params["tzid"] == "Etc/UTC" and sent.url.params["include_managed"] == "true"


@respx.mock
async def test_availability_uses_the_client_secret_and_rejects_odd_answers():
    route = respx.post("https://api.cronofy.com/v1/availability").mock(
        side_effect=[
            httpx.Response(200, json={"available_slots": []}),
            httpx.Response(200, json=[1, 2]),
        ]
    )
    async with CronofyClient(client_id="i", client_secret="the-secret") as client:
        assert await client.availability({"participants": []}) == {"available_slots": []}
        with pytest.raises(CalendarError, match="shape"):
            await client.availability({})
    assert route.calls[0].request.headers["Authorization"] == "Bearer the-secret"


@respx.mock
async def test_event_paths_quote_the_calendar_id():
    route = respx.delete("https://api.cronofy.com/v1/calendars/cal_a%2Fb/events").mock(
        return_value=httpx.Response(202)
    )
    async with CronofyClient(client_id="i", client_secret="s") as client:
        await client.delete_event("tok", "cal_a/b", "e1")
    assert route.called
    assert route.calls[0].request.content == b'{"event_id":"e1"}'
