"""Paces `chat.postMessage` per workspace under the rate Slack last accepted.

Slack does not publish chat.postMessage's workspace limit ("special" tier), and each 429
costs a whole `Retry-After` of silence. Honouring 429s alone therefore wastes the rest
of every window: at a 50/s limit a worker that bursts 50 posts in 0.5 s and then waits
the 1 s Retry-After delivers ~33/s. Instead the first 429 teaches the pacer how many
posts Slack accepted in the second before it; from then on at most a little fewer than
that start in any one-second window (a sliding window kept here, measured from when
each post starts). A window rather than even spacing, because the outbox stalls briefly
between batches (claiming rows, progress edits): with a window the posts skipped during
a stall are made up soon after, with even spacing they would be lost for good. Posts
are still spaced at twice the average rate, so a window's worth is never one burst.

A 429 after only a few posts teaches nothing (the budget went elsewhere, or the limit is
per minute): then Retry-After alone is honoured. The learned allowance is forgotten
after a quiet spell, so a limit that was only temporary (or shared with a finished
fan-out of another instance) is re-learned. In-process only: several instances each
learn from, and back off on, their own 429s.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.errors import ChatThrottled

WINDOW = 1.0  # seconds; Slack's message limits are per second
SAFETY = 0.96  # allow this share of what Slack accepted (48 of 50): room for jitter
MIN_SAMPLE = 5  # fewer posts than this before a 429 say nothing about the limit
MAX_WAIT = 5.0  # longer waits go back to the outbox (it releases the rows) instead
FORGET_AFTER = 300.0  # seconds without a 429 after which the allowance is dropped
SPREAD = 0.5  # share of the window a full allowance is spread over, at least
_EPSILON = 1e-4  # sleep just past a window edge, not onto it


@dataclass
class _Lane:
    """One workspace's state."""

    allowance: int | None = None  # posts per WINDOW; None = unpaced (no 429 seen lately)
    blocked_until: float = 0.0
    learned_at: float = 0.0
    started: deque[float] = field(default_factory=deque)  # post starts in the window
    landed: deque[float] = field(default_factory=deque)  # accepted posts in the window


class PostPacer:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        max_wait: float = MAX_WAIT,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._lanes: dict[str, _Lane] = {}

    def allowance(self, team_id: str) -> int | None:
        """Posts per second allowed in a workspace, or None while unpaced."""
        lane = self._lanes.get(team_id)
        return lane.allowance if lane is not None else None

    async def acquire(self, team_id: str) -> None:
        """Wait until this workspace may post; raise ChatThrottled if that is far off."""
        lane = self._lanes.setdefault(team_id, _Lane())
        while True:
            now = self._clock()
            if lane.allowance is not None and now - lane.learned_at > FORGET_AFTER:
                lane.allowance = None
            _trim(lane.started, now)
            wait = lane.blocked_until - now
            if lane.allowance is not None:
                if len(lane.started) >= lane.allowance:
                    # Room opens when the post `allowance` places back leaves the window.
                    edge = lane.started[len(lane.started) - lane.allowance] + WINDOW
                    wait = max(wait, edge - now + _EPSILON)
                if lane.started:
                    # Spread a window's posts over at least half of it: a tight burst lands
                    # on Slack with jitter and could spill into the next second.
                    spacing = SPREAD * WINDOW / lane.allowance
                    wait = max(wait, lane.started[-1] + spacing - now)
            if wait <= 0:
                lane.started.append(now)
                return
            if wait > self._max_wait:
                raise ChatThrottled(wait)
            await self._sleep(wait)  # then look again: a concurrent sender may have gone

    def landed(self, team_id: str) -> None:
        """A post was accepted."""
        lane = self._lanes.setdefault(team_id, _Lane())
        now = self._clock()
        lane.landed.append(now)
        _trim(lane.landed, now)

    def throttled(self, team_id: str, retry_after: float) -> None:
        """Slack answered 429: stop until Retry-After, then stay under what it accepted."""
        lane = self._lanes.setdefault(team_id, _Lane())
        now = self._clock()
        if now < lane.blocked_until:
            # Another post that was already in flight when Slack first said 429: the same
            # episode, nothing new to learn.
            return
        _trim(lane.landed, now)
        accepted = len(lane.landed)
        if accepted >= MIN_SAMPLE:
            allowance = math.floor(accepted * SAFETY)
            if lane.allowance is not None:
                # Paced and still throttled: the limit is lower than learned (or shared).
                allowance = min(allowance, lane.allowance - 1)
            lane.allowance = max(allowance, 1)
            lane.learned_at = now
        lane.blocked_until = now + retry_after


def _trim(times: deque[float], now: float) -> None:
    while times and times[0] <= now - WINDOW:
        times.popleft()
