"""Retries against real sockets: sandbox faults, refused connections and timeouts."""

from __future__ import annotations

import socket
import time

import pytest

from bot.errors import CalendarUnavailable, InvalidGrant
from integrations.cronofy import CronofyClient

from .conftest import CLIENT_ID, CLIENT_SECRET, connect, make_client


async def test_two_503_then_success(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "a@contoso.com")
    sandbox.state.requests.clear()
    sandbox.state.fail_next(2, status=503)
    info = await client.userinfo(tokens.access_token)
    assert info.email == "a@contoso.com"
    assert [r.status for r in sandbox.state.requests] == [503, 503, 200]


async def test_token_endpoint_is_retried_too(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "t@contoso.com")
    response = await http.post(
        f"{sandbox.url}/_sandbox/faults", json={"fail_next": 1, "status": 502}
    )
    assert response.json()["fail_next"] == 1
    refreshed = await client.refresh(tokens.refresh_token)
    assert refreshed.access_token
    assert sandbox.state.request_count("/oauth/token") == 3  # exchange, 502, refresh


async def test_429_honours_retry_after(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "b@contoso.com")
    await http.post(
        f"{sandbox.url}/_sandbox/faults", json={"fail_next": 1, "status": 429, "retry_after": 1}
    )
    started = time.monotonic()
    await client.calendars(tokens.access_token)
    # backoff_base is 0.01 s, so only the header can explain a wait of about a second.
    assert 0.9 <= time.monotonic() - started < 5
    assert sandbox.state.request_count("/v1/calendars") == 2


async def test_budget_exhausted_is_unavailable(sandbox, http):
    client = make_client(sandbox, max_attempts=3)
    try:
        tokens = await connect(client, http, sandbox, "c@contoso.com")
        sandbox.state.fail_next(10, status=503)
        with pytest.raises(CalendarUnavailable) as caught:
            await client.profiles(tokens.access_token)
        assert "3 attempt" in str(caught.value) and "503" in str(caught.value)
        assert sandbox.state.request_count("/v1/profiles") == 3
        assert sandbox.state.faults.fail_next == 7
    finally:
        await client.aclose()


async def test_faults_can_be_cleared(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "f@contoso.com")
    await http.post(f"{sandbox.url}/_sandbox/faults", json={"fail_next": 50, "status": 500})
    await http.delete(f"{sandbox.url}/_sandbox/faults")
    assert (await client.userinfo(tokens.access_token)).email == "f@contoso.com"


async def test_refresh_fault_is_invalid_grant_and_kills_the_grant(client, sandbox, http):
    a = await connect(client, http, sandbox, "x@contoso.com")
    b = await connect(client, http, sandbox, "y@contoso.com")
    await http.post(
        f"{sandbox.url}/_sandbox/faults",
        json={"refresh": "invalid_grant", "email": "y@contoso.com"},
    )
    a2 = await client.refresh(a.refresh_token)  # another user's refresh is untouched
    with pytest.raises(InvalidGrant):
        await client.refresh(b.refresh_token)
    with pytest.raises(InvalidGrant):
        await client.refresh(b.refresh_token)
    assert not sandbox.state.faults.refresh
    sandbox.state.fail_refresh()  # anyone
    with pytest.raises(InvalidGrant):
        await client.refresh(a2.refresh_token)
    # No retry for invalid_grant: one request per attempt.
    assert [r.status for r in sandbox.state.requests if r.path == "/oauth/token"][-1] == 400


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_connection_refused_is_unavailable_after_retries():
    port = _free_port()
    client = CronofyClient(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        api_url=f"http://127.0.0.1:{port}",
        max_attempts=3,
        backoff_base=0.01,
    )
    try:
        with pytest.raises(CalendarUnavailable, match="ConnectError"):
            await client.userinfo("token")
    finally:
        await client.aclose()


async def test_timeout_is_unavailable(sandbox, http):
    client = make_client(sandbox, timeout=0.2, max_attempts=2)
    try:
        tokens = await connect(client, http, sandbox, "slow@contoso.com")
        await http.post(f"{sandbox.url}/_sandbox/faults", json={"latency_ms": 1000})
        started = time.monotonic()
        with pytest.raises(CalendarUnavailable, match="Timeout"):
            await client.userinfo(tokens.access_token)
        assert time.monotonic() - started < 1.5
    finally:
        await client.aclose()


async def test_latency_slows_but_succeeds(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "l@contoso.com")
    sandbox.state.set_latency(150)
    started = time.monotonic()
    await client.userinfo(tokens.access_token)
    assert time.monotonic() - started >= 0.14
