"""Free/busy and event upsert/delete through CronofyClient against the sandbox (§6, §7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest

from bot.errors import CalendarAuthError, CalendarNotFound, CalendarRequestError
from integrations.cronofy.scheduling import BusyPeriod

from .conftest import REDIRECT_URI, approve, query_of

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def event(event_id: str = "calbot-p1-alice", **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "event_id": event_id,
        "summary": "Interview: Jane Doe — Backend Engineer",
        "description": "Candidate: Jane Doe",
        "start": START,
        "end": START + timedelta(hours=1),
        "tzid": "Europe/London",
        "attendees": {
            "invite": [
                {"email": "bob@contoso.com", "display_name": "Bob"},
                {"email": "jane@example.org", "display_name": "Jane Doe"},
            ]
        },
    }
    body.update(changes)
    return body


async def connected(client, http, sandbox, email: str, scope: str | None = None):
    """Connect ``email`` (optionally with a narrower scope); tokens and primary calendar."""
    url = client.authorize_url(redirect_uri=REDIRECT_URI, state="s")
    if scope is not None:
        parts = urlsplit(url)
        params = {**query_of(url), "scope": scope}
        url = urlunsplit(parts._replace(query=urlencode(params)))
    code = query_of(await approve(http, sandbox, url, email))["code"]
    tokens = await client.exchange_code(code=code, redirect_uri=REDIRECT_URI)
    (calendar,) = await client.calendars(tokens.access_token)
    return tokens, calendar.calendar_id


async def test_upsert_twice_is_one_event_then_update_then_delete(client, sandbox, http):
    tokens, calendar_id = await connected(client, http, sandbox, "alice@contoso.com")
    sandbox.state.requests.clear()

    await client.upsert_event(tokens.access_token, calendar_id, event())
    await client.upsert_event(tokens.access_token, calendar_id, event())
    (stored,) = sandbox.state.events("alice@contoso.com")
    assert stored.event_id == "calbot-p1-alice" and stored.created_by_app
    assert stored.calendar_id == calendar_id
    assert (stored.start, stored.end) == (START, START + timedelta(hours=1))
    assert stored.attendees == {"bob@contoso.com": "Bob", "jane@example.org": "Jane Doe"}
    assert stored.tzid == "Europe/London" and stored.description == "Candidate: Jane Doe"
    assert [(r.method, r.status) for r in sandbox.state.requests] == [("POST", 202)] * 2

    moved = START + timedelta(days=1)
    await client.upsert_event(
        tokens.access_token,
        calendar_id,
        event(
            start=moved,
            end=moved + timedelta(minutes=45),
            summary="Interview (moved)",
            attendees={"reject": [{"email": "jane@example.org"}]},
        ),
    )
    (stored,) = sandbox.state.events("alice@contoso.com")
    assert stored.summary == "Interview (moved)" and stored.start == moved
    assert stored.attendees == {"bob@contoso.com": "Bob"}

    await client.upsert_event(tokens.access_token, calendar_id, event("calbot-p2-alice"))
    assert len(sandbox.state.events("alice@contoso.com")) == 2

    await client.delete_event(tokens.access_token, calendar_id, "calbot-p1-alice")
    assert [e.event_id for e in sandbox.state.events("alice@contoso.com")] == ["calbot-p2-alice"]
    # Deleting again (a retry after a lost answer) is still accepted.
    await client.delete_event(tokens.access_token, calendar_id, "calbot-p1-alice")
    assert len(sandbox.state.events("alice@contoso.com")) == 1


async def test_upsert_is_retried_without_duplicating(client, sandbox, http):
    tokens, calendar_id = await connected(client, http, sandbox, "r@contoso.com")
    sandbox.state.fail_next(2, status=502)
    await client.upsert_event(tokens.access_token, calendar_id, event())
    sandbox.state.fail_next(1, status=503)
    await client.upsert_event(tokens.access_token, calendar_id, event())
    assert len(sandbox.state.events("r@contoso.com")) == 1
    sandbox.state.fail_next(1, status=429)
    await client.delete_event(tokens.access_token, calendar_id, "calbot-p1-alice")
    assert sandbox.state.events("r@contoso.com") == []


async def test_all_day_and_explicit_strings_pass_through(client, sandbox, http):
    tokens, calendar_id = await connected(client, http, sandbox, "d@contoso.com")
    await client.upsert_event(
        tokens.access_token,
        calendar_id,
        event(start=date(2026, 5, 4), end=date(2026, 5, 5), tzid=None, attendees=None),
    )
    await client.upsert_event(
        tokens.access_token,
        calendar_id,
        event("e2", start="2026-05-06T10:00:00Z", end={"time": "2026-05-06T11:00:00Z"}),
    )
    day, timed = sandbox.state.events("d@contoso.com")
    assert day.all_day and day.start.isoformat() == "2026-05-04T00:00:00+01:00"
    assert timed.end == datetime(2026, 5, 6, 11, tzinfo=UTC)


async def test_event_errors(client, sandbox, http):
    tokens, calendar_id = await connected(client, http, sandbox, "e@contoso.com")
    _other, other_calendar = await connected(client, http, sandbox, "o@contoso.com")
    token = tokens.access_token

    with pytest.raises(CalendarNotFound):  # someone else's calendar
        await client.upsert_event(token, other_calendar, event())
    with pytest.raises(CalendarNotFound):
        await client.delete_event(token, "cal_unknown", "x")
    with pytest.raises(CalendarAuthError):
        await client.upsert_event("not-a-token", calendar_id, event())

    with pytest.raises(CalendarRequestError) as caught:
        await client.upsert_event(token, calendar_id, event(summary="", end=START))
    assert caught.value.status == 422
    assert set(caught.value.errors) == {"summary", "end"}
    with pytest.raises(CalendarRequestError) as caught:
        await client.upsert_event(
            token, calendar_id, event(start="2026-05-04", end="2026-05-04T10:00:00Z")
        )
    assert caught.value.errors["end"][0]["key"] == "errors.invalid"
    with pytest.raises(CalendarRequestError) as caught:
        await client.upsert_event(token, calendar_id, event(tzid="Mars/Olympus"))
    assert "tzid" in caught.value.errors
    with pytest.raises(ValueError, match="event_id"):
        await client.upsert_event(token, calendar_id, event(event_id=""))
    with pytest.raises(ValueError, match="timezone-aware"):
        await client.upsert_event(token, calendar_id, event(start=datetime(2026, 5, 4, 9)))

    response = await http.request(
        "DELETE",
        f"{sandbox.url}/v1/calendars/{calendar_id}/events",
        json={},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.json()["errors"]["event_id"][0]["key"] == "errors.required"
    assert sandbox.state.events("e@contoso.com") == []


async def test_scopes_are_enforced(client, sandbox, http):
    tokens, calendar_id = await connected(
        client, http, sandbox, "ro@contoso.com", scope="read_account list_calendars"
    )
    with pytest.raises(CalendarAuthError, match="403"):
        await client.upsert_event(tokens.access_token, calendar_id, event())
    with pytest.raises(CalendarAuthError, match="403"):
        await client.delete_event(tokens.access_token, calendar_id, "x")
    with pytest.raises(CalendarAuthError, match="403"):
        await client.free_busy(
            tokens.access_token, from_=START, to=START + timedelta(days=1), tzid="Etc/UTC"
        )


async def test_readonly_calendar_is_422(client, sandbox, http):
    sandbox.state.add_user("ro2@contoso.com", calendars=[{"calendar_name": "H", "readonly": True}])
    tokens, calendar_id = await connected(client, http, sandbox, "ro2@contoso.com")
    with pytest.raises(CalendarRequestError) as caught:
        await client.upsert_event(tokens.access_token, calendar_id, event())
    assert "calendar_id" in caught.value.errors


async def test_free_busy(client, sandbox, http):
    tokens, calendar_id = await connected(client, http, sandbox, "fb@contoso.com")
    state = sandbox.state
    state.add_busy("fb@contoso.com", START, START + timedelta(minutes=30), "Stand-up")
    state.add_busy("fb@contoso.com", START + timedelta(hours=2), START + timedelta(hours=3))
    state.add_busy(
        "fb@contoso.com", START + timedelta(hours=4), START + timedelta(hours=5), status="tentative"
    )
    state.add_busy("fb@contoso.com", START, START + timedelta(hours=8), "Focus", status="free")
    state.add_busy("fb@contoso.com", START + timedelta(days=3), START + timedelta(days=3, hours=1))
    state.add_busy("fb@contoso.com", date(2026, 5, 5), date(2026, 5, 6), "Offsite")
    await client.upsert_event(
        tokens.access_token,
        calendar_id,
        event(start=START + timedelta(hours=6), end=START + timedelta(hours=7)),
    )

    found = await client.free_busy(
        tokens.access_token,
        from_=START + timedelta(minutes=15),
        to=START + timedelta(days=1, hours=12),
        tzid="Europe/London",
    )
    assert found == [
        BusyPeriod(calendar_id, START, START + timedelta(minutes=30), "busy"),
        BusyPeriod(calendar_id, START + timedelta(hours=2), START + timedelta(hours=3), "busy"),
        BusyPeriod(
            calendar_id, START + timedelta(hours=4), START + timedelta(hours=5), "tentative"
        ),
        # calbot's own booking: included by default, for the booking re-check.
        BusyPeriod(calendar_id, START + timedelta(hours=6), START + timedelta(hours=7), "busy"),
        # All-day in the account's zone (Europe/London, BST): from 23:00 UTC the day before.
        BusyPeriod(
            calendar_id,
            datetime(2026, 5, 4, 23, tzinfo=UTC),
            datetime(2026, 5, 5, 23, tzinfo=UTC),
            "busy",
            all_day=True,
        ),
    ]
    # Whole local days were asked for (from/to are dates; "to" is excluded).
    assert state.request_count("/v1/free_busy") == 1

    without_managed = await client.free_busy(
        tokens.access_token,
        from_=START,
        to=START + timedelta(hours=8),
        include_managed=False,
    )
    assert [p.start.hour for p in without_managed] == [9, 11, 13]


async def test_free_busy_follows_pages(client, sandbox, http):
    tokens, _ = await connected(client, http, sandbox, "pg@contoso.com")
    for hour in range(5):
        begin = START + timedelta(hours=hour)
        sandbox.state.add_busy("pg@contoso.com", begin, begin + timedelta(minutes=30))
    sandbox.state.free_busy_page_size = 2
    sandbox.state.requests.clear()
    found = await client.free_busy(tokens.access_token, from_=START, to=START + timedelta(days=1))
    assert [p.start for p in found] == [START + timedelta(hours=h) for h in range(5)]
    paths = [r.path for r in sandbox.state.requests]
    assert paths[0] == "/v1/free_busy" and len(paths) == 3
    assert all(p.startswith("/v1/free_busy/pages/") for p in paths[1:])

    # A page belongs to the account that asked for it.
    other, _ = await connected(client, http, sandbox, "pg2@contoso.com")
    first = await http.get(
        f"{sandbox.url}/v1/free_busy",
        params={"tzid": "Etc/UTC", "from": "2026-05-04", "to": "2026-05-05"},
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    pages = first.json()["pages"]
    assert (pages["current"], pages["total"]) == (1, 3)
    assert pages["next_page"].startswith(f"{sandbox.url}/v1/free_busy/pages/")
    stolen = await http.get(
        first.json()["pages"]["next_page"],
        headers={"Authorization": f"Bearer {other.access_token}"},
    )
    assert stolen.status_code == 404


async def test_free_busy_validation(client, sandbox, http):
    tokens, _ = await connected(client, http, sandbox, "v@contoso.com")
    url = f"{sandbox.url}/v1/free_busy"
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    missing_tz = await http.get(url, headers=headers)
    assert missing_tz.status_code == 422 and "tzid" in missing_tz.json()["errors"]
    as_time = await http.get(
        url, params={"tzid": "Etc/UTC", "from": "2026-05-04T09:00:00Z"}, headers=headers
    )
    assert as_time.status_code == 422 and "from" in as_time.json()["errors"]
    backwards = await http.get(
        url, params={"tzid": "Etc/UTC", "from": "2026-05-05", "to": "2026-05-04"}, headers=headers
    )
    assert backwards.status_code == 422
    defaults = await http.get(url, params={"tzid": "Etc/UTC"}, headers=headers)
    assert defaults.status_code == 200 and defaults.json()["free_busy"] == []
    assert (await http.get(url, params={"tzid": "Etc/UTC"})).status_code == 401
    with pytest.raises(ValueError, match="after"):
        await client.free_busy(tokens.access_token, from_=START, to=START)


async def test_control_api_seeds_and_lists_events(sandbox, http):
    base = f"{sandbox.url}/_sandbox/users"
    await http.post(base, json={"email": "seed@contoso.com", "zoneinfo": "America/New_York"})
    added = await http.post(
        f"{base}/seed@contoso.com/events",
        json=[
            {"start": "2026-05-04T13:00:00Z", "end": "2026-05-04T14:00:00Z", "summary": "1:1"},
            {"start": "2026-05-05", "end": "2026-05-06", "status": "tentative"},
        ],
    )
    assert added.status_code == 201
    events = (await http.get(f"{base}/seed@contoso.com/events")).json()["events"]
    assert [(e["summary"], e["start"], e["free_busy_status"]) for e in events] == [
        ("1:1", "2026-05-04T13:00:00Z", "busy"),
        ("Busy", "2026-05-05", "tentative"),
    ]
    assert events[0]["event_id"].startswith("evt_external_")
    assert events[0]["created_by_app"] is False and events[1]["all_day"] is True
    wrapped = await http.post(
        f"{base}/seed@contoso.com/events",
        json={"events": [{"start": "2026-05-07T13:00:00Z", "end": "2026-05-07T14:00:00Z"}]},
    )
    assert wrapped.status_code == 201

    for bad in (
        [],
        [{"start": "2026-05-04T13:00:00", "end": "2026-05-04T14:00:00Z"}],  # no zone
        [{"start": "2026-05-04T14:00:00Z", "end": "2026-05-04T13:00:00Z"}],  # backwards
        [{"start": "2026-05-04T13:00:00Z", "end": "2026-05-04T14:00:00Z", "status": "away"}],
        [
            {"start": "2026-05-04T13:00:00Z", "end": "2026-05-04T14:00:00Z"},
            {"start": "2026-05-04", "end": "2026-05-04T14:00:00Z"},  # mixed
        ],
    ):
        response = await http.post(f"{base}/seed@contoso.com/events", json=bad)
        assert response.status_code == 422, bad
    # All or nothing: the failed batches added nothing.
    assert len((await http.get(f"{base}/seed@contoso.com/events")).json()["events"]) == 3
    assert (await http.post(f"{base}/seed@contoso.com/events", content=b"{")).status_code == 400
    assert (await http.get(f"{base}/nobody@contoso.com/events")).status_code == 404

    assert (await http.delete(f"{base}/seed@contoso.com/events")).json() == {"events": []}
    assert sandbox.state.events("seed@contoso.com") == []
    assert sandbox.state.request_count() == 0  # control calls are not in the request log


async def test_add_busy_validation(sandbox):
    state = sandbox.state
    state.add_user("x@contoso.com")
    with pytest.raises(ValueError, match="time zone"):
        state.add_busy("x@contoso.com", datetime(2026, 5, 4, 9), datetime(2026, 5, 4, 10))
    with pytest.raises(ValueError, match="calendar"):
        state.add_busy("x@contoso.com", START, START + timedelta(hours=1), calendar_id="cal_x")
    with pytest.raises(KeyError):
        state.add_busy("nobody@contoso.com", START, START + timedelta(hours=1))
