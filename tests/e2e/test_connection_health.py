"""Connections that break later: Cronofy push notifications and the scheduled health check."""

from __future__ import annotations

import httpx

from integrations.cronofy.push import sign
from tests.support import RunningCalbot


async def _state(calbot: RunningCalbot, user: str) -> str | None:
    record = await calbot.runtime.store.find_user(calbot.session(user).actor().user)
    assert record is not None
    connection = await calbot.runtime.store.get_connection(record.id)
    return connection.state if connection else None


async def test_push_notification_of_a_disconnected_profile_asks_to_relink(
    calbot: RunningCalbot,
) -> None:
    await calbot.connect_calendar("alice")
    sandbox = calbot.runtime.sandbox.state
    assert len(sandbox.channels()) == 1, "a push channel is opened right after connecting"

    deliveries = await sandbox.disconnect("alice@contoso.com")
    assert [d.status for d in deliveries] == [202]
    await calbot.settle()

    assert await _state(calbot, "alice") == "needs_relink"
    dm = calbot.session("alice").last_dm()
    assert dm.message.text == "Your Office 365 calendar (alice@contoso.com) needs to be reconnected"
    [relink] = dm.message.buttons()
    assert relink.url and "/relink/" in relink.url

    # A second notification, or the scheduled check, does not DM again.
    await sandbox.notify(sandbox.user("alice@contoso.com").sub, "profile_disconnected")
    await calbot.runtime.health.run_once()
    await calbot.settle()
    relinks = [dm for dm in calbot.session("alice").inbox() if "reconnected" in dm.message.text]
    assert len(relinks) == 1

    # After relinking, the next check marks it connected again.
    sandbox.reconnect("alice@contoso.com")
    await calbot.runtime.store.mark_check_due(await _conn_id(calbot, "alice"))
    await calbot.runtime.health.run_once()
    assert await _state(calbot, "alice") == "connected"


async def _conn_id(calbot: RunningCalbot, user: str) -> int:
    record = await calbot.runtime.store.find_user(calbot.session(user).actor().user)
    assert record is not None
    connection = await calbot.runtime.store.get_connection(record.id)
    assert connection is not None
    return connection.id


async def test_revoked_authorization_is_found_by_the_health_check_and_told_once(
    calbot: RunningCalbot,
) -> None:
    await calbot.connect_calendar("bob")
    sandbox = calbot.runtime.sandbox.state
    sandbox.expire_access_tokens("bob@contoso.com")
    sandbox.fail_refresh("bob@contoso.com")

    await calbot.runtime.store.mark_check_due(await _conn_id(calbot, "bob"))
    assert await calbot.runtime.health.run_once() == 1
    await calbot.settle()
    assert await _state(calbot, "bob") == "revoked"
    dm = calbot.session("bob").last_dm()
    assert dm.message.text.startswith("Your calendar connection stopped working")
    assert [b.label for b in dm.message.buttons()] == ["Reconnect"]

    await calbot.runtime.store.mark_check_due(await _conn_id(calbot, "bob"))
    await calbot.runtime.health.run_once()
    await calbot.settle()
    stopped = [dm for dm in calbot.session("bob").inbox() if "stopped working" in dm.message.text]
    assert len(stopped) == 1

    # The Reconnect button gives a new link, and connecting again makes it healthy.
    answer = await calbot.session("bob").press(dm.message.buttons()[0])
    assert answer is not None and "new personal link" in answer.text
    await calbot.settle()
    url = calbot.session("bob").last_dm().message.buttons()[0].url
    assert url
    await calbot.session("bob").follow_connect_link(url, sandbox_url=calbot.sandbox_url)
    assert await _state(calbot, "bob") == "connected"


async def test_health_check_refreshes_tokens_that_are_about_to_expire(
    calbot: RunningCalbot,
) -> None:
    await calbot.connect_calendar("carol")
    store = calbot.runtime.store
    record = await store.find_user(calbot.session("carol").actor().user)
    assert record is not None
    before = await store.connection_tokens(record.id)
    assert before is not None
    calbot.runtime.sandbox.state.expire_access_tokens("carol@contoso.com")
    from datetime import UTC, datetime

    async with calbot.runtime.engine.begin() as conn:
        from sqlalchemy import text

        await conn.execute(
            text("UPDATE calendar_connections SET expires_at = :t"),
            {"t": datetime(2020, 1, 1, tzinfo=UTC)},
        )
    await store.mark_check_due(await _conn_id(calbot, "carol"))
    await calbot.runtime.health.run_once()
    after = await store.connection_tokens(record.id)
    assert after is not None
    assert after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token, "Cronofy rotates refresh tokens"
    assert await _state(calbot, "carol") == "connected"


async def test_forged_or_unsigned_notifications_are_refused(calbot: RunningCalbot) -> None:
    await calbot.connect_calendar("dan")
    channel = calbot.runtime.sandbox.state.channels()[0]
    body = b'{"notification": {"type": "profile_disconnected"}}'
    async with httpx.AsyncClient() as http:
        unsigned = await http.post(channel.callback_url, content=body)
        wrong = await http.post(
            channel.callback_url,
            content=body,
            headers={"Cronofy-HMAC-SHA256": sign(body, "not-the-secret")},
        )
        altered = await http.post(
            channel.callback_url,
            content=body + b" ",
            headers={"Cronofy-HMAC-SHA256": sign(body, "sandbox-secret")},
        )
        unknown = await http.post(
            f"{calbot.url}/webhooks/cronofy/not-a-channel",
            content=body,
            headers={"Cronofy-HMAC-SHA256": sign(body, "sandbox-secret")},
        )
        several = await http.post(
            channel.callback_url,
            content=b'{"notification": {"type": "verification"}}',
            headers={
                "Cronofy-HMAC-SHA256": "bogus,"
                + sign(b'{"notification": {"type": "verification"}}', "sandbox-secret")
            },
        )
    assert (unsigned.status_code, wrong.status_code, altered.status_code) == (401, 401, 401)
    assert unknown.status_code == 404
    assert several.status_code == 202
    assert await _state(calbot, "dan") == "connected"
