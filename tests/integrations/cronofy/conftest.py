from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.ports import TokenSet
from integrations.cronofy import CronofyClient
from integrations.cronofy.sandbox import RunningSandbox, start_sandbox

CLIENT_ID = "calbot-test-client"
CLIENT_SECRET = "calbot-test-secret-0123456789"
REDIRECT_URI = "http://localhost:3000/oauth/cronofy/callback"


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    running = await start_sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    try:
        yield running
    finally:
        await running.close()


def make_client(sandbox: RunningSandbox, **kwargs) -> CronofyClient:
    options = {"backoff_base": 0.01, "timeout": 5.0, **kwargs}
    return CronofyClient(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        api_url=sandbox.url,
        app_url=sandbox.url,
        **options,
    )


@pytest.fixture
async def client(sandbox: RunningSandbox) -> AsyncIterator[CronofyClient]:
    cronofy = make_client(sandbox)
    try:
        yield cronofy
    finally:
        await cronofy.aclose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as session:
        yield session


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def approve(
    http: httpx.AsyncClient,
    sandbox: RunningSandbox,
    authorize_url: str,
    email: str,
    decision: str = "approve",
) -> str:
    """Acts out the browser: returns the redirect location."""
    response = await http.post(
        f"{sandbox.url}/_sandbox/approve",
        json={"authorize_url": authorize_url, "email": email, "decision": decision},
    )
    assert response.status_code == 200, response.text
    return response.json()["location"]


async def connect(
    client: CronofyClient, http: httpx.AsyncClient, sandbox: RunningSandbox, email: str
) -> TokenSet:
    url = client.authorize_url(redirect_uri=REDIRECT_URI, state="st-" + email)
    location = await approve(http, sandbox, url, email)
    return await client.exchange_code(code=query_of(location)["code"], redirect_uri=REDIRECT_URI)
