"""`mount(runtime)`: when Slack is on, what it registers, and Socket Mode."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from integrations.slack import SlackAdapter, manifest
from integrations.slack.auth import InstalledTokens
from integrations.slack.chat import SlackChat
from tests.fakes.mock_slack import MockSlack
from tests.fakes.slack_payloads import dm_event
from tests.integrations.slack.conftest import ALICE, Calbot, running_calbot


async def test_mounted_when_configured(calbot: Calbot) -> None:
    runtime = calbot.runtime
    assert isinstance(runtime.chats["slack"], SlackChat)
    assert runtime.outbox._chats is runtime.chats  # the outbox delivers through it
    assert isinstance(runtime.extras["slack"], SlackAdapter)
    assert runtime.extras["slack"].close in runtime.extras["closers"]
    assert "starters" not in runtime.extras or not runtime.extras["starters"]  # HTTP mode
    paths = {
        r.resource.canonical
        for r in runtime.web.router.routes()
        if r.method == "POST" and r.resource is not None
    }
    assert "/slack/events" in paths


@pytest.mark.usefixtures("clean_env")
async def test_not_mounted_without_slack_settings(tmp_path: Any, slack: MockSlack) -> None:
    async with running_calbot(
        tmp_path, slack, SLACK_BOT_TOKEN=None, SLACK_SIGNING_SECRET=None
    ) as app:
        assert "slack" not in app.runtime.chats
        assert "slack" not in app.runtime.extras
        response = await app.client.post("/slack/events", data="{}")
        assert response.status in (404, 405)
    assert slack.calls == []


@pytest.mark.usefixtures("clean_env")
async def test_client_id_mounts_the_multi_workspace_install(
    tmp_path: Any, slack: MockSlack
) -> None:
    async with running_calbot(
        tmp_path,
        slack,
        SLACK_BOT_TOKEN=None,
        SLACK_CLIENT_ID="123.456",
        SLACK_CLIENT_SECRET="shh",
    ) as app:
        assert isinstance(app.runtime.chats["slack"], SlackChat)
        assert isinstance(app.adapter.tokens, InstalledTokens)
        routes = {
            (r.method, r.resource.canonical)
            for r in app.runtime.web.router.routes()
            if r.resource is not None
        }
        assert {
            ("POST", "/slack/events"),
            ("GET", "/slack/install"),
            ("GET", "/slack/oauth_redirect"),
        } <= routes
    assert slack.calls == []  # nothing is called until someone installs


@pytest.mark.usefixtures("clean_env")
async def test_without_manifest_the_oauth_install_is_reported_not_half_mounted(
    tmp_path: Any,
    slack: MockSlack,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(manifest, "MANIFEST", tmp_path / "missing.yml")
    monkeypatch.setattr(manifest.bot_scopes, "__defaults__", (tmp_path / "missing.yml",))
    with caplog.at_level(logging.ERROR, logger="integrations.slack"):
        async with running_calbot(
            tmp_path, slack, SLACK_BOT_TOKEN=None, SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="s"
        ) as app:
            assert "slack" not in app.runtime.chats
            response = await app.client.get("/slack/install", allow_redirects=False)
            assert response.status == 404
    assert "manifest.yml" in caplog.text


@pytest.mark.usefixtures("clean_env")
async def test_socket_mode(tmp_path: Any, slack: MockSlack) -> None:
    async with running_calbot(tmp_path, slack, SLACK_APP_TOKEN="xapp-test") as app:
        [start] = app.runtime.extras["starters"]
        await start()  # what `serve` does; returns once connected
        await slack.wait_for_socket()
        assert slack.calls_to("apps.connections.open")[0].headers["Authorization"] == (
            "Bearer xapp-test"
        )

        command = {
            "team_id": "T1",
            "channel_id": "C1",
            "channel_name": "interviewers",
            "user_id": ALICE,
            "command": "/calendar",
            "text": "help",
            "response_url": slack.response_url("socket"),
            "trigger_id": "1.2.3",
            "api_app_id": "ACALBOT",
        }
        envelope = await slack.socket_send("slash_commands", command)
        assert (await slack.socket_ack(envelope))["envelope_id"] == envelope
        await app.idle()
        [reply] = slack.calls_to("response_url")
        assert reply.params["text"] == "calbot help"

        event = {
            "team_id": "T1",
            "api_app_id": "ACALBOT",
            "type": "event_callback",
            "event_id": "EvSock1",
            "event_time": 1,
            "event": dm_event("status"),
        }
        await slack.socket_ack(await slack.socket_send("events_api", event))
        await slack.socket_ack(await slack.socket_send("events_api", event, retry_attempt=1))
        await app.idle()
        [answer] = slack.calls_to("chat.postMessage")
        assert answer.params["text"].startswith("Your calendar isn't connected yet")
    # runtime.close() ran the closer: the WebSocket is gone.
    assert slack.socket_count == 0
