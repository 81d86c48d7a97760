"""The official (synchronous) pycronofy SDK against the sandbox: proof of wire compatibility."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pycronofy
import pytest
from pycronofy.exceptions import PyCronofyRequestError

from integrations.cronofy.push import sign

from .conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, approve, query_of


@pytest.fixture
def sdk(sandbox) -> pycronofy.Client:
    client = pycronofy.Client(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    # Instance attributes, so no global pycronofy.settings are patched for other tests.
    client.request_handler.base_url = sandbox.url
    client.app_base_url = sandbox.url
    return client


async def test_pycronofy_full_flow(sdk, sandbox, http):
    link = sdk.user_auth_link(REDIRECT_URI, state="py-state")
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == sandbox.url
    assert parse_qs(parts.query)["avoid_linking"] == ["False"]  # pycronofy's spelling

    page = await http.get(link)
    assert page.status_code == 200 and "Sign in to Office 365" in page.text

    location = await approve(http, sandbox, link, "py@contoso.com")
    assert query_of(location)["state"] == "py-state"
    auth = await asyncio.to_thread(sdk.get_authorization_from_code, query_of(location)["code"])
    assert auth["access_token"] and auth["refresh_token"]

    profiles = await asyncio.to_thread(sdk.list_profiles)
    assert profiles[0]["provider_name"] == "exchange"
    assert profiles[0]["profile_connected"] is True
    calendars = await asyncio.to_thread(sdk.list_calendars)
    assert calendars[0]["calendar_name"] == "Calendar" and calendars[0]["calendar_primary"]
    info = await asyncio.to_thread(sdk.userinfo)
    assert info["email"] == "py@contoso.com" and info["cronofy.type"] == "account"
    assert info["cronofy.data"]["profiles"][0]["profile_calendars"]

    old_refresh = auth["refresh_token"]
    refreshed = await asyncio.to_thread(sdk.refresh_authorization)
    assert refreshed["refresh_token"] != old_refresh
    assert not sdk.is_authorization_expired()

    channel = await asyncio.to_thread(
        sdk.create_notification_channel, "http://127.0.0.1:9/webhooks/cronofy/py"
    )
    assert channel["channel_id"].startswith("chn_")
    listed = await asyncio.to_thread(sdk.list_notification_channels)
    assert [c["channel_id"] for c in listed] == [channel["channel_id"]]
    await asyncio.to_thread(sdk.close_notification_channel, channel["channel_id"])

    access_token = sdk.auth.access_token
    await asyncio.to_thread(sdk.revoke_authorization)
    sdk.auth.update(access_token=access_token)
    with pytest.raises(PyCronofyRequestError) as caught:
        await asyncio.to_thread(sdk.list_calendars)
    assert caught.value.response.status_code == 401

    sdk.auth.update(refresh_token=refreshed["refresh_token"])
    with pytest.raises(PyCronofyRequestError) as caught:
        await asyncio.to_thread(sdk.refresh_authorization)
    assert caught.value.response.status_code == 400
    assert caught.value.response.json() == {"error": "invalid_grant"}


async def test_pycronofy_wrong_secret_and_hmac(sandbox):
    sdk = pycronofy.Client(client_id=CLIENT_ID, client_secret="wrong")
    sdk.request_handler.base_url = sandbox.url
    with pytest.raises(PyCronofyRequestError) as caught:
        await asyncio.to_thread(sdk.get_authorization_from_code, "code", REDIRECT_URI)
    assert caught.value.response.status_code == 401

    body = '{"notification":{"type":"change"}}'
    good = pycronofy.Client(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert good.hmac_valid(sign(body.encode(), CLIENT_SECRET), body)


async def test_pycronofy_events_and_free_busy(sdk, sandbox, http):
    """The SDK's upsert/delete/read_free_busy (with its own paging) speak the sandbox's wire."""
    link = sdk.user_auth_link(REDIRECT_URI, state="ev")
    location = await approve(http, sandbox, link, "pyev@contoso.com")
    await asyncio.to_thread(sdk.get_authorization_from_code, query_of(location)["code"])
    calendar_id = (await asyncio.to_thread(sdk.list_calendars))[0]["calendar_id"]
    start = datetime(2026, 5, 4, 9, tzinfo=UTC)
    for _ in range(2):  # the same event_id twice: one event
        await asyncio.to_thread(
            sdk.upsert_event,
            calendar_id,
            {
                "event_id": "py-1",
                "summary": "Interview",
                "start": start,
                "end": start + timedelta(hours=1),
                "tzid": "Etc/UTC",
                "attendees": {"invite": [{"email": "x@contoso.com", "display_name": "X"}]},
            },
        )
    assert [e.event_id for e in sandbox.state.events("pyev@contoso.com")] == ["py-1"]
    for hour in (11, 12, 13):
        begin = start.replace(hour=hour)
        sandbox.state.add_busy("pyev@contoso.com", begin, begin + timedelta(minutes=30))
    sandbox.state.free_busy_page_size = 3

    pages = await asyncio.to_thread(
        sdk.read_free_busy,
        from_date=date(2026, 5, 4),
        to_date=date(2026, 5, 5),
        tzid="Etc/UTC",
    )
    blocks = await asyncio.to_thread(pages.all)
    assert [b["start"] for b in blocks] == [
        "2026-05-04T09:00:00Z",
        "2026-05-04T11:00:00Z",
        "2026-05-04T12:00:00Z",
        "2026-05-04T13:00:00Z",
    ]
    assert {b["free_busy_status"] for b in blocks} == {"busy"}

    await asyncio.to_thread(sdk.delete_event, calendar_id, "py-1")
    assert all(not e.created_by_app for e in sandbox.state.events("pyev@contoso.com"))
