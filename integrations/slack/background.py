"""The work a listener does after `ack()`, kept in tasks we hold on to.

Bolt runs listeners with a bare `asyncio.ensure_future` and keeps no reference; work
handed to `Background.spawn` is referenced until it finishes, can be awaited by tests
(`idle()`) and is given a grace period at shutdown (`close()`).

Work also waits for the acks of the burst it arrived with (`inbound()` brackets every
HTTP request): started at once, it shares the event loop with the requests still
waiting for their ack and makes each of them slower. bench/bench_latency.py, on a burst
of 200: 3.2× a bare bolt app's CPU until the last ack (p50 2.7×) without this gate,
1.6× (p50 1.2-1.4×) with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

ACK_QUIET = 0.05  # seconds without a request in flight before work starts…
ACK_WAIT_MAX = 1.0  # …but no work waits longer than this under a steady stream


class Background:
    def __init__(self, *, quiet: float = ACK_QUIET, wait_max: float = ACK_WAIT_MAX) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._quiet = quiet
        self._wait_max = wait_max
        self._inbound = 0
        self._generation = 0  # bumped by every request, so a stale "quiet" timer is ignored
        self._closings = 0  # bumped each time the gate closes, so a stale deadline is ignored
        self._acked: asyncio.Event | None = None  # set: nothing waits for an ack

    def inbound(self) -> Background:
        """Around each request (`with background.inbound():`): work spawned meanwhile
        starts once all are answered. A plain `__enter__`/`__exit__` pair rather than a
        generator-based context manager: it runs before every ack."""
        return self

    def __enter__(self) -> None:
        acked = self._gate()
        self._inbound += 1
        self._generation += 1
        if acked.is_set():
            acked.clear()
            # One deadline per closing, not a timeout per piece of work: under a steady
            # stream the gate opens at least every `wait_max` seconds.
            self._closings += 1
            loop = asyncio.get_running_loop()
            loop.call_later(self._wait_max, self._open_anyway, self._closings)

    def __exit__(self, *_exc: object) -> None:
        self._inbound -= 1
        if self._inbound == 0:
            loop = asyncio.get_running_loop()
            loop.call_later(self._quiet, self._open, self._generation)

    def _open(self, generation: int) -> None:
        if self._inbound == 0 and generation == self._generation:
            self._gate().set()

    def _open_anyway(self, closing: int) -> None:
        if closing == self._closings:
            self._gate().set()

    def _gate(self) -> asyncio.Event:
        if self._acked is None:
            self._acked = asyncio.Event()
            self._acked.set()
        return self._acked

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(self._after_acks(work), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    async def _after_acks(self, work: Coroutine[Any, Any, Any]) -> Any:
        acked = self._gate()
        if not acked.is_set():
            try:
                await acked.wait()
            except asyncio.CancelledError:
                work.close()  # cancelled (shutdown) before it started: never ran
                raise
        return await work

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("slack background task %s failed", task.get_name(), exc_info=task.exception())

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def idle(self, seconds: float = 10.0, settle: float = 0.02) -> None:
        """Wait until no work is left, including work spawned while waiting.

        Bolt acks events before their listener has run, so a request can be answered
        before its work is spawned; `settle` gives such listeners a moment to start.
        """
        async with asyncio.timeout(seconds):
            while True:
                while self._tasks:
                    await asyncio.wait(set(self._tasks))
                await asyncio.sleep(settle)
                if not self._tasks:
                    return

    async def close(self, grace: float = 5.0) -> None:
        """Let running work finish for up to `grace` seconds, then cancel the rest."""
        if not self._tasks:
            return
        _, still_running = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in still_running:
            task.cancel()
        if still_running:
            await asyncio.gather(*still_running, return_exceptions=True)
