"""Periodic work, by name. Each job is idempotent and claims its rows, so every instance
may run every job; `python app.py jobs run NAME` runs one once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    run: Callable[[], Awaitable[object]]
    interval_seconds: float


class JobRegistry:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}

    def add(
        self,
        name: str,
        description: str,
        run: Callable[[], Awaitable[object]],
        interval_seconds: float,
    ) -> None:
        self._jobs[name] = Job(name, description, run, interval_seconds)

    def get(self, name: str) -> Job:
        return self._jobs[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._jobs.values(), key=lambda job: job.name))

    def names(self) -> list[str]:
        return sorted(self._jobs)
