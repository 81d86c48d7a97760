"""CronofyClient against a running sandbox: the whole connect → use → revoke cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import CalendarAuthError, CalendarNotFound, InvalidGrant

from .conftest import REDIRECT_URI, approve, connect, query_of


async def test_full_lifecycle(client, sandbox, http):
    url = client.authorize_url(redirect_uri=REDIRECT_URI, state="s-1")
    location = await approve(http, sandbox, url, "Jane.Doe@Contoso.com")
    assert location.startswith(REDIRECT_URI + "?")
    params = query_of(location)
    assert params["state"] == "s-1" and len(params["code"]) == 32

    before = datetime.now(UTC)
    tokens = await client.exchange_code(code=params["code"], redirect_uri=REDIRECT_URI)
    user = sandbox.state.user("jane.doe@contoso.com")
    assert user is not None
    assert tokens.sub == user.sub and tokens.sub.startswith("acc_")
    assert (
        before + timedelta(seconds=3590)
        < tokens.expires_at
        <= datetime.now(UTC) + timedelta(seconds=3600)
    )
    assert "read_free_busy" in tokens.scope
    assert tokens.linking_profile is not None
    assert tokens.linking_profile.provider_name == "exchange"
    assert tokens.linking_profile.provider_service == "office365"
    assert tokens.linking_profile.profile_name == "jane.doe@contoso.com"

    info = await client.userinfo(tokens.access_token)
    assert info.sub == tokens.sub and info.email == "jane.doe@contoso.com"
    assert info.zoneinfo == "Europe/London" and info.name
    (profile,) = info.profiles
    assert profile.connected and not profile.initial_sync_required and profile.relink_url is None
    assert profile.profile_id == tokens.linking_profile.profile_id

    (calendar,) = await client.calendars(tokens.access_token)
    assert calendar.calendar_name == "Calendar" and calendar.primary
    assert not calendar.readonly and not calendar.deleted
    assert calendar.provider_name == "exchange" and calendar.calendar_id.startswith("cal_")

    assert [p.profile_id for p in await client.profiles(tokens.access_token)] == [
        profile.profile_id
    ]

    refreshed = await client.refresh(tokens.refresh_token)
    assert refreshed.refresh_token != tokens.refresh_token
    assert refreshed.access_token != tokens.access_token
    assert refreshed.sub is None  # Cronofy's refresh answer does not name the account
    with pytest.raises(InvalidGrant):
        await client.refresh(tokens.refresh_token)  # rotated away
    assert (await client.userinfo(refreshed.access_token)).sub == tokens.sub

    await client.revoke(refreshed.refresh_token)
    with pytest.raises(CalendarAuthError):
        await client.userinfo(refreshed.access_token)
    with pytest.raises(CalendarAuthError):
        await client.calendars(tokens.access_token)
    with pytest.raises(InvalidGrant):
        await client.refresh(refreshed.refresh_token)


async def test_code_is_single_use_and_bound_to_redirect_uri(client, sandbox, http):
    url = client.authorize_url(redirect_uri=REDIRECT_URI, state="s")
    code = query_of(await approve(http, sandbox, url, "a@contoso.com"))["code"]
    with pytest.raises(InvalidGrant):
        await client.exchange_code(code=code, redirect_uri=REDIRECT_URI + "/other")
    # The failed attempt used the code up, as a leaked code must not be retried.
    with pytest.raises(InvalidGrant):
        await client.exchange_code(code=code, redirect_uri=REDIRECT_URI)

    code = query_of(await approve(http, sandbox, url, "a@contoso.com"))["code"]
    await client.exchange_code(code=code, redirect_uri=REDIRECT_URI)
    with pytest.raises(InvalidGrant):
        await client.exchange_code(code=code, redirect_uri=REDIRECT_URI)


async def test_google_user_and_unknown_token(client, sandbox, http):
    url = client.authorize_url(redirect_uri=REDIRECT_URI, state="g")
    response = await http.post(
        f"{sandbox.url}/_sandbox/approve",
        json={"authorize_url": url, "email": "g@example.org", "provider": "google"},
    )
    code = query_of(response.json()["location"])["code"]
    tokens = await client.exchange_code(code=code, redirect_uri=REDIRECT_URI)
    assert tokens.linking_profile is not None
    assert (tokens.linking_profile.provider_name, tokens.linking_profile.provider_service) == (
        "google",
        "gsuite",
    )
    with pytest.raises(CalendarAuthError):
        await client.userinfo("not-a-token")


async def test_expired_access_token_is_401_until_refreshed(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "e@contoso.com")
    sandbox.state.expire_access_tokens("e@contoso.com")
    with pytest.raises(CalendarAuthError):
        await client.userinfo(tokens.access_token)
    fresh = await client.refresh(tokens.refresh_token)
    assert (await client.userinfo(fresh.access_token)).email == "e@contoso.com"


async def test_revoke_by_access_token(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "r@contoso.com")
    await client.revoke(tokens.access_token)
    with pytest.raises(InvalidGrant):
        await client.refresh(tokens.refresh_token)
    await client.revoke(tokens.access_token)  # revoking twice is harmless


async def test_disconnected_profile_has_relink_url(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "d@contoso.com")
    await sandbox.state.disconnect("d@contoso.com")
    (profile,) = (await client.userinfo(tokens.access_token)).profiles
    assert not profile.connected
    assert profile.relink_url and profile.relink_url.startswith(sandbox.url + "/relink/exchange")
    # Following the relink URL reconnects the profile, as the user would.
    page = await http.get(profile.relink_url)
    assert page.status_code == 200 and "Reconnect" in page.text
    await http.post(profile.relink_url)
    assert (await client.profiles(tokens.access_token))[0].connected


async def test_channels(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "c@contoso.com")
    channel = await client.create_channel(tokens.access_token, "http://127.0.0.1:9/hook/abc")
    assert channel["channel_id"].startswith("chn_")
    assert channel["callback_url"] == "http://127.0.0.1:9/hook/abc"
    again = await client.create_channel(tokens.access_token, "http://127.0.0.1:9/hook/abc")
    assert again["channel_id"] == channel["channel_id"]
    typed = await client.create_channel(
        tokens.access_token, "http://127.0.0.1:9/hook/abc", only_types=["profile_disconnected"]
    )
    assert typed["filters"] == {"only_types": ["profile_disconnected"]}
    listed = await client.channels(tokens.access_token)
    assert {c["channel_id"] for c in listed} == {channel["channel_id"], typed["channel_id"]}
    await client.delete_channel(tokens.access_token, channel["channel_id"])
    with pytest.raises(CalendarNotFound):
        await client.delete_channel(tokens.access_token, channel["channel_id"])
    assert [c["channel_id"] for c in await client.channels(tokens.access_token)] == [
        typed["channel_id"]
    ]


async def test_context_manager_closes():
    from integrations.cronofy import CronofyClient

    async with CronofyClient(client_id="i", client_secret="s") as cronofy:
        assert cronofy.client_id == "i"


async def test_implements_calendar_port():
    from bot.ports import CalendarPort
    from integrations.cronofy import CronofyClient

    client = CronofyClient(client_id="i", client_secret="s")
    port: CalendarPort = client  # the structural check is mypy's
    assert callable(port.authorize_url)
    await client.aclose()


async def test_bad_calendar_spec_is_rejected(sandbox, http):
    response = await http.post(
        f"{sandbox.url}/_sandbox/users", json={"email": "z@x.com", "calendars": [3]}
    )
    assert response.status_code == 422
    assert (await http.post(f"{sandbox.url}/_sandbox/users", content=b"{")).status_code == 400
