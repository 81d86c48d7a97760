"""Multi-workspace install against the mock Slack: /slack/install → Slack's consent screen
(not followed; its state is taken) → /slack/oauth_redirect → installation stored →
onboarding DM; then each workspace works with its own token until it uninstalls."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse
from sqlalchemy import text
from yarl import URL

from bot.errors import ChatNotInstalled
from bot.identity import Recipient, UserRef
from bot.messages import simple
from integrations.slack.auth import InstalledTokens
from integrations.slack.install import SlackInstaller
from integrations.slack.manifest import bot_scopes
from tests.fakes.mock_slack import MockSlack
from tests.fakes.slack_payloads import FORM, JSON, command_body, event_body
from tests.integrations.slack.conftest import Calbot, running_calbot

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "client-secret"
COOKIE = "slack-app-oauth-state"
ACME, ACME_ADMIN = "T2", "U20"
GLOBEX, GLOBEX_ADMIN = "T3", "U30"


@pytest.fixture
async def app(tmp_path: Any, slack: MockSlack, clean_env: None) -> AsyncIterator[Calbot]:
    slack.oauth_app(CLIENT_ID, CLIENT_SECRET)
    slack.add_user(ACME_ADMIN, team=ACME, name="ada", real_name="Ada Admin", email="ada@acme.test")
    slack.add_user(GLOBEX_ADMIN, team=GLOBEX, name="gil", email="gil@globex.test")
    async with running_calbot(
        tmp_path,
        slack,
        SLACK_BOT_TOKEN=None,
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
    ) as running:
        yield running


async def start_install(app: Calbot) -> tuple[str, URL]:
    """GET /slack/install: the state it sends to Slack (and sets as a cookie)."""
    response = await app.client.get("/slack/install", allow_redirects=False)
    assert response.status == 302, await response.text()
    location = URL(response.headers["Location"])
    assert (location.scheme, location.host, location.path) == (
        "https",
        "slack.com",
        "/oauth/v2/authorize",
    )
    state = location.query["state"]
    cookie = response.cookies[COOKIE]
    assert cookie.value == state
    assert cookie["secure"] and cookie["httponly"]
    return state, location


async def finish_install(
    app: Calbot, state: str, code: str, *, cookie: str | None = None
) -> ClientResponse:
    """Slack's redirect back, as the installer's browser makes it (the state cookie is
    Secure, so over the test's plain HTTP it is sent by hand)."""
    headers = {"Cookie": f"{COOKIE}={cookie or state}"}
    return await app.client.get(
        "/slack/oauth_redirect", params={"code": code, "state": state}, headers=headers
    )


async def install(app: Calbot, team: str, user: str, team_name: str) -> str:
    """The whole install; returns the bot token Slack issued to that workspace."""
    state, location = await start_install(app)
    code = app.slack.approve_install(
        team=team,
        user=user,
        team_name=team_name,
        client_id=CLIENT_ID,
        redirect_uri=location.query["redirect_uri"],
    )
    page = await finish_install(app, state, code)
    assert page.status == 200, await page.text()
    assert f"calbot is installed in {team_name}" in html.unescape(await page.text())
    [exchange] = [c for c in app.slack.calls_to("oauth.v2.access") if c.params["code"] == code]
    token = str(exchange.response["access_token"])
    assert token.startswith(f"xoxb-{team}-")
    return token


async def signed_command(app: Calbot, text_: str, *, team: str, user: str) -> ClientResponse:
    body = command_body(
        text_, user_id=user, team_id=team, response_url=app.slack.response_url(f"{team}-{user}")
    )
    return await app.post(body, FORM)


def tokens_used(slack: MockSlack, method: str, user: str) -> set[str]:
    """Bearer tokens of the calls of `method` that went to `user` (or their DM)."""
    targets = {user, slack.dm_channel(user)}
    return {
        c.headers["Authorization"].removeprefix("Bearer ")
        for c in slack.calls_to(method)
        if {str(c.params.get(k)) for k in ("user", "users", "channel")} & targets
    }


async def test_install_mounts_routes_and_the_installation_store(app: Calbot) -> None:
    assert isinstance(app.runtime.extras["slack_installer"], SlackInstaller)
    assert isinstance(app.adapter.tokens, InstalledTokens)
    state, location = await start_install(app)
    query = location.query
    assert query["client_id"] == CLIENT_ID
    assert query["scope"].split(",") == bot_scopes()  # what manifest.yml asks for
    assert query["user_scope"] == ""
    assert query["redirect_uri"] == f"{app.base_url}/slack/oauth_redirect"
    # The state is stored in our database, one-time, and nothing was installed yet.
    async with app.runtime.engine.connect() as conn:
        states = (await conn.execute(text("SELECT state FROM slack_oauth_states"))).all()
        bots = (await conn.execute(text("SELECT count(*) FROM slack_bots"))).scalar_one()
    assert [row.state for row in states] == [state]
    assert bots == 0
    assert app.slack.calls == []


async def test_install_stores_the_workspace_and_dms_the_installer(app: Calbot) -> None:
    slack = app.slack
    token = await install(app, ACME, ACME_ADMIN, "Acme Corp")

    # bolt checked the new token once (auth.test) to learn the bot id.
    assert [c.headers["Authorization"] for c in slack.calls_to("auth.test")] == [f"Bearer {token}"]
    identity = await app.adapter.tokens.lookup(team_id=ACME, enterprise_id=None)
    assert identity is not None
    assert (identity.token, identity.team_id, identity.bot_id) == (token, ACME, "BCALBOT")

    # Tokens are encrypted at rest like every other secret.
    async with app.runtime.engine.connect() as conn:
        dump = repr((await conn.execute(text("SELECT * FROM slack_bots"))).all())
        dump += repr((await conn.execute(text("SELECT * FROM slack_installations"))).all())
    assert ACME in dump and token not in dump and "xoxb-" not in dump

    # The installer gets the consent onboarding card, posted with Acme's own token.
    await app.runtime.outbox.drain()
    [dm] = slack.dms_to(ACME_ADMIN)
    assert dm.blocks[0]["text"]["text"] == "Set up calendar access for your organisation"
    assert tokens_used(slack, "chat.postMessage", ACME_ADMIN) == {token}
    user = await app.runtime.store.find_user(UserRef("slack", ACME, ACME_ADMIN))
    assert user is not None and user.email == "ada@acme.test"


async def test_each_workspace_uses_its_own_token(app: Calbot) -> None:
    slack = app.slack
    acme = await install(app, ACME, ACME_ADMIN, "Acme Corp")
    globex = await install(app, GLOBEX, GLOBEX_ADMIN, "Globex")
    assert acme != globex
    await app.runtime.outbox.drain()
    slack.reset_calls()

    for team, user in ((ACME, ACME_ADMIN), (GLOBEX, GLOBEX_ADMIN)):
        response = await signed_command(app, "connect", team=team, user=user)
        assert response.status == 200
        assert await response.text() == ""
    await app.idle()
    await app.runtime.outbox.drain()

    replies = {c.path.rsplit("/", 1)[1]: c for c in slack.calls_to("response_url")}
    assert "sent you a DM" in replies[f"{ACME}-{ACME_ADMIN}"].params["text"]
    assert "sent you a DM" in replies[f"{GLOBEX}-{GLOBEX_ADMIN}"].params["text"]
    for method in ("users.info", "chat.postMessage"):
        assert tokens_used(slack, method, ACME_ADMIN) == {acme}, method
        assert tokens_used(slack, method, GLOBEX_ADMIN) == {globex}, method
    link_dm = slack.dms_to(ACME_ADMIN)[-1]
    assert any(
        e.get("url", "").startswith(f"{app.base_url}/connect/")
        for b in link_dm.blocks
        if b["type"] == "actions"
        for e in b["elements"]
    )


@pytest.mark.parametrize("event", ["app_uninstalled", "tokens_revoked"])
async def test_uninstall_removes_the_workspace_and_later_sends_fail_cleanly(
    app: Calbot, event: str
) -> None:
    slack = app.slack
    await install(app, ACME, ACME_ADMIN, "Acme Corp")
    globex = await install(app, GLOBEX, GLOBEX_ADMIN, "Globex")
    await app.runtime.outbox.drain()
    acme_user = await app.runtime.store.find_user(UserRef("slack", ACME, ACME_ADMIN))
    assert acme_user is not None

    payload: dict[str, Any] = {"type": event, "event_ts": "1700000500.000500"}
    if event == "tokens_revoked":
        payload["tokens"] = {"oauth": [], "bot": ["UCALBOT"]}
    response = await app.post(event_body(payload, event_id=f"Ev-{event}", team_id=ACME), JSON)
    assert response.status == 200
    await app.idle()
    slack.reset_calls()

    assert await app.adapter.tokens.lookup(team_id=ACME, enterprise_id=None) is None
    async with app.runtime.engine.connect() as conn:
        for table in ("slack_bots", "slack_installations"):
            teams = (await conn.execute(text(f"SELECT team_id FROM {table}"))).scalars().all()  # noqa: S608
            assert teams == [GLOBEX], table

    # A direct send: a neutral error, and not a single call to Slack.
    with pytest.raises(ChatNotInstalled):
        await app.runtime.chats["slack"].send_dm(Recipient(acme_user.ref), simple("hello?"))
    # Through the outbox: one attempt, then dead, not retried.
    await app.runtime.connect.send_link(acme_user)
    await app.runtime.outbox.drain()
    async with app.runtime.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT status, attempts, last_error FROM outbox WHERE key LIKE 'connect-dm:%'"
                )
            )
        ).all()
    assert [(r.status, r.attempts) for r in rows] == [("dead", 1)]
    assert "ChatNotInstalled" in rows[0].last_error
    assert slack.calls == []

    # A command from the uninstalled workspace gets bolt's "please reinstall" answer.
    response = await signed_command(app, "connect", team=ACME, user=ACME_ADMIN)
    assert response.status == 200
    [answer] = slack.calls_to("response_url")
    assert "reinstall" in answer.params["text"]
    assert [c.method for c in slack.calls] == ["response_url"]

    # The other workspace is untouched.
    response = await signed_command(app, "connect", team=GLOBEX, user=GLOBEX_ADMIN)
    assert response.status == 200
    await app.idle()
    await app.runtime.outbox.drain()
    assert tokens_used(slack, "chat.postMessage", GLOBEX_ADMIN) == {globex}


async def test_user_token_revocation_keeps_the_bot(app: Calbot) -> None:
    await install(app, ACME, ACME_ADMIN, "Acme Corp")
    payload = {"type": "tokens_revoked", "tokens": {"oauth": [ACME_ADMIN], "bot": []}}
    response = await app.post(event_body(payload, event_id="Ev-user", team_id=ACME), JSON)
    assert response.status == 200
    await app.idle()
    assert await app.adapter.tokens.lookup(team_id=ACME, enterprise_id=None) is not None


async def test_reinstall_replaces_the_token(app: Calbot) -> None:
    first = await install(app, ACME, ACME_ADMIN, "Acme Corp")
    second = await install(app, ACME, ACME_ADMIN, "Acme Corp")
    assert first != second
    identity = await app.adapter.tokens.lookup(team_id=ACME, enterprise_id=None)
    assert identity is not None and identity.token == second
    await app.runtime.outbox.drain()
    assert len(app.slack.dms_to(ACME_ADMIN)) == 1  # onboarding once per person


async def _problem(response: ClientResponse, status: int, title: str) -> str:
    page = html.unescape(await response.text())
    assert response.status == status, page
    assert response.content_type == "text/html"
    assert title in page
    assert 'href="/slack/install"' in page  # a way to start again
    assert response.headers["Cache-Control"] == "no-store"
    return page


async def _nothing_installed(app: Calbot) -> None:
    async with app.runtime.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM slack_bots"))).scalar_one()
    assert count == 0
    await app.runtime.outbox.drain()
    assert app.slack.calls_to("chat.postMessage") == []


async def test_forged_state_is_refused(app: Calbot) -> None:
    code = app.slack.approve_install(team=ACME, user=ACME_ADMIN, client_id=CLIENT_ID)
    # A state calbot never issued, even with a matching cookie.
    response = await finish_install(app, "forged-state", code)
    await _problem(response, 401, "expired or was already used")
    assert app.slack.calls_to("oauth.v2.access") == []  # the code was never exchanged
    await _nothing_installed(app)


async def test_state_without_its_cookie_is_refused(app: Calbot) -> None:
    state, _ = await start_install(app)
    code = app.slack.approve_install(team=ACME, user=ACME_ADMIN, client_id=CLIENT_ID)
    # A link started in someone else's browser: the state is real, the cookie isn't.
    response = await finish_install(app, state, code, cookie="another-state")
    await _problem(response, 400, "start the installation again")
    await _nothing_installed(app)


async def test_expired_state_is_refused(app: Calbot) -> None:
    state, _ = await start_install(app)
    past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
    async with app.runtime.engine.begin() as conn:
        await conn.execute(text("UPDATE slack_oauth_states SET expire_at = :t"), {"t": past})
    code = app.slack.approve_install(team=ACME, user=ACME_ADMIN, client_id=CLIENT_ID)
    await _problem(await finish_install(app, state, code), 401, "expired or was already used")
    await _nothing_installed(app)


async def test_a_state_works_once(app: Calbot) -> None:
    state, location = await start_install(app)
    redirect_uri = location.query["redirect_uri"]
    code = app.slack.approve_install(
        team=ACME, user=ACME_ADMIN, client_id=CLIENT_ID, redirect_uri=redirect_uri
    )
    assert (await finish_install(app, state, code)).status == 200
    again = app.slack.approve_install(team=GLOBEX, user=GLOBEX_ADMIN, client_id=CLIENT_ID)
    await _problem(await finish_install(app, state, again), 401, "expired or was already used")
    assert await app.adapter.tokens.lookup(team_id=GLOBEX, enterprise_id=None) is None


async def test_cancelled_and_refused_codes_get_their_own_pages(app: Calbot) -> None:
    state, _ = await start_install(app)
    cancelled = await app.client.get(
        "/slack/oauth_redirect",
        params={"error": "access_denied", "state": state},
        headers={"Cookie": f"{COOKIE}={state}"},
    )
    page = await _problem(cancelled, 200, "Installation cancelled")
    assert "Nothing was installed" in page

    state, _ = await start_install(app)
    await _problem(await finish_install(app, state, "made-up-code"), 401, "didn't confirm")
    await _nothing_installed(app)


async def test_database_trouble_during_the_callback_is_a_page_not_a_500(
    app: Calbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, location = await start_install(app)
    installer: SlackInstaller = app.runtime.extras["slack_installer"]
    store = installer.flow.settings.installation_store

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("database down")

    monkeypatch.setattr(store, "async_save", broken)
    code = app.slack.approve_install(
        team=ACME, user=ACME_ADMIN, redirect_uri=location.query["redirect_uri"]
    )
    page = await _problem(await finish_install(app, state, code), 503, "couldn't save")
    assert "Nothing was installed" not in page


async def test_bot_token_setting_is_ignored_in_oauth_mode(
    tmp_path: Any, slack: MockSlack, clean_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_calbot(
        tmp_path, slack, SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET
    ) as running:
        assert isinstance(running.adapter.tokens, InstalledTokens)
        # T1's old single-workspace token is not used: T1 hasn't installed through OAuth.
        assert await running.adapter.tokens.lookup(team_id="T1", enterprise_id=None) is None
    assert "SLACK_BOT_TOKEN is ignored" in caplog.text


async def test_single_workspace_uninstall_stops_sends_too(calbot: Calbot) -> None:
    """With SLACK_BOT_TOKEN there is nothing to delete, but the token is not used again."""
    response = await calbot.event({"type": "app_uninstalled"}, event_id="Ev-single")
    assert response.status == 200
    await calbot.idle()
    calbot.slack.reset_calls()
    with pytest.raises(ChatNotInstalled):
        await calbot.runtime.chats["slack"].send_dm(
            Recipient(UserRef("slack", "T1", "U1")), simple("hello?")
        )
    assert calbot.slack.calls == []
