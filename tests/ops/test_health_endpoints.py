"""`/healthz` says the process answers; `/readyz` says the database is there and current."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from storage.migrate import upgrade
from tests.support import RunningCalbot, running_calbot


async def test_healthz_and_readyz_on_a_current_database(calbot: RunningCalbot) -> None:
    async with httpx.AsyncClient() as http:
        health = await http.get(f"{calbot.url}/healthz")
        ready = await http.get(f"{calbot.url}/readyz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_readyz_is_503_while_the_database_is_behind(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}"
    await asyncio.to_thread(upgrade, url, "0002")
    async with running_calbot(url) as calbot, httpx.AsyncClient() as http:
        ready = await http.get(f"{calbot.url}/readyz")
        health = await http.get(f"{calbot.url}/healthz")
        # Once migrated (e.g. by the one-shot `db upgrade` container) it turns ready.
        await asyncio.to_thread(upgrade, url)
        later = await http.get(f"{calbot.url}/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not ready", "reason": "database not migrated"}
    assert health.status_code == 200, "a lagging schema is not a reason to restart the process"
    assert later.status_code == 200


async def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'calbot.db'}"
    async with running_calbot(url) as calbot, httpx.AsyncClient() as http:
        ready = await http.get(f"{calbot.url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["reason"].startswith("database unreachable")
