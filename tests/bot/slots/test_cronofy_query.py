"""The one Availability API request per proposal, and reading its answer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from bot.slots import (
    AvailabilityResponseError,
    Slot,
    SlotRequestError,
    WorkingHours,
    build_availability_request,
    compute_candidates,
    parse_availability_response,
    select_slots,
)
from bot.slots.cronofy_query import MAX_PERIODS, coarsen, query_spans

from .support import LONDON, NEW_YORK, person, request, utc

NOW = utc(2026, 11, 27, 9)
SUBS = {"alice": "acc_alice", "bob": "acc_bob", "carol": "acc_carol", "dan": "acc_dan"}
PEOPLE = [
    person("alice", LONDON),
    person("bob", NEW_YORK),
    person("carol", LONDON),
    person("dan", LONDON),
]


def proposal(**kwargs: Any):
    kwargs.setdefault("min_notice", timedelta(hours=24))
    kwargs.setdefault("buffer_after", timedelta(minutes=10))
    return request(
        ["alice", "bob"],
        pool=("carol", "dan"),
        pool_required=1,
        start=utc(2026, 11, 30),
        end=utc(2026, 12, 5),
        minutes=45,
        coordinator_tz=LONDON,
        **kwargs,
    )


def test_request_body_shape() -> None:
    body = build_availability_request(proposal(), PEOPLE, SUBS, NOW)
    json.dumps(body)  # plain JSON
    assert body["participants"][0] == {
        "members": [{"sub": "acc_alice"}, {"sub": "acc_bob"}],
        "required": "all",
    }
    pool = body["participants"][1]
    assert pool["required"] == 1
    assert [m["sub"] for m in pool["members"]] == ["acc_carol", "acc_dan"]
    # a pool member's own hours, clipped to the span of the query
    assert pool["members"][0]["available_periods"][:2] == [
        {"start": "2026-11-30T14:00:00Z", "end": "2026-11-30T17:30:00Z"},
        {"start": "2026-12-01T09:00:00Z", "end": "2026-12-01T17:30:00Z"},
    ]
    assert body["required_duration"] == {"minutes": 45}
    assert body["buffer"] == {"before": {"minutes": 0}, "after": {"minutes": 10}}
    assert body["start_interval"] == {"minutes": 15}
    assert body["response_format"] == "slots"
    assert body["include_member_statuses"] is True
    # common hours of London and New York (14:00-17:30Z), Mon-Fri
    assert body["available_periods"] == [
        {"start": f"2026-{d}T14:00:00Z", "end": f"2026-{d}T17:30:00Z"}
        for d in ("11-30", "12-01", "12-02", "12-03", "12-04")
    ]


def test_minimum_notice_trims_and_aligns_the_first_period() -> None:
    body = build_availability_request(proposal(), PEOPLE, SUBS, utc(2026, 11, 29, 15, 7))
    assert body["available_periods"][0] == {
        "start": "2026-11-30T15:15:00Z",
        "end": "2026-11-30T17:30:00Z",
    }


def test_at_most_fifty_periods_and_still_a_superset() -> None:
    split = WorkingHours.from_mapping(
        {d: [("09:00", "12:00"), ("13:00", "17:30")] for d in range(5)}
    )
    alice = person("alice", "UTC", split)
    req = request(["alice"], start=utc(2027, 1, 4), end=utc(2027, 3, 1), minutes=30)
    spans = query_spans(req, {"alice": alice}, utc(2027, 1, 1))
    assert len(spans) == 80  # 40 working days x 2
    body = build_availability_request(req, [alice], {"alice": "acc_alice"}, utc(2027, 1, 1))
    periods = [
        (datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"]))
        for p in body["available_periods"]
    ]
    assert len(periods) == MAX_PERIODS
    assert all(a[1] < b[0] for a, b in pairwise(periods))
    for start, end in spans:  # every original span is covered
        assert any(p_start <= start and end <= p_end for p_start, p_end in periods)
    # the lunch breaks (1 h) were bridged first; nights and weekends stay out
    assert sum(1 for s, e in periods if e - s == timedelta(hours=8, minutes=30)) == 30


def test_coarsen_keeps_the_longest_gaps() -> None:
    t = [utc(2027, 1, 1, h) for h in range(24)]
    spans = [(t[0], t[1]), (t[2], t[3]), (t[7], t[8]), (t[9], t[10])]
    assert coarsen(spans, 2) == [(t[0], t[3]), (t[7], t[10])]
    assert coarsen(spans, 4) == spans


def test_missing_sub_is_a_clear_error() -> None:
    with pytest.raises(SlotRequestError, match="no connected calendar for: bob") as caught:
        build_availability_request(
            proposal(), PEOPLE, {"alice": "acc_alice", "carol": "c", "dan": "d"}, NOW
        )
    assert caught.value.field == "required"


CRONOFY_RESPONSE = {
    "available_slots": [
        {
            "start": "2026-11-30T14:00:00Z",
            "end": "2026-11-30T14:45:00Z",
            "participants": [{"sub": "acc_alice"}, {"sub": "acc_bob"}, {"sub": "acc_dan"}],
        },
        {
            "start": "2026-12-01T15:00:00+00:00",
            "end": "2026-12-01T15:45:00+00:00",
            "participants": [{"sub": "acc_alice"}, {"sub": "acc_bob"}, {"sub": "acc_zed"}],
        },
    ],
    "member_statuses": [
        {"sub": "acc_alice", "sync_status": "active"},
        {"sub": "acc_bob", "sync_status": "pending"},
        {"sub": "acc_dan", "sync_status": "disconnected"},
    ],
}


def test_parse_response() -> None:
    result = parse_availability_response(CRONOFY_RESPONSE, SUBS)
    assert result.slots == (
        Slot(utc(2026, 11, 30, 14), utc(2026, 11, 30, 14, 45), ("alice", "bob", "dan")),
        Slot(utc(2026, 12, 1, 15), utc(2026, 12, 1, 15, 45), ("alice", "bob")),
    )
    assert result.member_statuses == {"alice": "active", "bob": "pending", "dan": "disconnected"}
    assert result.not_active == {"bob": "pending", "dan": "disconnected"}
    assert result.unknown_subs == ("acc_zed",)
    assert parse_availability_response({"available_slots": []}, SUBS).slots == ()


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"available_slots": {}},
        {"available_slots": [{"start": "2026-11-30T14:00:00", "end": "2026-11-30T14:45:00Z"}]},
        {"available_slots": [{"start": "yesterday", "end": "2026-11-30T14:45:00Z"}]},
        {"available_slots": [{"start": "2026-11-30T15:00:00Z", "end": "2026-11-30T14:45:00Z"}]},
        {
            "available_slots": [
                {
                    "start": "2026-11-30T14:00:00Z",
                    "end": "2026-11-30T14:45:00Z",
                    "participants": [{}],
                }
            ]
        },
    ],
)
def test_malformed_responses(body: Any) -> None:
    with pytest.raises(AvailabilityResponseError):
        parse_availability_response(body, SUBS)


def as_cronofy(slots: list[Slot], subs: dict[str, str]) -> dict[str, Any]:
    return {
        "available_slots": [
            {
                "start": s.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": s.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "participants": [{"sub": subs[k]} for k in s.participants],
            }
            for s in slots
        ]
    }


def test_round_trip_request_response_rules() -> None:
    req = proposal()
    body = build_availability_request(req, PEOPLE, SUBS, NOW)
    fake = as_cronofy(compute_candidates(req, PEOPLE, NOW, overlapping=False), SUBS)
    parsed = parse_availability_response(fake, SUBS)
    slots = select_slots(req, parsed.slots, PEOPLE, NOW)
    assert len(slots) == 5 and len({s.start.date() for s in slots}) == 5
    for slot in slots:
        assert any(
            p["start"] <= slot.start.strftime("%Y-%m-%dT%H:%M:%SZ")
            for p in body["available_periods"]
        )
        assert slot.participants[:2] == ("alice", "bob") and len(slot.participants) == 3
