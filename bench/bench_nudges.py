"""1,000 nudges through a rate-limited mock Slack: delivered/s against the limit, 0 lost,
0 duplicated — also when the worker process is SIGKILLed once mid-run and restarted.

Run: `.venv/bin/python -m bench.bench_nudges` (or `make bench`). Everything stays on
127.0.0.1: the mock Slack Web API runs in this process, answers each call after
LATENCY (a Slack round trip from a cloud region) and allows LIMIT chat.postMessage calls
per sliding second (429 + `Retry-After: 1` beyond it). The nudges are queued through
the core (the admin's "Nudge all" click) into a fresh SQLite database; a separate
outbox worker process (`tests.slow.outbox_worker`) delivers them.

The limit is the baseline: the ratio printed is achieved rate ÷ limit (target ≥ 0.90).
A rate runs from the worker's first post to the last nudge landing, so it includes the
429 the worker learns the limit from (and, for the killed run, the restart). The first
run sends one message after another (`OutboxWorker`'s default) to show what the round
trips alone allow; it delivers fewer nudges to stay within the time budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from integrations.slack.chat import OUTBOX_EVENT
from storage.crypto import generate_key
from storage.migrate import upgrade_async
from tests.fakes.mock_slack import MockSlack, PostedMessage
from tests.slow.fanout import outbox_states, queue_nudges, seed_slack, spawn_worker, worker_env

N = 1_000
N_SEQUENTIAL = 200  # the one-at-a-time run is slow by design: fewer nudges
LIMIT = 50  # chat.postMessage per second
LATENCY = 0.03  # seconds the mock takes to answer any Web API call
TARGET = 0.90
CONCURRENCY = 8  # the worker's sends in flight (OutboxWorker(concurrency=...))
PASSES = 2  # delivery loops side by side: one claims while the other finishes a batch
LEASE = 3.0  # worker claim lease: how long a killed worker's rows stay taken
RUN_TIMEOUT = 32.0  # seconds a worker may take for the whole fan-out (~21 s at the limit)


@dataclass(frozen=True)
class Result:
    name: str
    queued: int
    delivered: int
    duplicated: int
    span: float  # seconds from the worker's first post to the last nudge landing
    throttled: int
    wall: float
    rows_sent: int
    downtime: float = 0.0

    @property
    def lost(self) -> int:
        return self.queued - self.delivered

    @property
    def rate(self) -> float:
        return self.delivered / self.span

    @property
    def ratio(self) -> float:
        return self.rate / LIMIT


def _key(message: PostedMessage) -> str:
    return str(((message.metadata or {}).get("event_payload") or {}).get("key", ""))


def _nudges(slack: MockSlack) -> list[PostedMessage]:
    return [m for m in slack.landed(OUTBOX_EVENT) if _key(m).startswith("nudge:")]


async def _finish(proc: asyncio.subprocess.Process, within: float) -> int:
    try:
        return await asyncio.wait_for(proc.wait(), timeout=within)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()  # bounded: a worker that overran is stopped, not left behind
        await proc.wait()


async def _run(
    name: str,
    workdir: Path,
    *,
    count: int,
    concurrency: int,
    passes: int = 1,
    kill: bool = False,
) -> Result:
    slug = f"{'killed' if kill else 'steady'}-{concurrency}"
    db_url = f"sqlite+aiosqlite:///{workdir / f'{slug}.db'}"
    await upgrade_async(db_url)
    key = generate_key()
    log = workdir / f"{slug}.log"
    async with MockSlack.running() as slack:
        seed_slack(slack, count)
        queued = await queue_nudges(db_url, key, slack)
        slack.reset_calls()
        slack.set_latency(LATENCY)
        slack.rate_limit("chat.postMessage", LIMIT, sliding=True, retry_after=1)
        spawn = partial(
            spawn_worker,
            worker_env(db_url, key, slack),
            log=log,
            lease=LEASE,
            max_seconds=RUN_TIMEOUT,
            concurrency=concurrency,
            passes=passes,
        )
        started = time.monotonic()
        downtime = 0.0
        worker = await spawn()
        if kill:
            try:
                await slack.wait_until(lambda: len(_nudges(slack)) >= count // 3, RUN_TIMEOUT)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    worker.kill()  # SIGKILL, once, a third of the way through
                await worker.wait()
            killed_at = time.monotonic()
            worker = await spawn()
            # The dead worker's last posts are recorded late (latency): look at arrival times.
            await slack.wait_until(
                lambda: any(
                    c.received_at > killed_at for c in slack.calls_to("chat.postMessage")[-20:]
                ),
                RUN_TIMEOUT,
            )
            downtime = time.monotonic() - killed_at
        status = await _finish(worker, RUN_TIMEOUT)
        wall = time.monotonic() - started
        if status != 0:
            print(f"  {name}: worker exited with {status}; see {log}")

        nudges = _nudges(slack)
        counts = Counter(_key(m) for m in nudges)
        posts = slack.calls_to("chat.postMessage")
        first_post = min(c.received_at for c in posts)
        last_landed = max(m.landed_at for m in nudges)
        states = await outbox_states(db_url)
    return Result(
        name=name,
        queued=queued,
        delivered=len(counts),
        duplicated=sum(n - 1 for n in counts.values()),
        span=last_landed - first_post,
        throttled=sum(1 for c in posts if c.status == 429),
        wall=wall,
        rows_sent=states.get("sent", 0),
        downtime=downtime,
    )


def _print(results: list[Result], load: tuple[float, float, float]) -> None:
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}, load average {load[0]:.1f} at start "
        "(other processes slow the worker down: compare runs made at similar load)"
    )
    print(
        f"mock Slack: {LIMIT} chat.postMessage/s (sliding 1 s window, 429 + Retry-After: 1), "
        f"{LATENCY * 1000:.0f} ms per call"
    )
    print(
        f"{'run':<24}{'nudges':>7}{'lost':>6}{'dup':>5}{'429s':>6}"
        f"{'rate/s':>8}{'ratio':>7}{'wall s':>8}{'restart s':>11}"
    )
    for r in results:
        restart = f"{r.downtime:>11.1f}" if r.downtime else f"{'-':>11}"
        print(
            f"{r.name:<24}{r.delivered:>7}{r.lost:>6}{r.duplicated:>5}{r.throttled:>6}"
            f"{r.rate:>8.1f}{r.ratio:>7.2f}{r.wall:>8.1f}{restart}"
        )
    for r in results:
        exact = r.lost == 0 and r.duplicated == 0 and r.rows_sent == r.queued
        verdict = "meets" if exact and r.ratio >= TARGET else "misses"
        print(
            f"{r.name}: ratio {r.ratio:.2f} (target ≥ {TARGET:.2f}), lost {r.lost}, "
            f"duplicated {r.duplicated}, outbox rows sent {r.rows_sent}/{r.queued} → {verdict}"
        )
        if r.downtime:
            running = r.delivered / (r.span - r.downtime)
            print(
                f"{r.name}: excluding the {r.downtime:.1f} s restart, "
                f"{running:.1f}/s (ratio {running / LIMIT:.2f})"
            )


async def _bench() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="calbot-bench-nudges-") as tmp:
        workdir = Path(tmp)
        fast = partial(_run, workdir=workdir, count=N, concurrency=CONCURRENCY, passes=PASSES)
        many = f"{CONCURRENCY} in flight x{PASSES}"
        return [
            await _run("1 in flight (default)", workdir, count=N_SEQUENTIAL, concurrency=1),
            await fast(many),
            await fast(f"{many}, SIGKILL", kill=True),
        ]


def main() -> None:
    load = os.getloadavg()
    _print(asyncio.run(_bench()), load)


if __name__ == "__main__":
    main()
