"""A mock Slack Web API on 127.0.0.1, speaking the real wire format.

Use it with the real slack_sdk/slack-bolt clients by pointing their base URL at
``mock.api_url`` (``SLACK_API_URL`` for calbot) and ``response_url`` payload fields at
``mock.response_url()``::

    async with MockSlack.running() as slack:
        slack.add_user("U1", team="T1", name="Alice", email="alice@contoso.com")
        ... exercise calbot ...
        [post] = slack.calls_to("chat.postMessage")
        assert post.params["channel"] == slack.dm_channel("U1")

Methods: auth.test, conversations.open, chat.postMessage (with message ``metadata``),
chat.update, chat.postEphemeral, conversations.history (``include_all_metadata``),
views.publish (Home tabs, up to 100 blocks), views.open and views.update (modals:
checked like Slack, a trigger_id exchanged once; ``modals`` holds the open ones),
users.info, users.list,
conversations.members and usergroups.users.list (cursor-paginated like Slack; any verb;
form, query or JSON parameters), and ``POST /response/{id}`` for ``respond()``. Every
call is recorded as a ``Call``.
Workspaces: a token belongs to one team (``tokens={"xoxb-test": "T1", "xoxb-t2": "T2"}``)
and, like Slack, only sees users, channels, user groups and DMs of its own team.
OAuth install: ``oauth_app(client_id, secret)`` registers the app; ``approve_install(team=…,
user=…)`` is the person pressing "Allow" on slack.com and returns the one-time ``code``
that ``oauth.v2.access`` (client id + secret, Basic auth or form) exchanges for a new bot
token of that team (``xoxb-<team>-<n>``, then valid for every method like a seeded one).
Socket Mode: ``apps.connections.open`` (app token ``xapp-test``) hands out
``ws://…/socket``; ``await mock.socket_send(type, payload)`` pushes an envelope to the
connected client and ``await mock.socket_ack(envelope_id)`` returns its acknowledgement.
Faults: ``fail_next(n, status=429, retry_after=...)`` or ``fail_next(n, status=503)``
answer the next n Web API calls with that HTTP error; ``fail_method(method, error)``
answers one method with ``ok: false``; ``hold(method)`` parks calls to a method until
the returned event is set; ``set_latency(seconds, method=...)`` answers slowly (after
the work is done, so a client that dies meanwhile leaves a message that landed unseen);
``rate_limit(method, per_second)`` answers 429 + ``Retry-After`` beyond a fixed or sliding
one-second window. Blocks are parsed with ``slack_sdk.models.blocks`` and rejected with
``invalid_blocks`` like Slack does.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

BOT_USER_ID = "UCALBOT"
BOT_ID = "BCALBOT"
MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100
MAX_MODAL_BLOCKS = 100
MAX_HISTORY_PAGE = 999


@dataclass
class Call:
    """One request the mock received."""

    method: str  # Web API method ("chat.postMessage") or "response_url"
    params: dict[str, Any]
    headers: dict[str, str]
    http_method: str
    status: int = 200
    response: Any = None
    path: str = ""
    received_at: float = 0.0  # time.monotonic() when the request arrived

    @property
    def ok(self) -> bool:
        return isinstance(self.response, dict) and bool(self.response.get("ok"))


@dataclass
class MockUser:
    id: str
    team: str = "T1"
    name: str = ""
    real_name: str = ""
    display_name: str = ""
    email: str | None = None
    tz: str = "Europe/London"
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False
    is_restricted: bool = False  # a guest

    def to_json(self) -> dict[str, Any]:
        handle = self.name or self.id.lower()
        real = self.real_name or self.name or handle
        profile: dict[str, Any] = {
            "real_name": real,
            "display_name": self.display_name,
            "real_name_normalized": real,
            "display_name_normalized": self.display_name,
            "team": self.team,
        }
        if self.email:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": self.team,
            "name": handle,
            "real_name": real,
            "deleted": self.deleted,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": 0,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": False,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": profile,
        }


@dataclass
class MockChannel:
    id: str
    name: str = ""
    members: list[str] = field(default_factory=list)
    private: bool = False
    bot_member: bool = True
    team: str = "T1"


@dataclass
class PostedMessage:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions
    metadata: dict[str, Any] | None = None
    landed_at: float = 0.0  # time.monotonic() when it was stored


@dataclass
class _RateLimit:
    """At most `per_second` answered calls per one-second window, then 429."""

    per_second: int
    sliding: bool
    retry_after: float
    answered: deque[float] = field(default_factory=deque)  # sliding: times in the window
    window_start: float = 0.0  # fixed: start of the current window
    window_count: int = 0
    rejected: int = 0

    def admit(self, now: float) -> bool:
        if self.sliding:
            while self.answered and self.answered[0] <= now - 1.0:
                self.answered.popleft()
            if len(self.answered) >= self.per_second:
                self.rejected += 1
                return False
            self.answered.append(now)
            return True
        if now - self.window_start >= 1.0:
            self.window_start = math.floor(now)
            self.window_count = 0
        if self.window_count >= self.per_second:
            self.rejected += 1
            return False
        self.window_count += 1
        return True


@dataclass
class _Grant:
    """An approved install waiting for its code to be exchanged."""

    team: str
    team_name: str
    user: str
    client_id: str | None
    redirect_uri: str | None
    scopes: tuple[str, ...]


@dataclass
class _Fault:
    remaining: int
    status: int
    retry_after: float | None
    method: str | None


class MockSlack:
    def __init__(self, *, tokens: dict[str, str] | None = None, team: str = "T1") -> None:
        self.team = team
        # token → team id; anything else is invalid_auth, revoked ones token_revoked
        self.tokens: dict[str, str] = dict(tokens or {"xoxb-test": team})
        self.app_tokens: set[str] = {"xapp-test"}
        self.revoked: set[str] = set()
        self.users: dict[str, MockUser] = {}
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], PostedMessage] = {}
        self.channels: dict[str, MockChannel] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.usergroup_teams: dict[str, str] = {}
        self.views: dict[str, dict[str, Any]] = {}  # user id → published Home view
        self.modals: dict[str, dict[str, Any]] = {}  # view id → modal, as last opened/updated
        self.exchanged_triggers: set[str] = set()
        self.latency: dict[str | None, float] = {}
        self.rate_limits: dict[str, _RateLimit] = {}
        self.page_cap = 1000  # largest page any paginated method returns
        self._dm_of: dict[str, str] = {}
        self._ts = itertools.count(1)
        self._faults: list[_Fault] = []
        self._method_errors: dict[str, list[str]] = {}
        self._holds: dict[str, asyncio.Event] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self.socket_acks: dict[str, dict[str, Any]] = {}
        self._envelopes = itertools.count(1)
        self.url = ""
        self.oauth_clients: dict[str, str] = {}  # client id → client secret
        self._grants: dict[str, _Grant] = {}  # unexchanged OAuth codes
        self._codes = itertools.count(1)

    # --- lifecycle ---------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{hook}", self._response_url)
        app.router.add_get("/socket", self._socket)
        return app

    async def start(self) -> MockSlack:
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        for event in self._holds.values():
            event.set()
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @classmethod
    @asynccontextmanager
    async def running(cls, **kwargs: Any) -> AsyncIterator[MockSlack]:
        mock = await cls(**kwargs).start()
        try:
            yield mock
        finally:
            await mock.close()

    @property
    def api_url(self) -> str:
        """Base URL for `AsyncWebClient(base_url=...)` / `SLACK_API_URL`."""
        return f"{self.url}/api/"

    def response_url(self, hook: str = "hook") -> str:
        """A `response_url` to put in command and action payloads."""
        return f"{self.url}/response/{hook}"

    # --- seeding and faults -------------------------------------------------------------

    def add_user(self, user_id: str, **fields: Any) -> MockUser:
        fields.setdefault("team", self.team)
        user = MockUser(id=user_id, **fields)
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        members: list[str] | None = None,
        *,
        name: str = "",
        private: bool = False,
        bot_member: bool = True,
        team: str | None = None,
    ) -> MockChannel:
        channel = MockChannel(
            channel_id,
            name or channel_id.lower(),
            list(members or []),
            private,
            bot_member,
            team or self.team,
        )
        self.channels[channel_id] = channel
        return channel

    def add_usergroup(self, group_id: str, members: list[str], *, team: str | None = None) -> None:
        self.usergroups[group_id] = list(members)
        self.usergroup_teams[group_id] = team or self.team

    def oauth_app(self, client_id: str, client_secret: str) -> None:
        """Accept `oauth.v2.access` from this app (a Slack app's credentials)."""
        self.oauth_clients[client_id] = client_secret

    def approve_install(
        self,
        *,
        team: str,
        user: str,
        team_name: str = "",
        client_id: str | None = None,
        redirect_uri: str | None = None,
        scopes: tuple[str, ...] = ("commands", "chat:write", "im:write", "users:read"),
    ) -> str:
        """A person approved the app on Slack's consent screen: the `code` Slack redirects
        back with. Exchanged once; `redirect_uri`, when given, must match the exchange's."""
        code = f"{team}.{next(self._codes)}.code"
        self._grants[code] = _Grant(
            team=team,
            team_name=team_name or f"Team {team}",
            user=user,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
        )
        return code

    def dm_channel(self, user_id: str) -> str:
        """The DM channel id conversations.open returns for a user (stable per user)."""
        return self._dm_of.setdefault(user_id, "D" + user_id.lstrip("UW"))

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 429,
        retry_after: float | None = 1,
        method: str | None = None,
    ) -> None:
        """Answer the next `count` Web API calls (of `method`, if given) with HTTP `status`."""
        after = retry_after if status == 429 else None
        self._faults.append(_Fault(count, status, after, method))

    def fail_method(self, method: str, error: str, count: int = 1) -> None:
        """Answer the next `count` calls of `method` with HTTP 200 `{"ok": false, "error": ...}`."""
        self._method_errors.setdefault(method, []).extend([error] * count)

    def hold(self, method: str) -> asyncio.Event:
        """Park calls to `method` until the returned event is set (or `release(method)`)."""
        event = self._holds.setdefault(method, asyncio.Event())
        event.clear()
        return event

    def release(self, method: str) -> None:
        event = self._holds.pop(method, None)
        if event is not None:
            event.set()

    def set_latency(self, seconds: float, *, method: str | None = None) -> None:
        """Answer calls (of `method`, or all) `seconds` late, after doing their work."""
        self.latency[method] = seconds

    def rate_limit(
        self,
        method: str,
        per_second: int,
        *,
        sliding: bool = False,
        retry_after: float = 1,
    ) -> None:
        """Answer 429 + Retry-After to calls of `method` beyond `per_second` per second.

        Fixed windows start on whole seconds of the mock's monotonic clock; a sliding
        window counts the calls answered in the last second.
        """
        self.rate_limits[method] = _RateLimit(per_second, sliding, retry_after)

    def reset_calls(self) -> None:
        self.calls.clear()

    # --- inspection ---------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def landed(self, event_type: str | None = None) -> list[PostedMessage]:
        """Messages posted so far (with metadata of `event_type`, if given), oldest first.

        Counted when stored, before any latency: a message can land although its poster
        never saw the answer.
        """
        return [
            m
            for m in self.messages.values()
            if event_type is None or (m.metadata or {}).get("event_type") == event_type
        ]

    def dms_to(self, user_id: str) -> list[PostedMessage]:
        """Top-level messages in the bot's DM with a user."""
        channel = self._dm_of.get(user_id)
        return [m for m in self.messages.values() if m.channel == channel and not m.thread_ts]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least `count` calls of `method` were answered; returns them."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_to(method)) >= count)
        return self.calls_to(method)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `predicate()` holds; it is checked whenever a call did its work."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    @property
    def socket_count(self) -> int:
        """How many Socket Mode clients are connected."""
        return len(self._sockets)

    async def wait_for_socket(self, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: bool(self._sockets))

    async def socket_send(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0
    ) -> str:
        """Push a Socket Mode envelope (`slash_commands`, `interactive`, `events_api`)."""
        await self.wait_for_socket()
        envelope_id = f"env-{next(self._envelopes)}"
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        return envelope_id

    async def socket_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The client's acknowledgement of an envelope (what `ack()` produced)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: envelope_id in self.socket_acks)
        return self.socket_acks[envelope_id]

    # --- handlers ----------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "ACALBOT"}}
        )
        async with self._changed:
            self._sockets.append(ws)
            self._changed.notify_all()
        try:
            async for frame in ws:
                if frame.type.name != "TEXT":
                    continue
                data = json.loads(frame.data)
                if isinstance(data, dict) and data.get("envelope_id"):
                    async with self._changed:
                        self.socket_acks[str(data["envelope_id"])] = data
                        self._changed.notify_all()
        finally:
            self._sockets.remove(ws)
        return ws

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await _params(request)
        call = Call(
            method,
            params,
            dict(request.headers),
            request.method,
            path=request.path,
            received_at=time.monotonic(),
        )
        hold = self._holds.get(method)
        if hold is not None:
            await hold.wait()
        try:
            response = self._fault_response(method) or self._rate_limited(method)
            if response is None:
                response = self._dispatch(method, params, request)
            call.status = response.status
            call.response = _body_of(response)
            delay = self.latency.get(method, self.latency.get(None, 0.0))
            if delay:
                async with self._changed:
                    self._changed.notify_all()  # the work is done: `wait_until` may look
                await asyncio.sleep(delay)
            return response
        finally:
            await self._record(call)

    async def _response_url(self, request: web.Request) -> web.Response:
        params = await _params(request)
        call = Call(
            "response_url", params, dict(request.headers), request.method, path=request.path
        )
        problem = _blocks_problem(params.get("blocks"))
        if problem:
            call.status = 400
            call.response = {"ok": False, "error": "invalid_blocks", "detail": problem}
            await self._record(call)
            return web.json_response(call.response, status=400)
        call.response = "ok"
        await self._record(call)
        return web.Response(text="ok")

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _fault_response(self, method: str) -> web.Response | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.method in (None, method):
                fault.remaining -= 1
                if fault.status == 429:
                    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else {}
                    return web.json_response(
                        {"ok": False, "error": "ratelimited"}, status=429, headers=headers
                    )
                return web.Response(
                    status=fault.status, text="upstream trouble", content_type="text/html"
                )
        self._faults = [f for f in self._faults if f.remaining > 0]
        return None

    def _rate_limited(self, method: str) -> web.Response | None:
        limit = self.rate_limits.get(method)
        if limit is None or limit.admit(time.monotonic()):
            return None
        return web.json_response(
            {"ok": False, "error": "ratelimited"},
            status=429,
            headers={"Retry-After": f"{limit.retry_after:g}"},
        )

    def _dispatch(self, method: str, params: dict[str, Any], request: web.Request) -> web.Response:
        token = _token(request, params)
        if method == "oauth.v2.access":  # authenticated by the app's id and secret, no token
            return self._oauth_v2_access(params, request)
        if method == "apps.connections.open":  # the only method taking an app-level token
            if token not in self.app_tokens:
                return _error("invalid_auth" if token else "not_authed")
            return _ok(url=self.url.replace("http", "ws", 1) + "/socket")
        handler = _METHODS.get(method)
        if handler is None:
            return _error("unknown_method")
        if token in self.revoked:
            return _error("token_revoked")
        if token not in self.tokens:
            return _error("not_authed" if not token else "invalid_auth")
        queued = self._method_errors.get(method)
        if queued:
            return _error(queued.pop(0))
        return handler(self, params, self.tokens[token])

    # --- Web API methods ---------------------------------------------------------------

    def _oauth_v2_access(self, params: dict[str, Any], request: web.Request) -> web.Response:
        """Exchange an install's code for a bot token, answering like Slack does."""
        client_id, secret = _client_credentials(request, params)
        if not client_id or self.oauth_clients.get(client_id) != secret:
            return _error(
                "invalid_client_id" if client_id not in self.oauth_clients else "bad_client_secret"
            )
        grant = self._grants.pop(str(params.get("code") or ""), None)
        if grant is None or grant.client_id not in (None, client_id):
            return _error("invalid_code")
        if grant.redirect_uri is not None and params.get("redirect_uri") != grant.redirect_uri:
            return _error("bad_redirect_uri")
        token = f"xoxb-{grant.team}-{next(self._codes)}"
        self.tokens[token] = grant.team
        return _ok(
            access_token=token,
            token_type="bot",
            scope=",".join(grant.scopes),
            bot_user_id=BOT_USER_ID,
            app_id="ACALBOT",
            team={"id": grant.team, "name": grant.team_name},
            enterprise=None,
            is_enterprise_install=False,
            authed_user={"id": grant.user},
        )

    def _auth_test(self, params: dict[str, Any], team: str) -> web.Response:
        return _ok(
            url="https://calbot-test.slack.com/",
            team="calbot test",
            user="calbot",
            team_id=team,
            user_id=BOT_USER_ID,
            bot_id=BOT_ID,
            is_enterprise_install=False,
        )

    def _users_info(self, params: dict[str, Any], team: str) -> web.Response:
        user = self.users.get(str(params.get("user", "")))
        if user is None or user.team != team:
            return _error("user_not_found")
        return _ok(user=user.to_json())

    def _users_list(self, params: dict[str, Any], team: str) -> web.Response:
        users = [u.to_json() for u in self.users.values() if u.team == team]
        page, cursor = self._page(users, params)
        return _ok(members=page, cache_ts=0, response_metadata={"next_cursor": cursor})

    def _conversations_members(self, params: dict[str, Any], team: str) -> web.Response:
        channel = self.channels.get(str(params.get("channel") or ""))
        if channel is None or channel.team != team or (channel.private and not channel.bot_member):
            return _error("channel_not_found")
        page, cursor = self._page(channel.members, params)
        return _ok(members=page, response_metadata={"next_cursor": cursor})

    def _usergroups_users_list(self, params: dict[str, Any], team: str) -> web.Response:
        group = str(params.get("usergroup") or "")
        members = self.usergroups.get(group)
        if members is None or self.usergroup_teams.get(group, self.team) != team:
            return _error("no_such_subteam")
        return _ok(users=members)

    def _page(self, items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str]:
        """Slack-style cursor pagination: an opaque cursor, "" on the last page."""
        start = int(str(params.get("cursor") or "offset:0").split(":")[1])
        size = min(int(params.get("limit") or 100), self.page_cap)
        end = start + size
        return items[start:end], (f"offset:{end}" if end < len(items) else "")

    def _conversations_open(self, params: dict[str, Any], team: str) -> web.Response:
        raw = params.get("users") or ""
        ids = raw if isinstance(raw, list) else [u for u in str(raw).split(",") if u]
        if len(ids) != 1:
            return _error("not_enough_users" if not ids else "too_many_users")
        user = self.users.get(ids[0])
        if user is None or user.team != team:
            return _error("user_not_found")
        if user.deleted:
            return _error("user_disabled")
        if user.is_bot:
            return _error("cannot_dm_bot")
        return _ok(channel={"id": self.dm_channel(user.id)})

    def _chat_post_message(self, params: dict[str, Any], team: str) -> web.Response:
        channel = str(params.get("channel") or "")
        if not self._can_post(channel, team):
            return _error("channel_not_found")
        text, blocks, problem = _content(params)
        if problem:
            return problem
        metadata, bad = _metadata(params.get("metadata"))
        if bad:
            return _error("invalid_metadata_format")
        ts = self._next_ts()
        thread_ts = params.get("thread_ts") or None
        self.messages[(channel, ts)] = PostedMessage(
            channel, ts, text, blocks, thread_ts, metadata=metadata, landed_at=time.monotonic()
        )
        return _ok(channel=channel, ts=ts, message=self._message_json(text, blocks, ts))

    def _conversations_history(self, params: dict[str, Any], team: str) -> web.Response:
        """Newest first, like Slack; metadata only with `include_all_metadata`."""
        channel = str(params.get("channel") or "")
        if not self._can_post(channel, team):
            return _error("channel_not_found")
        with_metadata = _truthy(params.get("include_all_metadata"))
        found = sorted(
            (m for m in self.messages.values() if m.channel == channel and not m.thread_ts),
            key=lambda m: float(m.ts),
            reverse=True,
        )
        limit = min(int(params.get("limit") or 100), MAX_HISTORY_PAGE)
        page, cursor = self._page(found, {**params, "limit": limit})
        messages = []
        for message in page:
            item = self._message_json(message.text, message.blocks, message.ts)
            if with_metadata and message.metadata:
                item["metadata"] = message.metadata
            messages.append(item)
        return _ok(
            messages=messages,
            has_more=bool(cursor),
            response_metadata={"next_cursor": cursor},
        )

    def _views_publish(self, params: dict[str, Any], team: str) -> web.Response:
        user = self.users.get(str(params.get("user_id") or ""))
        if user is None or user.team != team:
            return _error("user_not_found")
        view = params.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                return _error("invalid_arguments")
        if not isinstance(view, dict) or view.get("type") != "home":
            return _error("invalid_arguments", detail="view.type must be home")
        problem = _blocks_problem(view.get("blocks"), max_blocks=MAX_HOME_BLOCKS)
        if problem or not view.get("blocks"):
            return _error("invalid_blocks", response_metadata={"messages": [problem or "empty"]})
        if len(str(view.get("private_metadata") or "")) > 3000:
            return _error("invalid_arguments", detail="private_metadata over 3000 characters")
        if len(str(view.get("callback_id") or "")) > 255:
            return _error("invalid_arguments", detail="callback_id over 255 characters")
        view_id = f"V{user.id}"
        stored = {**view, "id": view_id, "team_id": team, "hash": f"h{next(self._ts)}"}
        self.views[user.id] = stored
        return _ok(view=stored)

    def _views_open(self, params: dict[str, Any], team: str) -> web.Response:
        """A modal for a trigger_id, which (like Slack's) can be exchanged only once.

        Expiry (3 s) isn't timed here: `fail_method("views.open", "expired_trigger_id")`.
        """
        trigger = str(params.get("trigger_id") or "")
        if not trigger:
            return _error("invalid_arguments", detail="trigger_id is required")
        if trigger in self.exchanged_triggers:
            return _error("exchanged_trigger_id")
        view, problem = _modal_of(params.get("view"))
        if problem is not None:
            return problem
        self.exchanged_triggers.add(trigger)
        view_id = f"VM{next(self._ts)}"
        stored = self._store_modal(view, view_id, team, trigger=trigger)
        return _ok(view=stored)

    def _views_update(self, params: dict[str, Any], team: str) -> web.Response:
        view_id = str(params.get("view_id") or "")
        external_id = str(params.get("external_id") or "")
        current = self.modals.get(view_id) or next(
            (
                m
                for m in self.modals.values()
                if external_id and m.get("external_id") == external_id
            ),
            None,
        )
        if current is None or current["team_id"] != team:
            return _error("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            return _error("hash_conflict")
        view, problem = _modal_of(params.get("view"))
        if problem is not None:
            return problem
        stored = self._store_modal(view, str(current["id"]), team, trigger=current["trigger_id"])
        return _ok(view=stored)

    def _store_modal(
        self, view: dict[str, Any], view_id: str, team: str, *, trigger: str
    ) -> dict[str, Any]:
        stored = {
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            **view,
            "id": view_id,
            "team_id": team,
            "app_id": "ACALBOT",
            "bot_id": BOT_ID,
            "hash": f"h{next(self._ts)}",
            "state": {"values": {}},
            "root_view_id": view_id,
            "previous_view_id": None,
            "trigger_id": trigger,  # not in Slack's answer; lets tests find the modal
        }
        self.modals[view_id] = stored
        return stored

    def modal_for(self, trigger_id: str) -> dict[str, Any] | None:
        """The modal a trigger_id opened (after any updates), if one did."""
        return next((m for m in self.modals.values() if m["trigger_id"] == trigger_id), None)

    def _chat_update(self, params: dict[str, Any], team: str) -> web.Response:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        if not self._can_post(channel, team):
            return _error("channel_not_found")
        message = self.messages.get((channel, ts))
        if message is None:
            return _error("message_not_found")
        text, blocks, problem = _content(params)
        if problem:
            return problem
        message.history.append({"text": message.text, "blocks": message.blocks})
        message.text = text
        if "blocks" in params:  # like Slack, an update without blocks keeps the old ones
            message.blocks = blocks
        return _ok(channel=channel, ts=ts, text=text, message=self._message_json(text, blocks, ts))

    def _chat_post_ephemeral(self, params: dict[str, Any], team: str) -> web.Response:
        channel = str(params.get("channel") or "")
        if not self._can_post(channel, team):
            return _error("channel_not_found")
        if str(params.get("user") or "") not in self.users:
            return _error("user_not_in_channel")
        _, _, problem = _content(params)
        if problem:
            return problem
        return _ok(message_ts=self._next_ts())

    # --- helpers -------------------------------------------------------------------------

    def _can_post(self, channel: str, team: str) -> bool:
        known = self.channels.get(channel)
        if known is not None:
            return known.bot_member and known.team == team
        owners = [u for u, dm in self._dm_of.items() if dm == channel]
        return any(self.users[u].team == team for u in owners if u in self.users)

    def forget_dm(self, user_id: str) -> None:
        """Close a user's DM: its old id answers channel_not_found, a new open gets a new id."""
        old = self._dm_of.pop(user_id, None)
        if old is not None:
            self._dm_of[user_id] = old + "X"

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1_700_000_000 + n}.{n:06d}"

    def _message_json(self, text: str, blocks: list[dict[str, Any]], ts: str) -> dict[str, Any]:
        return {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": text,
            "blocks": blocks,
            "ts": ts,
        }


_METHODS = {
    "auth.test": MockSlack._auth_test,
    "users.info": MockSlack._users_info,
    "users.list": MockSlack._users_list,
    "conversations.members": MockSlack._conversations_members,
    "usergroups.users.list": MockSlack._usergroups_users_list,
    "conversations.open": MockSlack._conversations_open,
    "chat.postMessage": MockSlack._chat_post_message,
    "chat.update": MockSlack._chat_update,
    "chat.postEphemeral": MockSlack._chat_post_ephemeral,
    "conversations.history": MockSlack._conversations_history,
    "views.publish": MockSlack._views_publish,
    "views.open": MockSlack._views_open,
    "views.update": MockSlack._views_update,
}


def _ok(**data: Any) -> web.Response:
    return web.json_response({"ok": True, **data})


def _error(error: str, **extra: Any) -> web.Response:
    # Slack reports method errors with HTTP 200 and ok=false.
    return web.json_response({"ok": False, "error": error, **extra})


def _body_of(response: web.Response) -> Any:
    try:
        return json.loads(response.text or "")
    except (TypeError, ValueError):
        return response.text


def _client_credentials(request: web.Request, params: dict[str, Any]) -> tuple[str, str]:
    """An app's client id and secret: HTTP Basic auth (slack_sdk) or form fields."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        try:
            decoded = base64.b64decode(auth[len("Basic ") :]).decode()
        except ValueError:
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return str(params.get("client_id") or ""), str(params.get("client_secret") or "")


def _token(request: web.Request, params: dict[str, Any]) -> str:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer ") :]
    return str(params.get("token") or "")


async def _params(request: web.Request) -> dict[str, Any]:
    """Query, form and JSON parameters merged, as Slack accepts all three."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        else:
            params.update(dict(await request.post()))
    for key in ("blocks", "attachments"):
        if isinstance(params.get(key), str):  # form-encoded: JSON inside a field
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                params[key] = "<<not json>>"
    return params


def _content(
    params: dict[str, Any],
) -> tuple[str, list[dict[str, Any]], web.Response | None]:
    text = str(params.get("text") or "")
    blocks = params.get("blocks") or []
    problem = _blocks_problem(params.get("blocks"))
    if problem:
        return text, [], _error("invalid_blocks", response_metadata={"messages": [problem]})
    if not text and not blocks:
        return text, [], _error("no_text")
    return text, list(blocks), None


def _metadata(raw: Any) -> tuple[dict[str, Any] | None, bool]:
    """Message metadata as Slack takes it (an object, or JSON in a form field); bad → True."""
    if raw is None or raw == "":
        return None, False
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None, True
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("event_type"), str)
        or not raw["event_type"]
        or not isinstance(raw.get("event_payload"), dict)
    ):
        return None, True
    return {"event_type": raw["event_type"], "event_payload": raw["event_payload"]}, False


def _modal_of(raw: Any) -> tuple[dict[str, Any], web.Response | None]:
    """A `view` argument as Slack checks a modal: slack_sdk's `View` validators (title,
    submit and close ≤ 24, private_metadata ≤ 3000, callback_id ≤ 255, 1–100 blocks),
    each block as for messages, and the rules only Slack's server applies."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}, _error("invalid_arguments", detail="view is not JSON")
    if not isinstance(raw, dict) or raw.get("type") != "modal":
        return {}, _error("invalid_arguments", detail="view.type must be modal")
    if not isinstance(raw.get("title"), dict) or raw["title"].get("type") != "plain_text":
        return {}, _error("invalid_arguments", detail="a modal needs a plain_text title")
    try:
        View(**raw).to_dict()
    except (SlackObjectFormationError, TypeError, ValueError, KeyError) as exc:
        return {}, _error("invalid_arguments", response_metadata={"messages": [str(exc)]})
    blocks = raw.get("blocks")
    problem = _blocks_problem(blocks, max_blocks=MAX_MODAL_BLOCKS)
    if problem is None:
        problem = _modal_rules(raw)
    if problem or not blocks:
        return {}, _error("invalid_arguments", response_metadata={"messages": [problem or "empty"]})
    return raw, None


def _modal_rules(view: dict[str, Any]) -> str | None:
    inputs = [b for b in view["blocks"] if b.get("type") == "input"]
    if inputs and not view.get("submit"):
        return "[ERROR] must define submit to use input block [json-pointer:/view/submit]"
    for i, block in enumerate(view["blocks"]):
        if block.get("type") != "input":
            continue
        where = f"[json-pointer:/view/blocks/{i}/element]"
        element = block.get("element") or {}
        kind = element.get("type")
        if not element.get("action_id"):
            return f"[ERROR] input elements need an action_id {where}"
        if kind == "number_input" and "initial_value" in element:
            try:
                number = float(element["initial_value"])
            except (TypeError, ValueError):
                return f"[ERROR] initial_value must be a number {where}"
            if not element.get("is_decimal_allowed") and not number.is_integer():
                return f"[ERROR] initial_value must be a whole number {where}"
            low, high = element.get("min_value"), element.get("max_value")
            if (low is not None and number < float(low)) or (
                high is not None and number > float(high)
            ):
                return f"[ERROR] initial_value outside min_value/max_value {where}"
        if kind == "datepicker" and "initial_date" in element:
            try:
                time.strptime(str(element["initial_date"]), "%Y-%m-%d")
            except ValueError:
                return f"[ERROR] initial_date must be YYYY-MM-DD {where}"
        if kind == "static_select" and "initial_option" in element:
            if element["initial_option"] not in (element.get("options") or []):
                return f"[ERROR] initial_option must be one of options {where}"
    return None


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _blocks_problem(blocks: Any, *, max_blocks: int = MAX_BLOCKS) -> str | None:
    """Why Slack would answer `invalid_blocks`, or None when the blocks are fine."""
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        return "[ERROR] blocks must be a JSON array"
    if len(blocks) > max_blocks:
        return f"[ERROR] no more than {max_blocks} items allowed [json-pointer:/blocks]"
    block_ids: set[str] = set()
    for i, raw in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}]"
        if not isinstance(raw, dict):
            return f"[ERROR] must be an object {where}"
        try:
            parsed = Block.parse(raw)
            if parsed is None:
                return f"[ERROR] unknown block type {raw.get('type')!r} {where}"
            parsed.to_dict()  # runs slack_sdk's validators (lengths, counts)
        except (SlackObjectFormationError, TypeError, ValueError, KeyError) as exc:
            return f"[ERROR] {exc} {where}"
        problem = _block_rules(raw, where)
        if problem:
            return problem
        block_id = raw.get("block_id")
        if block_id:
            if block_id in block_ids:
                return f"[ERROR] duplicate block_id {block_id!r} {where}"
            block_ids.add(block_id)
    return None


def _block_rules(raw: dict[str, Any], where: str) -> str | None:
    """Rules Slack enforces that slack_sdk's model validators don't."""
    kind = raw.get("type")
    if kind == "header" and (raw.get("text") or {}).get("type") != "plain_text":
        return f"[ERROR] header text must be plain_text {where}"
    if kind == "section":
        text = raw.get("text")
        if text is None and not raw.get("fields"):
            return f"[ERROR] section needs text or fields {where}"
        if text is not None and not str(text.get("text") or "").strip():
            return f"[ERROR] must be more than 0 characters [json-pointer:{where}/text/text]"
        for field_ in raw.get("fields") or []:
            if len(str(field_.get("text") or "")) > 2000:
                return f"[ERROR] field text must be at most 2000 characters {where}"
    if kind == "actions":
        action_ids: set[str] = set()
        for element in raw.get("elements") or []:
            if element.get("type") == "button":
                if (element.get("text") or {}).get("type") != "plain_text":
                    return f"[ERROR] button text must be plain_text {where}"
                if element.get("style") not in (None, "primary", "danger"):
                    return f"[ERROR] invalid button style {where}"
            action_id = element.get("action_id")
            if action_id:
                if action_id in action_ids:
                    return f"[ERROR] duplicate action_id {action_id!r} {where}"
                action_ids.add(action_id)
    if kind == "context" and not raw.get("elements"):
        return f"[ERROR] context needs elements {where}"
    return None


def validate_blocks(blocks: Any, *, max_blocks: int = MAX_BLOCKS) -> None:
    """Raise AssertionError with Slack-style detail if `blocks` would be rejected."""
    problem = _blocks_problem(blocks, max_blocks=max_blocks)
    if problem:
        raise AssertionError(problem)
