from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support import TEST_KEY, RunningCalbot, database_url, running_calbot

# Things that must never appear in a log line, anywhere in the suite: sandbox access and
# refresh tokens, personal connect links, Slack tokens and signing secrets, Fernet keys.
SECRET_PATTERNS = [
    re.compile(r"sbx(at|rt)_[A-Za-z0-9_-]{8,}"),
    re.compile(r"/connect/[A-Za-z0-9_-]{20,}"),
    re.compile(r"xox[bpa]-[A-Za-z0-9-]+"),
    re.compile(r"test-secret|sandbox-secret"),
    re.compile(re.escape(TEST_KEY)),
]


class _SecretWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1])
        for pattern in SECRET_PATTERNS:
            if pattern.search(text):
                self.leaks.append(f"{record.name}: {pattern.pattern} in {text[:300]!r}")


_watch = _SecretWatch()


def pytest_configure(config: pytest.Config) -> None:
    root = logging.getLogger()
    root.addHandler(_watch)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    # As in production (integrations/logging.py): httpx logs every URL at INFO, and the
    # tests' own browser stand-in follows personal links with it.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _watch.leaks:
        print("\nSecrets found in log records:\n" + "\n".join(_watch.leaks[:20]))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    return await database_url(tmp_path)


@pytest.fixture
async def calbot(db_url: str) -> AsyncIterator[RunningCalbot]:
    async with running_calbot(db_url) as running:
        yield running
