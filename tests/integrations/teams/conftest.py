"""Wire-level fixtures: calbot served on a real port, a fake Bot Connector, Teams payloads.

Activities are the recorded shapes in ``tests/fixtures/teams/`` with ``serviceUrl``
pointed at the fake connector, POSTed to ``/api/messages`` like Teams would.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from integrations.runtime import Runtime, build_runtime
from storage.crypto import generate_key
from storage.migrate import upgrade_async
from tests.fakes.mock_connector import MockConnector
from tests.support import bound_socket

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "teams"
TENANT = "3c1a7f2e-7a1d-4f3e-9b2c-0c0a705000aa"
ALICE_TEAMS_ID = "29:1Qz8rH3xB-alice-teams-id-0001"
ALICE_AAD = "6f1c2e8a-1111-4b7a-9c1e-a11ce0000001"
PERSONAL_CHAT = "a:1Hx3personal-alice-calbot-chat"
BOT_ID = "28:00000000-0000-0000-0000-0000ca1b0700"

_ids = itertools.count(1)


def load_activity(fixture: str, service_url: str, /, **overrides: Any) -> dict[str, Any]:
    """A recorded Teams activity with this test's serviceUrl and a fresh id."""
    activity = json.loads((FIXTURES / f"{fixture}.json").read_text())
    activity = copy.deepcopy(activity)
    activity["serviceUrl"] = service_url
    activity["id"] = f"{activity['id']}-{next(_ids)}"
    activity.update(overrides)
    return activity


def make_settings(db_path: Path, base_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "TOKEN_ENCRYPTION_KEY": generate_key(),
        "PUBLIC_BASE_URL": base_url,
        "SLACK_BOT_TOKEN": None,
        "SLACK_SIGNING_SECRET": None,
        "SLACK_CLIENT_ID": None,
        "SLACK_APP_TOKEN": None,
        "MICROSOFT_APP_ID": None,
        "MICROSOFT_APP_PASSWORD": None,
        "MICROSOFT_APP_TENANT_ID": None,
        "CRONOFY_CLIENT_ID": None,
        "CRONOFY_API_URL": None,
        "CRONOFY_APP_URL": None,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class TeamsHarness:
    """calbot (runtime + HTTP client) and the fake connector, with Teams-shaped helpers."""

    def __init__(self, runtime: Runtime, client: TestClient, connector: MockConnector) -> None:
        self.runtime = runtime
        self.client = client
        self.connector = connector

    @property
    def base_url(self) -> str:
        return self.runtime.settings.PUBLIC_BASE_URL

    def activity(self, fixture: str, /, **overrides: Any) -> dict[str, Any]:
        return load_activity(fixture, self.connector.url, **overrides)

    async def post(self, activity: dict[str, Any], **headers: str) -> Any:
        return await self.client.post("/api/messages", json=activity, headers=headers)

    async def say(self, text: str, **overrides: Any) -> Any:
        return await self.post(self.activity("message_personal", text=text, **overrides))


async def start_harness(
    tmp_path: Path, connector: MockConnector, **settings: Any
) -> tuple[Runtime, TestClient]:
    db = tmp_path / "calbot.db"
    sock = bound_socket()
    port = int(sock.getsockname()[1])
    base_url = f"http://127.0.0.1:{port}"
    config = make_settings(db, base_url, **settings)
    await upgrade_async(config.DATABASE_URL)
    runtime = await build_runtime(config)
    server = TestServer(
        runtime.web, host="127.0.0.1", port=port, socket_factory=lambda *_args: sock
    )
    client = TestClient(server)
    await client.start_server()
    return runtime, client


@pytest.fixture
async def connector() -> AsyncIterator[MockConnector]:
    async with MockConnector() as fake:
        fake.add_member(
            ALICE_TEAMS_ID,
            name="Alice Example",
            aad_object_id=ALICE_AAD,
            email="alice@contoso.com",
            tenant_id=TENANT,
            conversation_id=PERSONAL_CHAT,
        )
        yield fake


@pytest.fixture
async def teams(tmp_path: Path, connector: MockConnector) -> AsyncIterator[TeamsHarness]:
    runtime, client = await start_harness(tmp_path, connector)
    try:
        yield TeamsHarness(runtime, client, connector)
    finally:
        await client.close()
        await runtime.close()


@pytest.fixture
async def harness_factory(
    tmp_path: Path, connector: MockConnector
) -> AsyncIterator[Callable[..., Awaitable[TeamsHarness]]]:
    """For tests that need other settings (e.g. MICROSOFT_APP_ID)."""
    started: list[tuple[Runtime, TestClient]] = []

    async def make(**settings: Any) -> TeamsHarness:
        runtime, client = await start_harness(tmp_path, connector, **settings)
        started.append((runtime, client))
        return TeamsHarness(runtime, client, connector)

    yield make
    for runtime, client in reversed(started):
        await client.close()
        await runtime.close()
