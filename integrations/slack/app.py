"""Builds the Slack adapter: the bolt app, its HTTP route, the ChatPort, Socket Mode."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Bot
from bot.ports import Clock, Store
from integrations.slack.auth import BoltAuthorize, BotTokens, SingleWorkspaceTokens
from integrations.slack.background import Background
from integrations.slack.chat import SlackChat
from integrations.slack.listeners import SlackDeps, register_listeners

log = logging.getLogger(__name__)

SLACK_API_URL = "https://slack.com/api/"
EVENTS_PATH = "/slack/events"
SLACK_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "application/json"})
WEB_API_TIMEOUT = 10  # seconds; the outbox retries a timed-out call later
SOCKET_CONNECT_WAIT = 10.0  # seconds the start hook waits for the first WebSocket
MAX_TIMESTAMP_DIGITS = 12


# Top-level fields bolt (and our listeners) call `.get` on when present.
_OBJECT_FIELDS = ("user", "team", "channel", "container", "view", "event", "message")


def plain_timestamp(value: str) -> bool:
    """Unix seconds as Slack sends them: ASCII digits, not absurdly long (int() also
    takes other scripts' digits, signs, spaces and underscores)."""
    return 0 < len(value) <= MAX_TIMESTAMP_DIGITS and value.isascii() and value.isdigit()


def well_formed(body: object) -> bool:
    """The shapes bolt assumes without checking: its matchers index `actions[0]
    ["action_id"]` and `view["callback_id"]`, so a payload that differs (only ever a
    crafted one, but possibly correctly signed) would raise inside bolt as a 500."""
    if not isinstance(body, dict):
        return False
    for key in _OBJECT_FIELDS:
        if key in body and body[key] is not None and not isinstance(body[key], dict):
            return False
    if "view" in body and not isinstance(body["view"], dict):
        return False
    if body.get("type") in {"view_submission", "view_closed"}:
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("callback_id", ""), str):
            return False
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return False
        for action in actions:
            if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
                return False
            if not isinstance(action.get("block_id", ""), str):
                return False
    return True


def client_factory(
    base_url: str | None, *, retry_handlers: list[AsyncRetryHandler] | None = None
) -> Callable[[str | None], AsyncWebClient]:
    """Web API clients for a token, all pointed at `base_url` (tests use a mock server)."""

    def make(token: str | None) -> AsyncWebClient:
        return AsyncWebClient(
            token=token,
            base_url=base_url or SLACK_API_URL,
            timeout=WEB_API_TIMEOUT,
            # An empty list, not None: None would install slack_sdk's defaults.
            retry_handlers=list(retry_handlers or []),
        )

    return make


@dataclass
class SlackAdapter:
    app: AsyncApp
    chat: SlackChat
    tokens: BotTokens
    background: Background
    app_token: str | None = None
    _socket: Any = field(default=None, repr=False)

    async def handle_events(self, request: web.Request) -> web.Response:
        """`POST /slack/events`: commands, interactivity and events share this URL."""
        # Bolt parses the body before it checks the signature, and a body it can't parse
        # (bad JSON, a `payload` that is not an object) raises out of it as a 500. Slack
        # only ever sends these two types, so anything else is refused before parsing.
        if request.content_type not in SLACK_CONTENT_TYPES:
            return web.json_response({"error": "unsupported content type"}, status=415)
        try:
            bolt_request = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError, KeyError):
            return web.json_response({"error": "malformed request body"}, status=400)
        if not well_formed(bolt_request.body):
            return web.json_response({"error": "malformed request body"}, status=400)
        # slack_sdk's verifier calls int() on the timestamp: anything but a plain number
        # would raise inside bolt and come back as a 500 with a traceback in the log.
        if not plain_timestamp(request.headers.get("X-Slack-Request-Timestamp", "")):
            return web.json_response({"error": "invalid request"}, status=401)
        with self.background.inbound():
            response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    async def start_socket_mode(self, wait: float = SOCKET_CONNECT_WAIT) -> None:
        """Connect to Slack over a WebSocket (no public URL needed).

        slack_sdk keeps retrying a failed connect every 10 s, forever; so wait a little
        for the first connection, then let it carry on in the background rather than
        hold up the rest of `serve` (the connect links and OAuth callback are HTTP).
        """
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        if self.app_token is None or self._socket is not None:
            return
        self._socket = AsyncSocketModeHandler(self.app, app_token=self.app_token)
        connecting = self.background.spawn(self._socket.connect_async(), name="slack socket mode")
        done, _ = await asyncio.wait({connecting}, timeout=wait)
        if done:
            log.info("slack socket mode connected")
        else:
            log.warning("slack socket mode: still connecting after %.0fs, continuing", wait)

    async def close(self) -> None:
        """Stop taking new work (Socket Mode), then let work in progress finish."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        await self.background.close()


def _quiet_bolt_logger() -> logging.Logger:
    """bolt's own logger at WARNING and above (its middleware copies this level)."""
    logger = logging.getLogger("slack_bolt.calbot")
    logger.setLevel(logging.WARNING)
    return logger


def create_adapter(
    *,
    bot: Bot,
    store: Store,
    clock: Clock,
    signing_secret: str,
    bot_token: str | None = None,
    tokens: BotTokens | None = None,
    api_url: str | None = None,
    app_token: str | None = None,
) -> SlackAdapter:
    """Everything Slack needs, wired but not started (no I/O here).

    `tokens` is the multi-workspace installation store lookup; without it, `bot_token`
    is the one workspace's token.
    """
    # Listeners' clients (users.info, respond, say) may retry a dropped connection once;
    # the outbox's client must not retry at all: it owns retries and Retry-After.
    listener_clients = client_factory(api_url, retry_handlers=[AsyncConnectionErrorRetryHandler()])
    outbox_clients = client_factory(api_url)
    if tokens is None:
        if not bot_token:
            raise ValueError("a bot token or an installation store is needed")
        tokens = SingleWorkspaceTokens(bot_token, outbox_clients)
    background = Background()
    app = AsyncApp(
        # bolt logs every refused request's signature and whole body at INFO: a forged
        # request could fill the log, and a stale real one would write its response_url.
        logger=_quiet_bolt_logger(),
        client=listener_clients(None),  # the token comes from `authorize`, per request
        signing_secret=signing_secret,
        # bolt's type hint omits AsyncAuthorize instances, which its code accepts.
        authorize=BoltAuthorize(tokens),  # type: ignore[arg-type]
        process_before_response=False,  # ack first, work after: the 3-second rule
        request_verification_enabled=True,
    )
    deps = SlackDeps(bot=bot, store=store, clock=clock, background=background, tokens=tokens)
    register_listeners(app, deps)
    return SlackAdapter(
        app=app,
        chat=SlackChat(tokens, outbox_clients),
        tokens=tokens,
        background=background,
        app_token=app_token,
    )
