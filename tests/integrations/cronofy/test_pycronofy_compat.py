"""The official (synchronous) pycronofy SDK against the sandbox: proof of wire compatibility."""

from __future__ import annotations

import asyncio
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
