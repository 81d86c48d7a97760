"""An outbox worker process: delivers everything queued, then exits.

    python -m tests.slow.outbox_worker [--lease S] [--max-seconds S] [--concurrency N]
                                       [--passes N]

Configured from the environment like `python app.py jobs run outbox` (same runtime, same
`OutboxWorker`), with two differences that a kill-and-restart test needs: it keeps going
until nothing is pending (`jobs run outbox` stops after 10 s), and its claim lease is
short, so the rows a killed predecessor had claimed are taken over in seconds rather than
after the production lease of a minute. `--concurrency` is the worker's number of sends
in flight (1, the `OutboxWorker` default, sends one message after another); `--passes`
runs that many delivery loops side by side, as that many instances would, so one claims
its next batch while another is still finishing its own.
Exit status: 0 when the outbox is empty, 1 when time ran out first.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.outbox import OutboxWorker
from bot.settings import load_settings
from integrations.runtime import build_runtime

IDLE_POLL = 0.05  # seconds between looks while rows are leased by someone else


async def deliver_all(
    lease: float, max_seconds: float, concurrency: int = 1, passes: int = 1
) -> int:
    runtime = await build_runtime(load_settings())
    worker = OutboxWorker(
        runtime.store,
        runtime.chats,
        runtime.clock,
        lease_seconds=lease,
        on_batch_progress=runtime.bot.team.on_batch_progress,
        concurrency=concurrency,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds

    async def deliver_until_empty() -> int:
        while loop.time() < deadline:
            if await worker.deliver_due():
                continue
            due = await runtime.store.next_due()
            if due is None:
                return 0
            wait = (due - runtime.clock.now()).total_seconds()
            await asyncio.sleep(min(max(wait, IDLE_POLL), 1.0))
        return 1

    try:
        results = await asyncio.gather(*(deliver_until_empty() for _ in range(passes)))
        return max(results)
    finally:
        await runtime.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lease", type=float, default=3.0)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--passes", type=int, default=1)
    args = parser.parse_args(argv)
    return asyncio.run(deliver_all(args.lease, args.max_seconds, args.concurrency, args.passes))


if __name__ == "__main__":
    sys.exit(main())
