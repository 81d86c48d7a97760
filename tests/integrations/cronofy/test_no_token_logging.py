"""Tokens and the client secret never reach a log record or an error message."""

from __future__ import annotations

import logging

import pytest

from bot.errors import CalendarError

from .conftest import CLIENT_SECRET, connect


async def test_tokens_never_logged(client, sandbox, http, caplog):
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx, httpcore, aiohttp
    tokens = await connect(client, http, sandbox, "quiet@contoso.com")
    sandbox.state.fail_next(1, status=503)
    await client.userinfo(tokens.access_token)
    refreshed = await client.refresh(tokens.refresh_token)
    await client.calendars(refreshed.access_token)
    errors: list[str] = []
    sandbox.state.fail_next(10, status=503)
    with pytest.raises(CalendarError) as caught:
        await client.refresh(refreshed.refresh_token)
    errors.append(str(caught.value))
    sandbox.state.clear_faults()
    await client.revoke(refreshed.access_token)
    for call in (
        lambda: client.refresh(refreshed.refresh_token),
        lambda: client.userinfo(refreshed.access_token),
    ):
        with pytest.raises(CalendarError) as caught:
            await call()
        errors.append(str(caught.value))

    ours = [r for r in caplog.records if r.name.startswith("integrations.cronofy")]
    assert any("retrying" in r.getMessage() for r in ours)
    assert any("gave up" in r.getMessage() for r in ours)
    secrets = {
        tokens.access_token,
        tokens.refresh_token,
        refreshed.access_token,
        refreshed.refresh_token,
        CLIENT_SECRET,
    }
    texts = [r.getMessage() for r in caplog.records] + [caplog.text, *errors]
    texts += [repr(tokens), repr(refreshed), repr(client)]
    for text in texts:
        for secret in secrets:
            assert secret not in text


async def test_api_key_never_logged(client, sandbox, http, caplog):
    """Availability sends the client secret as a bearer: it must stay out of logs too."""
    caplog.set_level(logging.DEBUG)
    sub = sandbox.state.add_user("k@contoso.com").sub
    body = {
        "participants": [{"members": [{"sub": sub}], "required": "all"}],
        "required_duration": {"minutes": 30},
        "query_periods": [{"start": "2026-05-04T09:00:00Z", "end": "2026-05-04T10:00:00Z"}],
    }
    sandbox.state.fail_next(1, status=503)
    await client.availability(body)
    errors = []
    for bad in ({}, {**body, "required_duration": {"minutes": 0}}):
        with pytest.raises(CalendarError) as caught:
            await client.availability(bad)
        errors.append(str(caught.value))
    texts = [r.getMessage() for r in caplog.records] + [caplog.text, *errors, repr(client)]
    assert any("retrying" in t for t in texts)
    assert all(CLIENT_SECRET not in t for t in texts)
