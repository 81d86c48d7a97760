"""`PostPacer`: learns chat.postMessage's limit from a 429 and stays under it."""

from __future__ import annotations

import itertools

import pytest

from bot.errors import ChatThrottled
from integrations.slack.pacing import FORGET_AFTER, MIN_SAMPLE, SAFETY, PostPacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.posts: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def busiest_second(self, since: float) -> int:
        """The most posts that started within any one-second window after `since`."""
        times = [t for t in self.posts if t >= since]
        return max((sum(1 for u in times if t <= u < t + 1.0) for t in times), default=0)


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
def pacer(time_: FakeTime) -> PostPacer:
    return PostPacer(clock=time_.clock, sleep=time_.sleep)


async def _burst(pacer: PostPacer, time_: FakeTime, count: int, spacing: float) -> None:
    for _ in range(count):
        await pacer.acquire("T1")
        time_.posts.append(time_.now)
        pacer.landed("T1")
        time_.now += spacing


async def test_unpaced_until_the_first_429(pacer: PostPacer, time_: FakeTime) -> None:
    await _burst(pacer, time_, 100, 0.001)
    assert time_.slept == []
    assert pacer.allowance("T1") is None


async def test_429_teaches_the_limit_and_waits_retry_after(
    pacer: PostPacer, time_: FakeTime
) -> None:
    await _burst(pacer, time_, 50, 0.01)  # 50 in 0.5 s, then Slack says stop
    pacer.throttled("T1", 1.0)
    allowance = pacer.allowance("T1")
    assert allowance == int(50 * SAFETY) == 48
    started = time_.now
    await _burst(pacer, time_, 200, 0.002)
    assert time_.posts[50] >= started + 1.0  # Retry-After honoured
    assert time_.busiest_second(since=started) == allowance
    # ...and the allowance is used in full: 200 posts take a little over 200/48 seconds.
    assert time_.now - started == pytest.approx(1.0 + 200 / allowance, abs=0.6)


async def test_a_stall_is_made_up_soon_after(pacer: PostPacer, time_: FakeTime) -> None:
    await _burst(pacer, time_, 20, 0.01)
    pacer.throttled("T1", 0.0)
    assert pacer.allowance("T1") == 19
    start = time_.now + 1.0
    time_.now = start
    await _burst(pacer, time_, 10, 0.05)  # then the worker stalls for 0.4 s
    time_.now += 0.4
    await _burst(pacer, time_, 9, 0.0)
    # The nine skipped during the stall follow at twice the average pace, not one burst...
    after = time_.posts[-9:]
    gaps = [b - a for a, b in itertools.pairwise(after)]
    assert min(gaps) == pytest.approx(0.5 / 19)
    # ...so all 19 of the window's posts still go, the last one 0.2 s late.
    assert after[-1] - start < 1.2
    assert time_.busiest_second(since=start) <= 19


async def test_a_429_while_paced_lowers_the_allowance(pacer: PostPacer, time_: FakeTime) -> None:
    await _burst(pacer, time_, 40, 0.01)
    pacer.throttled("T1", 0.5)
    first = pacer.allowance("T1")
    assert first is not None
    await _burst(pacer, time_, first, 0.0)
    pacer.throttled("T1", 0.5)
    second = pacer.allowance("T1")
    assert second is not None and second < first


async def test_429s_of_posts_already_in_flight_teach_nothing_more(
    pacer: PostPacer, time_: FakeTime
) -> None:
    await _burst(pacer, time_, 50, 0.01)
    for _ in range(8):  # eight concurrent posts all come back 429
        pacer.throttled("T1", 1.0)
        time_.now += 0.001
    assert pacer.allowance("T1") == 48
    await pacer.acquire("T1")
    assert sum(time_.slept) == pytest.approx(1.0 - 0.008)


async def test_a_429_after_few_posts_of_ours_only_waits(pacer: PostPacer, time_: FakeTime) -> None:
    # e.g. right after a restart with the window still full, or a per-minute limit
    await _burst(pacer, time_, MIN_SAMPLE - 1, 0.01)
    pacer.throttled("T1", 2.0)
    assert pacer.allowance("T1") is None
    await pacer.acquire("T1")
    assert time_.slept == [pytest.approx(2.0)]


async def test_long_waits_go_back_to_the_outbox(pacer: PostPacer, time_: FakeTime) -> None:
    await _burst(pacer, time_, 5, 0.01)
    pacer.throttled("T1", 30.0)
    with pytest.raises(ChatThrottled) as caught:
        await pacer.acquire("T1")
    assert caught.value.retry_after == pytest.approx(30.0)
    assert time_.slept == []


async def test_workspaces_are_paced_apart(pacer: PostPacer, time_: FakeTime) -> None:
    await _burst(pacer, time_, 10, 0.01)
    pacer.throttled("T1", 1.0)
    await pacer.acquire("T2")
    assert time_.slept == [] and pacer.allowance("T2") is None


async def test_the_allowance_is_forgotten_after_a_quiet_spell(
    pacer: PostPacer, time_: FakeTime
) -> None:
    await _burst(pacer, time_, 10, 0.01)
    pacer.throttled("T1", 0.1)
    assert pacer.allowance("T1") == 9
    time_.now += FORGET_AFTER + 1
    time_.slept.clear()
    await _burst(pacer, time_, 20, 0.0)
    assert time_.slept == [] and pacer.allowance("T1") is None
