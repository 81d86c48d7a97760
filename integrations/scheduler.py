"""APScheduler runs the periodic jobs inside `serve` (every instance; the jobs claim rows)."""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.jobs import JobRegistry

log = logging.getLogger(__name__)


def start_scheduler(jobs: JobRegistry, *, skip: frozenset[str] = frozenset()) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs:
        if job.name in skip:
            continue
        scheduler.add_job(
            job.run,
            "interval",
            seconds=job.interval_seconds,
            id=job.name,
            name=job.description,
            max_instances=1,  # a slow round is never overlapped by the next one
            coalesce=True,
            misfire_grace_time=max(int(job.interval_seconds), 1),
        )
    scheduler.start()
    log.info("scheduler started: %s", ", ".join(j.name for j in jobs if j.name not in skip))
    return scheduler
