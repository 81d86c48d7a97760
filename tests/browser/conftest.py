"""Headless Chromium for the page tests: Debian's chromium, driven by Playwright's async API.

Playwright's browser binaries are never downloaded: the system chromium is launched via
``executable_path``. When it is missing or does not start, the tests are skipped with the
reason, so a machine without it still runs the rest of the suite.

The event loop is function-scoped (pytest-asyncio), and a Playwright connection belongs
to the loop that started it, so Playwright and the browser are started per test (about
a second each). Every test gets its own browser context: no cookies or cache are shared.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Error, Page, async_playwright

HERE = Path(__file__).parent
INSTALL_HINT = "run `make browsers` (apt-get install chromium)"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items; mark only the ones in this folder.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip(f"chromium not installed: {INSTALL_HINT}")
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS, timeout=30_000
            )
        except Error as exc:
            reason = (exc.message or str(exc)).strip().splitlines()[0]
            pytest.skip(f"chromium at {executable} failed to launch ({reason}): {INSTALL_HINT}")
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport={"width": 1024, "height": 720}, locale="en-GB")
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()
