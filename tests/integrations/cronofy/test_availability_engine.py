"""The sandbox's availability engine in-process: properties against a brute-force oracle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.cronofy.sandbox import SandboxState
from integrations.cronofy.sandbox.availability import Timeline
from integrations.cronofy.sandbox.availability_query import merge

BASE = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
REQUIRED = ("a1", "a2")
POOL = ("p1", "p2", "p3")


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


blocks = st.lists(
    st.tuples(st.integers(0, 14 * 12), st.integers(1, 36)).map(
        lambda t: (BASE + timedelta(minutes=5 * t[0]), BASE + timedelta(minutes=5 * (t[0] + t[1])))
    ),
    max_size=6,
)
periods = st.lists(
    st.tuples(st.integers(0, 10 * 12), st.integers(6, 8 * 12)).map(
        lambda t: (BASE + timedelta(minutes=5 * t[0]), BASE + timedelta(minutes=5 * (t[0] + t[1])))
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "busy": {name: draw(blocks) for name in REQUIRED + POOL},
        "periods": draw(periods),
        "duration": draw(st.sampled_from([15, 30, 45, 60, 90])),
        "interval": draw(st.sampled_from([15, 30])),
        "before": draw(st.integers(0, 12)) * 5,
        "after": draw(st.integers(0, 12)) * 5,
        "pool_required": draw(st.integers(1, 3)),
    }


def _run(s: dict[str, Any], response_format: str) -> tuple[dict[str, str], dict[str, Any]]:
    state = SandboxState(client_id="c", client_secret="s")
    subs: dict[str, str] = {}
    for name, spans in s["busy"].items():
        subs[name] = state.add_user(f"{name}@x.com").sub
        for start, end in spans:
            state.add_busy(f"{name}@x.com", start, end)
    body = {
        "participants": [
            {"members": [{"sub": subs[n]} for n in REQUIRED], "required": "all"},
            {"members": [{"sub": subs[n]} for n in POOL], "required": s["pool_required"]},
        ],
        "required_duration": {"minutes": s["duration"]},
        "query_periods": [{"start": _stamp(a), "end": _stamp(b)} for a, b in s["periods"]],
        "buffer": {"before": {"minutes": s["before"]}, "after": {"minutes": s["after"]}},
        "start_interval": {"minutes": s["interval"]},
        "response_format": response_format,
    }
    return subs, state.availability(body)


def _free(s: dict[str, Any], name: str, start: datetime, end: datetime) -> bool:
    """The oracle, written from the rule rather than from the engine."""
    lo = start - timedelta(minutes=s["before"])
    hi = end + timedelta(minutes=s["after"])
    return all(not (b_start < hi and lo < b_end) for b_start, b_end in s["busy"][name])


def _expected(s: dict[str, Any]) -> list[tuple[datetime, datetime, set[str]]]:
    """Every aligned start, brute force, with the names free for it."""
    duration = timedelta(minutes=s["duration"])
    out: dict[datetime, tuple[datetime, datetime, set[str]]] = {}
    for p_start, p_end in merge(list(s["periods"])):
        start = p_start
        while start + duration <= p_end:
            end = start + duration
            free = {n for n in REQUIRED + POOL if _free(s, n, start, end)}
            if set(REQUIRED) <= free and len(free & set(POOL)) >= s["pool_required"]:
                out[start] = (start, end, free)
            start += timedelta(minutes=s["interval"])
    return [out[k] for k in sorted(out)]


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_every_slot_has_every_required_member_free_including_buffers(s):
    subs, answer = _run(s, "overlapping_slots")
    names = {sub: name for name, sub in subs.items()}
    got = [
        (_parse(i["start"]), _parse(i["end"]), {names[p["sub"]] for p in i["participants"]})
        for i in answer["available_slots"]
    ]
    for start, end, free in got:
        assert end - start == timedelta(minutes=s["duration"])
        for name in REQUIRED:
            assert _free(s, name, start, end), (name, start)
        pool_free = [n for n in POOL if _free(s, n, start, end)]
        assert len(pool_free) >= s["pool_required"]
        assert free == set(REQUIRED) | set(pool_free)  # participants = exactly who is free
        # Overlapping or touching periods are one window (the union is what was asked).
        assert any(a <= start and end <= b for a, b in merge(list(s["periods"])))
    # …and nothing that holds is missing.
    assert got == _expected(s)


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_slots_are_the_earliest_non_overlapping_subset(s):
    _, overlapping = _run(s, "overlapping_slots")
    _, slots = _run(s, "slots")
    every = [(i["start"], i["end"]) for i in overlapping["available_slots"]]
    chosen = [(i["start"], i["end"]) for i in slots["available_slots"]]
    greedy: list[tuple[str, str]] = []
    for start, end in every:
        if not greedy or _parse(start) >= _parse(greedy[-1][1]):
            greedy.append((start, end))
    assert chosen == greedy


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_periods_cover_the_slots_and_their_participants_are_free_throughout(s):
    _, overlapping = _run(s, "overlapping_slots")
    subs, answer = _run(s, "periods")  # subs differ per run: each builds its own state
    names = {sub: name for name, sub in subs.items()}
    found = [(_parse(i["start"]), _parse(i["end"])) for i in answer["available_periods"]]
    for item in answer["available_periods"]:
        start, end = _parse(item["start"]), _parse(item["end"])
        for name in (names[p["sub"]] for p in item["participants"]):
            assert _free(s, name, start, end)
    for item in overlapping["available_slots"]:
        start, end = _parse(item["start"]), _parse(item["end"])
        assert any(a <= start and end <= b for a, b in found)


def test_timeline_edges_touching_is_free():
    nine = datetime(2026, 5, 4, 9, tzinfo=UTC)
    hour = timedelta(hours=1)
    line = Timeline([(nine, nine + hour)], before=timedelta(0), after=timedelta(0))
    assert line.free(nine + hour, nine + 2 * hour)  # starts as the meeting ends
    assert line.free(nine - hour, nine)  # ends as it starts
    assert not line.free(nine + hour / 2, nine + 2 * hour)
    assert not line.free(nine - hour, nine + timedelta(minutes=1))
    padded = Timeline([(nine, nine + hour)], before=timedelta(minutes=5), after=timedelta(0))
    assert not padded.free(nine + hour, nine + 2 * hour)  # 5 min before the slot overlaps
    limited = Timeline([], before=timedelta(0), after=timedelta(0), available=[(nine, nine + hour)])
    assert limited.free(nine, nine + hour) and not limited.free(nine, nine + 2 * hour)
