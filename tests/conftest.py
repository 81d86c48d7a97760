from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support import RunningCalbot, database_url, running_calbot


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    return await database_url(tmp_path)


@pytest.fixture
async def calbot(db_url: str) -> AsyncIterator[RunningCalbot]:
    async with running_calbot(db_url) as running:
        yield running
