"""Status → neutral error mapping, with recorded-style responses (respx)."""

from __future__ import annotations

import httpx
import pytest
import respx

from bot.errors import (
    CalendarAuthError,
    CalendarError,
    CalendarNotFound,
    CalendarRequestError,
    CalendarUnavailable,
    InvalidGrant,
)
from integrations.cronofy import CronofyClient

API = "https://api-de.cronofy.com"


@pytest.fixture
async def client():
    cronofy = CronofyClient(
        client_id="cid", client_secret="csecret", data_center="de", backoff_base=0.001
    )
    yield cronofy
    await cronofy.aclose()


async def test_422_errors_map(client):
    errors = {
        "name": [
            {
                "key": "errors.duplicate_calendar_name",
                "description": "A calendar with this name already exists",
            }
        ]
    }
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(f"{API}/v1/channels").respond(422, json={"errors": errors})
        with pytest.raises(CalendarRequestError) as caught:
            await client.create_channel("tok", "https://bot.example.com/hook")
    assert caught.value.status == 422 and caught.value.errors == errors
    assert route.call_count == 1
    assert "tok" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, None, CalendarAuthError),
        (403, None, CalendarAuthError),
        (404, None, CalendarNotFound),
        (402, {"errors": {}}, CalendarRequestError),
        (400, {"error": "invalid_request"}, CalendarRequestError),
    ],
)
async def test_4xx_are_mapped_and_not_retried(client, status, body, error):
    with respx.mock as mock:
        route = mock.get(f"{API}/v1/calendars").respond(status, json=body)
        with pytest.raises(error):
            await client.calendars("tok")
    assert route.call_count == 1


async def test_invalid_grant(client):
    with respx.mock as mock:
        route = mock.post(f"{API}/oauth/token").respond(400, json={"error": "invalid_grant"})
        with pytest.raises(InvalidGrant):
            await client.refresh("rt")
    assert route.call_count == 1


async def test_other_oauth_error_keeps_its_code(client):
    with respx.mock as mock:
        mock.post(f"{API}/oauth/token").respond(
            400, json={"error": "unsupported_grant_type", "error_description": "nope"}
        )
        with pytest.raises(CalendarRequestError) as caught:
            await client.exchange_code(code="c", redirect_uri="https://x")
    assert caught.value.errors == {
        "error": [{"key": "unsupported_grant_type", "description": "nope"}]
    }


async def test_token_request_body_and_parsing(client):
    with respx.mock as mock:
        route = mock.post(f"{API}/oauth/token").respond(
            200,
            json={
                "token_type": "bearer",
                "access_token": "at",
                "expires_in": 120,
                "refresh_token": "rt",
                "scope": "read_events",
                "account_id": "acc_1",
                "sub": "acc_1",
                "linking_profile": {
                    "provider_name": "exchange",
                    "provider_service": "office365",
                    "profile_id": "pro_1",
                    "profile_name": "j@contoso.com",
                },
                "some_future_field": {"ignored": True},
            },
        )
        tokens = await client.exchange_code(code="the-code", redirect_uri="https://x/cb")
    import json

    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "client_id": "cid",
        "client_secret": "csecret",
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "https://x/cb",
    }
    assert "authorization" not in route.calls.last.request.headers
    assert tokens.sub == "acc_1" and tokens.scope == "read_events"
    assert tokens.linking_profile and tokens.linking_profile.provider_service == "office365"
    assert "at" not in repr(tokens).replace("expires_at", "")


async def test_bearer_header_and_userinfo_parsing(client):
    body = {
        "sub": "acc_1",
        "email": "j@contoso.com",
        "name": "",
        "zoneinfo": "Europe/Berlin",
        "cronofy.type": "account",
        "cronofy.data": {
            "authorization": {"scope": "read_write", "status": "active"},
            "profiles": [
                {
                    "provider_name": "apple",
                    "provider_service": "icloud",
                    "profile_id": "pro_2",
                    "profile_name": "j@icloud.com",
                    "profile_connected": False,
                    "profile_initial_sync_required": True,
                    "profile_relink_url": "https://app.cronofy.com/relink/apple?email=j",
                    "profile_calendars": [],
                }
            ],
        },
    }
    with respx.mock as mock:
        route = mock.get(f"{API}/v1/userinfo").respond(200, json=body)
        info = await client.userinfo("access-tok")
    assert route.calls.last.request.headers["authorization"] == "Bearer access-tok"
    assert info.name is None and info.zoneinfo == "Europe/Berlin"
    (profile,) = info.profiles
    assert not profile.connected and profile.initial_sync_required
    assert profile.relink_url == "https://app.cronofy.com/relink/apple?email=j"


async def test_unexpected_shapes_are_calendar_errors(client):
    with respx.mock as mock:
        mock.get(f"{API}/v1/calendars").respond(200, json={"nope": []})
        mock.get(f"{API}/v1/profiles").respond(200, text="<html>")
        with pytest.raises(CalendarError, match="shape"):
            await client.calendars("tok")
        with pytest.raises(CalendarError, match="non-JSON"):
            await client.profiles("tok")


async def test_long_retry_after_gives_up_at_once(client):
    with respx.mock as mock:
        route = mock.get(f"{API}/v1/userinfo").respond(429, headers={"Retry-After": "3600"})
        with pytest.raises(CalendarUnavailable, match="429"):
            await client.userinfo("tok")
    assert route.call_count == 1


async def test_retry_after_http_date_and_transport_errors(client):
    with respx.mock as mock:
        route = mock.get(f"{API}/v1/profiles").mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
                httpx.ReadTimeout("slow"),
                httpx.ConnectError("refused"),
                httpx.Response(200, json={"profiles": []}),
            ]
        )
        assert await client.profiles("tok") == []
    assert route.call_count == 4


async def test_delete_channel_accepts_202(client):
    with respx.mock as mock:
        route = mock.delete(f"{API}/v1/channels/chn_1").respond(202)
        await client.delete_channel("tok", "chn_1")
    assert route.call_count == 1
