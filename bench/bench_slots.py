"""Slot proposal for a 10-person panel over 2 weeks: one Cronofy request, ≤ 50 ms of CPU.

Run: `.venv/bin/python -m bench.bench_slots` (or `make bench`).

Set-up (deterministic, seed 20261019): 4 required interviewers + a pool of 6 ("any 2 of"),
in London, Lisbon, Berlin, New York and Toronto with their holidays, 8 busy blocks per
person per day, a window of two weeks that contains both the London (25 Oct) and the
New York (1 Nov) DST changes. The request body is built once (and checked to be exactly
one request); the Cronofy answer is fabricated as a candidate every 15 minutes, day and
night, each listing all ten members — far more than Cronofy would send for the common
working hours it is asked about.

Measured with `time.process_time()` over RUNS runs: calbot's post-processing (parse the
answer + every rule + spread) against the 50 ms budget, and, in the same run, the cost
of merely parsing the answer as the baseline. The per-window caches (working periods,
DST transitions) are cleared before every run, so each run pays for them; the
process-wide holiday cache is warm after the first (cold) run, which is reported apart.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.slots import (
    Interval,
    Interviewer,
    SlotRequest,
    build_availability_request,
    parse_availability_response,
    select_slots,
)
from bot.slots import hours as slot_hours
from bot.slots import tz as slot_tz
from bot.slots.tz import get_zone

BUDGET_MS = 50.0
RUNS = 40
SEED = 20261019
WINDOW = Interval(datetime(2026, 10, 19, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
NOW = datetime(2026, 10, 16, 12, tzinfo=UTC)
PANEL: list[tuple[str, str, str]] = [
    ("req-london-1", "Europe/London", "GB"),
    ("req-london-2", "Europe/London", "GB"),
    ("req-berlin", "Europe/Berlin", "DE"),
    ("req-lisbon", "Europe/Lisbon", "PT"),
    ("pool-london", "Europe/London", "GB"),
    ("pool-berlin-1", "Europe/Berlin", "DE"),
    ("pool-berlin-2", "Europe/Berlin", "DE"),
    ("pool-newyork-1", "America/New_York", "US"),
    ("pool-newyork-2", "America/New_York", "US"),
    ("pool-toronto", "America/Toronto", "CA"),
]


def _busy(rng: random.Random, tz: str) -> tuple[Interval, ...]:
    """8 blocks a day between 07:00 and 19:00 local, 15-90 minutes each."""
    zone = get_zone(tz)
    blocks: list[Interval] = []
    day = WINDOW.start.astimezone(zone).date() - timedelta(days=1)
    while day <= WINDOW.end.astimezone(zone).date():
        for _ in range(8):
            minute = rng.randrange(7 * 60, 19 * 60, 15)
            start = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
            blocks.append(
                Interval(start, start + timedelta(minutes=rng.choice((15, 30, 45, 60, 90))))
            )
        day += timedelta(days=1)
    return tuple(blocks)


def build_panel() -> tuple[SlotRequest, list[Interviewer], dict[str, str]]:
    rng = random.Random(SEED)
    people = [
        Interviewer(key=key, tz=tz, country=country, busy=_busy(rng, tz))
        for key, tz, country in PANEL
    ]
    keys = [key for key, _, _ in PANEL]
    request = SlotRequest(
        duration=timedelta(minutes=45),
        required=tuple(keys[:4]),
        pool=tuple(keys[4:]),
        pool_required=2,
        window=WINDOW,
        coordinator_tz="Europe/London",
    )
    subs = {key: f"acc_{i:04d}{key}" for i, key in enumerate(keys)}
    return request, people, subs


def fabricate_response(subs: dict[str, str]) -> dict[str, Any]:
    """A Cronofy-shaped answer: a slot every 15 minutes over the whole window."""
    members = [{"sub": sub} for sub in subs.values()]
    slots = []
    t = WINDOW.start
    while t + timedelta(minutes=45) <= WINDOW.end:
        slots.append(
            {
                "start": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": (t + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "participants": members,
            }
        )
        t += timedelta(minutes=15)
    return {
        "available_slots": slots,
        "member_statuses": [{"sub": sub, "sync_status": "active"} for sub in subs.values()],
    }


def _clear_window_caches() -> None:
    slot_hours._working_periods.cache_clear()
    slot_tz.transitions.cache_clear()


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def main() -> None:
    request, people, subs = build_panel()

    sent: list[dict[str, Any]] = []  # what a CalendarPort would POST to /v1/availability
    sent.append(build_availability_request(request, people, subs, NOW))
    assert len(sent) == 1, "one Cronofy availability request per proposal"
    body = sent[0]
    assert [group["required"] for group in body["participants"]] == ["all", 2]
    assert sum(len(group["members"]) for group in body["participants"]) == 10
    assert len(body["available_periods"]) <= 50
    response = fabricate_response(subs)
    busy_blocks = sum(len(p.busy) for p in people)

    def post_process() -> int:
        result = parse_availability_response(response, subs)
        return len(select_slots(request, result.slots, people, NOW))

    cold_start = time.process_time()
    offered = post_process()
    cold = (time.process_time() - cold_start) * 1000
    assert offered == request.count, offered

    total: list[float] = []
    parse_only: list[float] = []
    for _ in range(RUNS):
        _clear_window_caches()
        t0 = time.process_time()
        post_process()
        total.append(time.process_time() - t0)
        t0 = time.process_time()
        parse_availability_response(response, subs)
        parse_only.append(time.process_time() - t0)

    median, p95 = _ms(total)
    base_median, base_p95 = _ms(parse_only)
    print(
        f"panel 10 (4 required + any 2 of 6), window 14 days, {busy_blocks} busy blocks, "
        f"{len(response['available_slots'])} Cronofy candidates -> {offered} slots offered"
    )
    print(f"cronofy requests: {len(sent)}; available_periods: {len(body['available_periods'])}")
    print(
        f"post-processing CPU: median {median:.1f} ms, p95 {p95:.1f} ms "
        f"(budget {BUDGET_MS:.0f} ms: p95 at {p95 / BUDGET_MS:.2f}x) "
        f"[{'OK' if p95 <= BUDGET_MS else 'OVER BUDGET'}]"
    )
    print(
        f"baseline (parse the answer only): median {base_median:.1f} ms, p95 {base_p95:.1f} ms; "
        f"post-processing / parse = {median / base_median:.2f}x"
    )
    print(f"first (cold) run incl. holiday tables: {cold:.1f} ms")


if __name__ == "__main__":
    main()
