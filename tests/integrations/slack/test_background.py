"""After-ack work waits until the burst it came with has been acked (bench_latency)."""

from __future__ import annotations

import asyncio
import warnings

from integrations.slack.background import Background


async def _mark(started: list[str], name: str) -> None:
    started.append(name)


async def test_work_starts_at_once_when_no_request_is_in_flight() -> None:
    background, started = Background(quiet=0.05), list[str]()
    background.spawn(_mark(started, "a"), name="a")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert started == ["a"]


async def test_work_waits_for_every_request_in_flight_then_a_quiet_moment() -> None:
    background, started = Background(quiet=0.05), list[str]()
    with background.inbound():
        background.spawn(_mark(started, "a"), name="a")
        with background.inbound():
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        assert started == []  # one request still waits for its ack
    await asyncio.sleep(0.02)
    assert started == []  # answered, but another request of the burst may be next
    await background.idle(seconds=1)
    assert started == ["a"]


async def test_a_new_request_in_the_quiet_moment_keeps_the_work_waiting() -> None:
    background, started = Background(quiet=0.05), list[str]()
    with background.inbound():
        background.spawn(_mark(started, "a"), name="a")
    await asyncio.sleep(0.03)
    with background.inbound():
        await asyncio.sleep(0.04)  # the first quiet timer fires in here and is ignored
        assert started == []
    await background.idle(seconds=1)
    assert started == ["a"]


async def test_a_steady_stream_delays_work_by_at_most_wait_max() -> None:
    background, started = Background(quiet=0.05, wait_max=0.1), list[str]()
    with background.inbound():
        background.spawn(_mark(started, "a"), name="a")
        await asyncio.sleep(0.2)
        assert started == ["a"]


async def test_work_cancelled_before_it_started_is_closed_quietly() -> None:
    background, started = Background(quiet=0.05), list[str]()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine was never awaited" would fail here
        with background.inbound():
            background.spawn(_mark(started, "a"), name="a")
            await background.close(grace=0.01)
    assert started == []
