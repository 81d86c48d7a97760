"""``POST /v1/availability`` through CronofyClient against the sandbox (reference §5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.errors import CalendarAuthError, CalendarRequestError, CalendarUnavailable
from integrations.cronofy import CronofyClient
from integrations.cronofy.sandbox import RunningSandbox

from .conftest import CLIENT_ID, connect, make_client

DAY = datetime(2026, 5, 4, tzinfo=UTC)  # a Monday


def at(hhmm: str, day: datetime = DAY) -> datetime:
    hours, minutes = hhmm.split(":")
    return day.replace(hour=int(hours), minute=int(minutes))


def z(hhmm: str, day: datetime = DAY) -> str:
    return at(hhmm, day).strftime("%Y-%m-%dT%H:%M:%SZ")


def panel(sandbox: RunningSandbox) -> dict[str, str]:
    """Name → sub for alice and bob (required) and carol, dan, erin (the pool).

    Busy blocks (UTC, 2026-05-04), hand-checked against a 60-minute slot with buffers of
    10 min before and 15 min after, i.e. a slot at ``a`` needs [a - 10, a + 75) clear:

    * alice 10:00–10:30 → blocks starts 09:00–10:30; free 11:00 onwards
    * bob   13:30–14:30 → blocks starts 12:30, 13:00; free up to 12:00
    * carol 11:00–11:45 → blocks starts 10:00–11:30; free 12:00
    * dan   11:30–13:00 → blocks starts 10:30–13:00
    * erin  09:00–11:05 → blocks starts 09:00–11:00; free 11:30, 12:00

    So, in 09:00–14:00 every 30 min: alice ∩ bob = 11:00, 11:30, 12:00; 11:00 has no pool
    member free; 11:30 has erin; 12:00 has carol and erin.
    """
    state = sandbox.state
    busy = {
        "alice": ("10:00", "10:30"),
        "bob": ("13:30", "14:30"),
        "carol": ("11:00", "11:45"),
        "dan": ("11:30", "13:00"),
        "erin": ("09:00", "11:05"),
    }
    subs: dict[str, str] = {}
    for name, (start, end) in busy.items():
        subs[name] = state.add_user(f"{name}@contoso.com").sub
        state.add_busy(f"{name}@contoso.com", at(start), at(end), "Meeting")
    return subs


def query(subs: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "participants": [
            {"members": [{"sub": subs["alice"]}, {"sub": subs["bob"]}], "required": "all"},
            {
                "members": [{"sub": subs[n]} for n in ("carol", "dan", "erin")],
                "required": 1,
            },
        ],
        "required_duration": {"minutes": 60},
        "available_periods": [{"start": z("09:00"), "end": z("14:00")}],
        "buffer": {"before": {"minutes": 10}, "after": {"minutes": 15}},
        "start_interval": {"minutes": 30},
        "response_format": "slots",
    }
    body.update(overrides)
    return body


def slots(answer: dict[str, Any], subs: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    names = {sub: name for name, sub in subs.items()}
    key = "available_slots" if "available_slots" in answer else "available_periods"
    return [
        (
            item["start"][11:16],
            item["end"][11:16],
            [names[p["sub"]] for p in item["participants"]],
        )
        for item in answer[key]
    ]


async def test_two_required_and_any_one_of_three(client, sandbox):
    subs = panel(sandbox)
    sandbox.state.requests.clear()

    answer = await client.availability(query(subs, response_format="overlapping_slots"))
    assert slots(answer, subs) == [
        ("11:30", "12:30", ["alice", "bob", "erin"]),
        ("12:00", "13:00", ["alice", "bob", "carol", "erin"]),
    ]
    assert sandbox.state.request_count("/v1/availability") == 1

    # "slots" never overlap: 12:00 starts before the 11:30 slot ends.
    answer = await client.availability(query(subs))
    assert slots(answer, subs) == [("11:30", "12:30", ["alice", "bob", "erin"])]

    # "periods" joins the two; erin is the pool member free for all of it.
    answer = await client.availability(query(subs, response_format="periods"))
    assert slots(answer, subs) == [("11:30", "13:00", ["alice", "bob", "erin"])]
    assert "available_slots" not in answer


async def test_buffers_are_what_rules_out_the_edges(client, sandbox):
    subs = panel(sandbox)
    answer = await client.availability(query(subs, buffer={}, response_format="overlapping_slots"))
    # Without buffers alice is free at 09:00 and from 10:30, bob until 12:30, and the pool
    # has someone at every one of those starts but 11:00 (carol, dan and erin all busy).
    assert [s[0] for s in slots(answer, subs)] == ["09:00", "10:30", "11:30", "12:00", "12:30"]


async def test_required_n_of_pool_and_member_statuses(client, sandbox):
    subs = panel(sandbox)
    body = query(subs, response_format="overlapping_slots", include_member_statuses=True)
    body["participants"][1]["required"] = 2
    await sandbox.state.disconnect("dan@contoso.com")
    answer = await client.availability(body)
    assert slots(answer, subs) == [("12:00", "13:00", ["alice", "bob", "carol", "erin"])]
    statuses = {s["sub"]: s["sync_status"] for s in answer["member_statuses"]}
    assert statuses[subs["dan"]] == "disconnected" and statuses[subs["alice"]] == "active"
    assert len(statuses) == 5


async def test_member_available_periods_limit_that_member(client, sandbox):
    subs = panel(sandbox)
    body = query(subs, response_format="overlapping_slots")
    # erin only works until 12:30 → the 12:00 slot keeps only carol from the pool.
    body["participants"][1]["members"][2]["available_periods"] = [
        {"start": z("08:00"), "end": z("12:30")}
    ]
    answer = await client.availability(body)
    assert slots(answer, subs) == [
        ("11:30", "12:30", ["alice", "bob", "erin"]),
        ("12:00", "13:00", ["alice", "bob", "carol"]),
    ]


async def test_start_interval_aligns_to_each_period_start(client, sandbox):
    sub = sandbox.state.add_user("solo@contoso.com").sub
    body = {
        "participants": [{"members": [{"sub": sub}], "required": "all"}],
        "required_duration": {"minutes": 30},
        "query_periods": [
            {"start": z("09:10"), "end": z("10:10")},
            {"start": z("13:05"), "end": z("13:50")},
        ],
        "start_interval": {"minutes": 15},
        "response_format": "overlapping_slots",
    }
    answer = await client.availability(body)
    starts = [s["start"][11:16] for s in answer["available_slots"]]
    # Slots never run past a period's end: 09:40 + 30 = 10:10 is the last that fits.
    assert starts == ["09:10", "09:25", "09:40", "13:05", "13:20"]

    body["response_format"] = "slots"
    answer = await client.availability(body)
    assert [s["start"][11:16] for s in answer["available_slots"]] == ["09:10", "09:40", "13:05"]

    body["max_results"] = 2  # type: ignore[assignment]
    answer = await client.availability(body)
    assert len(answer["available_slots"]) == 2


async def test_booked_event_blocks_the_slot_afterwards(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "alice@contoso.com")
    subs = panel_after_connect(sandbox)
    answer = await client.availability(query(subs))
    first = answer["available_slots"][0]
    assert first["start"] == z("11:30")

    (calendar,) = await client.calendars(tokens.access_token)
    event = {
        "event_id": "calbot-proposal-1-alice",
        "summary": "Interview: Jane Doe",
        "start": first["start"],
        "end": first["end"],
    }
    await client.upsert_event(tokens.access_token, calendar.calendar_id, event)
    await client.upsert_event(tokens.access_token, calendar.calendar_id, event)  # a retry

    answer = await client.availability(query(subs, response_format="overlapping_slots"))
    # alice is now busy 11:30–12:30, and with buffers 12:00 is gone too.
    assert answer["available_slots"] == []


def panel_after_connect(sandbox: RunningSandbox) -> dict[str, str]:
    """The panel, with alice already created by the connect flow."""
    state = sandbox.state
    alice = state.user("alice@contoso.com")
    assert alice is not None
    subs = {"alice": alice.sub}
    state.add_busy("alice@contoso.com", at("10:00"), at("10:30"))
    for name, start, end in (
        ("bob", "13:30", "14:30"),
        ("carol", "11:00", "11:45"),
        ("dan", "11:30", "13:00"),
        ("erin", "09:00", "11:05"),
    ):
        subs[name] = state.add_user(f"{name}@contoso.com").sub
        state.add_busy(f"{name}@contoso.com", at(start), at(end))
    return subs


async def test_retried_on_503_then_answers(client, sandbox):
    subs = panel(sandbox)
    sandbox.state.requests.clear()
    sandbox.state.fail_next(2, status=503)
    answer = await client.availability(query(subs))
    assert len(answer["available_slots"]) == 1
    assert [r.status for r in sandbox.state.requests] == [503, 503, 200]


async def test_persistent_failure_is_unavailable(sandbox):
    client = make_client(sandbox, max_attempts=2)
    try:
        subs = panel(sandbox)
        sandbox.state.fail_next(5, status=500)
        with pytest.raises(CalendarUnavailable):
            await client.availability(query(subs))
        assert sandbox.state.request_count("/v1/availability") == 2
    finally:
        await client.aclose()


async def test_wrong_secret_or_user_token_is_401(sandbox, http):
    subs = panel(sandbox)
    wrong = CronofyClient(client_id=CLIENT_ID, client_secret="not-the-secret", api_url=sandbox.url)
    try:
        with pytest.raises(CalendarAuthError):
            await wrong.availability(query(subs))
    finally:
        await wrong.aclose()
    # A user's access token is not an API key (§9: the two are not interchangeable).
    client = make_client(sandbox)
    try:
        tokens = await connect(client, http, sandbox, "alice@contoso.com")
        response = await http.post(
            f"{sandbox.url}/v1/availability",
            json=query(subs),
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        assert response.status_code == 401
        assert (await http.post(f"{sandbox.url}/v1/availability", json={})).status_code == 401
    finally:
        await client.aclose()


def _many_periods(count: int) -> list[dict[str, str]]:
    return [
        {"start": z("09:00", DAY + timedelta(days=i)), "end": z("10:00", DAY + timedelta(days=i))}
        for i in range(count)
    ]


@pytest.mark.parametrize(
    ("change", "field", "key"),
    [
        (lambda b, s: b.pop("participants"), "participants", "errors.required"),
        (lambda b, s: b.update(participants=[]), "participants", "errors.required"),
        (lambda b, s: b.pop("required_duration"), "required_duration", "errors.required"),
        (
            lambda b, s: b.update(required_duration={"minutes": 0}),
            "required_duration",
            "errors.out_of_range",
        ),
        (
            lambda b, s: b.update(required_duration={"minutes": 1441}),
            "required_duration",
            "errors.out_of_range",
        ),
        (
            lambda b, s: b.update(required_duration=60),
            "required_duration",
            "errors.invalid",
        ),
        (lambda b, s: b.pop("available_periods"), "query_periods", "errors.required"),
        (
            lambda b, s: b.update(available_periods=_many_periods(51)),
            "available_periods",
            "errors.too_many",
        ),
        (
            lambda b, s: b.update(
                available_periods=[{"start": z("09:00"), "end": z("09:00", DAY + timedelta(64))}]
            ),
            "available_periods",
            "errors.too_long",
        ),
        (
            lambda b, s: b.update(available_periods=[{"start": z("10:00"), "end": z("09:00")}]),
            "available_periods[0].end",
            "errors.invalid",
        ),
        (
            lambda b, s: b.update(
                available_periods=[{"start": "2026-05-04T09:00:00", "end": z("10:00")}]
            ),
            "available_periods[0].start",
            "errors.invalid",
        ),
        (
            lambda b, s: b.update(query_periods=[{"start": z("09:00"), "end": z("10:00")}]),
            "query_periods",
            "errors.invalid",
        ),
        (
            lambda b, s: b["participants"][1].update(required=4),
            "participants[1].required",
            "errors.out_of_range",
        ),
        (
            lambda b, s: b["participants"][1].update(required="some"),
            "participants[1].required",
            "errors.invalid",
        ),
        (
            lambda b, s: b["participants"][0]["members"].append({"sub": "acc_nobody"}),
            "participants[0].members[2].sub",
            "errors.unknown",
        ),
        (
            lambda b, s: b["participants"][0].update(members=[]),
            "participants[0].members",
            "errors.required",
        ),
        (
            lambda b, s: b.update(start_interval={"minutes": 7}),
            "start_interval",
            "errors.invalid",
        ),
        (
            lambda b, s: b.update(buffer={"after": {"minutes": -5}}),
            "buffer.after",
            "errors.out_of_range",
        ),
        (lambda b, s: b.update(response_format="list"), "response_format", "errors.invalid"),
        (lambda b, s: b.update(max_results=0), "max_results", "errors.out_of_range"),
        (lambda b, s: b.update(max_results=513), "max_results", "errors.out_of_range"),
        (lambda b, s: b.update(query_slots=[{"start": z("09:00")}]), "query_slots", None),
    ],
)
async def test_bad_queries_are_422_with_an_errors_map(client, sandbox, change, field, key):
    subs = panel(sandbox)
    body = query(subs)
    change(body, subs)
    with pytest.raises(CalendarRequestError) as caught:
        await client.availability(body)
    assert caught.value.status == 422
    assert field in caught.value.errors, caught.value.errors
    if key:
        assert caught.value.errors[field][0]["key"] == key
    assert caught.value.errors[field][0]["description"]
    # A 422 is the caller's mistake: never retried.
    assert sandbox.state.request_count("/v1/availability") == 1


async def test_every_problem_is_reported_at_once(sandbox, http):
    response = await http.post(
        f"{sandbox.url}/v1/availability",
        json={"required_duration": {"minutes": 0}, "response_format": "x"},
        headers={"Authorization": f"Bearer {sandbox.state.client_secret}"},
    )
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {
        "participants",
        "required_duration",
        "query_periods",
        "response_format",
    }
    not_json = await http.post(
        f"{sandbox.url}/v1/availability",
        content=b"[",
        headers={"Authorization": f"Bearer {sandbox.state.client_secret}"},
    )
    assert not_json.status_code == 422


async def test_calbot_sized_query_passes_the_limits(client, sandbox):
    """8 weeks, 50 periods, 512 results: what bot/slots/cronofy_query.py may send."""
    sub = sandbox.state.add_user("wide@contoso.com").sub
    last = DAY + timedelta(days=55)
    periods = [*_many_periods(49), {"start": z("09:00", last), "end": z("17:00", last)}]
    answer = await client.availability(
        {
            "participants": [{"members": [{"sub": sub}], "required": "all"}],
            "required_duration": {"minutes": 45},
            "available_periods": periods,
            "buffer": {"before": {"minutes": 0}, "after": {"minutes": 10}},
            "start_interval": {"minutes": 15},
            "response_format": "slots",
            "max_results": 512,
            "include_member_statuses": True,
        }
    )
    assert answer["available_slots"] and answer["member_statuses"][0]["sync_status"] == "active"
