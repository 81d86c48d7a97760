"""The work a listener does after `ack()`, kept in tasks we hold on to.

Bolt runs listeners with a bare `asyncio.ensure_future` and keeps no reference; work
handed to `Background.spawn` is referenced until it finishes, can be awaited by tests
(`idle()`) and is given a grace period at shutdown (`close()`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

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
