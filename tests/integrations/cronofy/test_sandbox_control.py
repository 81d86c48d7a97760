"""The ``/_sandbox`` control API and push notifications."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from integrations.cronofy.push import HEADER, verify_hmac

from .conftest import CLIENT_SECRET, connect


class Receiver:
    """A local webhook endpoint that records what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/webhooks/cronofy/{key}", rec.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield rec
    finally:
        await runner.cleanup()


async def test_users_crud(sandbox, http):
    base = f"{sandbox.url}/_sandbox"
    created = await http.post(
        f"{base}/users",
        json={
            "email": "Ada@Contoso.com",
            "name": "Ada Lovelace",
            "zoneinfo": "America/New_York",
            "calendars": ["Work", {"calendar_name": "Holidays", "readonly": True}],
        },
    )
    assert created.status_code == 201
    user = created.json()
    assert user["email"] == "ada@contoso.com" and user["sub"].startswith("acc_")
    assert (user["provider_name"], user["provider_service"]) == ("exchange", "office365")
    assert [
        (c["calendar_name"], c["calendar_primary"], c["calendar_readonly"])
        for c in user["calendars"]
    ] == [
        ("Work", True, False),
        ("Holidays", False, True),
    ]
    assert (await http.post(f"{base}/users", json={"email": "ada@contoso.com"})).status_code == 409
    bad = await http.post(f"{base}/users", json={"email": "b@x.com", "provider": "aol"})
    assert bad.status_code == 422
    assert (await http.post(f"{base}/users", json={})).status_code == 422
    google = await http.post(f"{base}/users", json={"email": "g@x.com", "provider": "google"})
    assert google.json()["provider_service"] == "gsuite"

    listed = (await http.get(f"{base}/users")).json()["users"]
    assert [u["email"] for u in listed] == ["ada@contoso.com", "g@x.com"]
    assert (await http.get(f"{base}/users/ada@contoso.com")).json()["name"] == "Ada Lovelace"
    assert (await http.get(f"{base}/users/nobody@x.com")).status_code == 404

    # A pre-created user who then connects keeps their sub and calendars.
    assert (await http.post(f"{base}/reset")).json() == {"ok": True}
    assert (await http.get(f"{base}/users")).json() == {"users": []}


async def test_precreated_user_connects_with_its_calendars(client, sandbox, http):
    user = sandbox.state.add_user("p@contoso.com", calendars=["Main", "Other"])
    tokens = await connect(client, http, sandbox, "p@contoso.com")
    assert tokens.sub == user.sub
    assert [c.calendar_name for c in await client.calendars(tokens.access_token)] == [
        "Main",
        "Other",
    ]


async def test_disconnect_pushes_signed_notification(client, sandbox, http, receiver):
    tokens = await connect(client, http, sandbox, "n@contoso.com")
    other = await connect(client, http, sandbox, "other@contoso.com")
    channel = await client.create_channel(
        tokens.access_token, f"{receiver.url}/webhooks/cronofy/k1"
    )
    await client.create_channel(other.access_token, f"{receiver.url}/webhooks/cronofy/k2")

    response = await http.post(f"{sandbox.url}/_sandbox/users/n@contoso.com/disconnect")
    assert response.status_code == 200
    result = response.json()
    assert result["user"]["profile_connected"] is False
    assert result["deliveries"] == [
        {
            "channel_id": channel["channel_id"],
            "callback_url": channel["callback_url"],
            "type": "profile_disconnected",
            "status": 200,
            "error": None,
        }
    ]
    (headers, body) = receiver.received[0]
    assert len(receiver.received) == 1
    assert verify_hmac(body, headers[HEADER], CLIENT_SECRET)
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {
        "notification": {"type": "profile_disconnected"},
        "channel": {
            "channel_id": channel["channel_id"],
            "callback_url": channel["callback_url"],
            "filters": {},
        },
    }
    assert not (await client.profiles(tokens.access_token))[0].connected
    notes = (await http.get(f"{sandbox.url}/_sandbox/notifications")).json()["notifications"]
    assert [n["type"] for n in notes] == ["profile_disconnected"]

    reconnected = await http.post(f"{sandbox.url}/_sandbox/users/n@contoso.com/reconnect")
    assert reconnected.json()["user"]["profile_connected"] is True
    assert (await client.profiles(tokens.access_token))[0].connected


async def test_unreachable_callback_is_recorded_not_raised(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "u@contoso.com")
    await client.create_channel(tokens.access_token, "http://127.0.0.1:9/webhooks/cronofy/x")
    deliveries = await sandbox.state.disconnect("u@contoso.com")
    assert deliveries[0].status is None and deliveries[0].error


async def test_only_types_filter(client, sandbox, http, receiver):
    tokens = await connect(client, http, sandbox, "o@contoso.com")
    await client.create_channel(
        tokens.access_token, f"{receiver.url}/webhooks/cronofy/o", only_types=["change"]
    )
    assert await sandbox.state.disconnect("o@contoso.com") == []
    assert receiver.received == []


async def test_faults_api_validation(sandbox, http):
    base = f"{sandbox.url}/_sandbox/faults"
    assert (await http.post(base, json={"fail_next": "x"})).status_code == 422
    assert (await http.post(base, json={"fail_next": 1, "status": 200})).status_code == 422
    assert (await http.post(base, json={"refresh": ""})).status_code == 422
    state = (
        await http.post(
            base, json={"latency_ms": 5, "fail_next": 2, "status": 429, "retry_after": 1}
        )
    ).json()
    assert state["latency_ms"] == 5 and state["fail_next"] == 2 and state["status"] == 429
    assert (await http.get(base)).json()["retry_after"] == 1
    cleared = (await http.delete(base)).json()
    assert cleared["fail_next"] == 0 and cleared["latency_ms"] == 0


async def test_faults_spare_authorize_page_and_control_api(sandbox, http):
    sandbox.state.fail_next(5, status=503)
    assert (await http.get(f"{sandbox.url}/_sandbox/users")).status_code == 200
    page = await http.get(
        f"{sandbox.url}/oauth/authorize", params={"client_id": "x", "redirect_uri": "http://a/b"}
    )
    assert page.status_code == 400  # the real validation, not the injected 503
    assert (await http.get(f"{sandbox.url}/v1/userinfo")).status_code == 503


async def test_request_log_has_no_tokens(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "log@contoso.com")
    await client.userinfo(tokens.access_token)
    await client.refresh(tokens.refresh_token)
    raw = (await http.get(f"{sandbox.url}/_sandbox/requests")).text
    log = json.loads(raw)["requests"]
    assert {"method": "GET", "path": "/v1/userinfo", "status": 200} in log
    assert sum(1 for r in log if r["path"] == "/oauth/token") == 2
    assert not any(r["path"].startswith("/_sandbox") for r in log)
    for secret in (tokens.access_token, tokens.refresh_token, CLIENT_SECRET):
        assert secret not in raw
    assert (await http.delete(f"{sandbox.url}/_sandbox/requests")).json() == {"requests": []}
    assert sandbox.state.requests == []


async def test_channel_validation(client, sandbox, http):
    tokens = await connect(client, http, sandbox, "v@contoso.com")
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    url = f"{sandbox.url}/v1/channels"
    missing = await http.post(url, json={}, headers=headers)
    assert missing.status_code == 422 and "callback_url" in missing.json()["errors"]
    bad = await http.post(url, json={"callback_url": "ftp://x"}, headers=headers)
    assert bad.status_code == 422
    empty = await http.post(
        url, json={"callback_url": "https://x/y", "filters": {"calendar_ids": []}}, headers=headers
    )
    assert empty.status_code == 422
    assert (await http.post(url, json={"callback_url": "https://x/y"})).status_code == 401
