"""A calbot runtime with Slack on, served on a real port, talking to a mock Slack."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer, unused_port

from bot.connect import hash_token
from bot.identity import ChatProfile, UserRef
from bot.ports import NewConnection, TokenSet
from bot.settings import Settings
from integrations.runtime import Runtime, build_runtime
from integrations.slack import SlackAdapter
from storage.crypto import generate_key
from tests.fakes.mock_slack import MockSlack
from tests.fakes.slack_payloads import (
    FORM,
    JSON,
    block_actions_body,
    command_body,
    event_body,
    signed_headers,
)
from tests.support import database_url

SECRET = "test-secret"
ALICE = "U1"
ALICE_EMAIL = "alice@contoso.com"


@dataclass
class Calbot:
    """The app under test plus helpers that speak Slack's signed HTTP requests."""

    runtime: Runtime
    client: TestClient[Any, Any]
    base_url: str
    slack: MockSlack

    @property
    def adapter(self) -> SlackAdapter:
        return self.runtime.extras["slack"]

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        secret: str | None = SECRET,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> ClientResponse:
        sent = {"Content-Type": content_type, **(headers or {})}
        if secret is not None:
            sent.update(signed_headers(body, secret, timestamp=timestamp))
        return await self.client.post("/slack/events", data=body.encode(), headers=sent)

    async def command(self, text: str, user_id: str = ALICE, **kwargs: Any) -> ClientResponse:
        body = command_body(text, user_id=user_id, response_url=self.slack.response_url("cmd"))
        return await self.post(body, FORM, **kwargs)

    async def click(
        self, action_id: str, value: str | None = None, **kwargs: Any
    ) -> ClientResponse:
        body = block_actions_body(
            action_id, value, response_url=self.slack.response_url("action"), **kwargs
        )
        return await self.post(body, FORM)

    async def event(self, event: dict[str, Any], *, event_id: str, **kwargs: Any) -> ClientResponse:
        return await self.post(event_body(event, event_id=event_id), JSON, **kwargs)

    async def idle(self) -> None:
        """Wait for the work listeners started after their ack."""
        await self.adapter.background.idle(seconds=10)

    async def user_id(self, slack_user: str = ALICE) -> int:
        user = await self.runtime.store.find_user(UserRef("slack", "T1", slack_user))
        assert user is not None
        return user.id

    async def connected(self, slack_user: str, email: str) -> None:
        """Give a user a working calendar connection without the browser round trip
        (test_connect_flow.py covers that): a link, clicked and completed."""
        store, now = self.runtime.store, self.runtime.clock.now()
        user = await store.upsert_user(
            UserRef("slack", "T1", slack_user), ChatProfile(display_name=slack_user, email=email)
        )
        link = await store.create_link(
            user.id, hash_token(secrets.token_urlsafe(16)), now + timedelta(days=1), []
        )
        nonce = secrets.token_urlsafe(8)
        await store.click_link(link.id, nonce, now)
        tokens = TokenSet("access", "refresh", now + timedelta(hours=1), sub=f"sub-{slack_user}")
        connection = NewConnection(
            tokens=tokens,
            cronofy_sub=f"sub-{slack_user}",
            provider_name="exchange",
            provider_service="office365",
            profile_id=f"pro-{slack_user}",
            profile_name=email,
        )
        assert await store.complete_link(link.id, nonce, connection, now, [])


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stray SLACK_*/CRONOFY_* variables would switch modes (OAuth, real Cronofy).
    for name in list(os.environ):
        if name.startswith(("SLACK_", "CRONOFY_", "MICROSOFT_", "CALBOT_")):
            monkeypatch.delenv(name)


@pytest.fixture
async def slack() -> AsyncIterator[MockSlack]:
    async with MockSlack.running() as mock:
        mock.add_user(
            ALICE,
            name="alice",
            real_name="Alice Example",
            display_name="Alice",
            email=ALICE_EMAIL,
            tz="Europe/London",
        )
        mock.add_user(
            "U2", name="bob", real_name="Bob Admin", email="bob@contoso.com", is_admin=True
        )
        yield mock


@asynccontextmanager
async def running_calbot(
    tmp_path: Any, slack: MockSlack, **overrides: Any
) -> AsyncIterator[Calbot]:
    """A migrated database (SQLite, or PostgreSQL with TEST_DATABASE_URL), the runtime
    with Slack on, served on a free port."""
    db_url = await database_url(tmp_path)
    port = unused_port()
    base_url = f"http://127.0.0.1:{port}"
    values: dict[str, Any] = {
        "DATABASE_URL": db_url,
        "TOKEN_ENCRYPTION_KEY": generate_key(),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "PUBLIC_BASE_URL": base_url,
        **overrides,
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    runtime = await build_runtime(settings)
    client = TestClient(TestServer(runtime.web, host="127.0.0.1", port=port))
    await client.start_server()
    try:
        yield Calbot(runtime=runtime, client=client, base_url=base_url, slack=slack)
    finally:
        await client.close()
        await runtime.close()


@pytest.fixture
async def calbot(tmp_path: Any, slack: MockSlack, clean_env: None) -> AsyncIterator[Calbot]:
    async with running_calbot(tmp_path, slack) as app:
        yield app
