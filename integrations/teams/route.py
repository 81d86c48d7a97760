"""``POST /api/messages``: our own route handler in front of the Bot Framework adapter.

Not ``CloudAdapter.process``: in 4.17 it answers 500 to every invoke whose handler
returns a body (Action.Execute) and 500 to malformed tokens (reference/teams.md §2.4,
§8). This is the only code that touches the adapter's inbound API, so a successor SDK
replaces this file and ``auth.py``, not the tests.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import jwt
import requests
from aiohttp import web
from botbuilder.schema import Activity, ActivityTypes

from bot.ports import Clock, Store
from integrations.teams.auth import TunedConnectorFactory

log = logging.getLogger(__name__)

DEDUP_PLATFORM = "teams"


class MessagesRoute:
    def __init__(
        self,
        *,
        adapter: Any,
        authentication: Any,
        handler: Any,
        store: Store,
        clock: Clock,
        local_mode: bool,
    ) -> None:
        self._adapter = adapter
        self._authentication = authentication
        self._handler = handler
        self._store = store
        self._clock = clock
        self._local = local_mode

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return _problem(415, "Content-Type must be application/json")
        activity = await _read_activity(request)
        if isinstance(activity, web.Response):
            return activity

        # Authenticate before anything else, dedupe included: an unauthenticated caller
        # must not be able to burn activity ids. Local mode ignores any header, so a stray
        # token can't make the SDK fetch Microsoft's signing keys.
        header = "" if self._local else request.headers.get("Authorization", "")
        try:
            auth = await self._authentication.authenticate_request(activity, header)
        except (PermissionError, jwt.PyJWTError) as exc:
            log.info("teams request refused: %s", type(exc).__name__)
            return _problem(401, "unauthorized")
        except requests.RequestException as exc:
            # The SDK fetches the OpenID metadata/signing keys with blocking `requests`.
            log.warning("teams token check could not reach Microsoft: %s", type(exc).__name__)
            return _problem(503, "could not verify the token right now")
        except Exception as exc:  # endorsement/algorithm checks raise bare Exception
            log.info("teams request refused: %s: %s", type(exc).__name__, exc)
            return _problem(401, "unauthorized")
        auth.connector_factory = TunedConnectorFactory(auth.connector_factory)

        if not await self._first_time(activity):
            log.info("teams activity %s already processed", activity.id)
            return _duplicate(activity)

        try:
            response = await self._adapter.process_activity(auth, activity, self._handler.on_turn)
        except Exception:
            log.exception("teams %s activity failed", activity.type)
            return _problem(500, "the bot failed to process this activity")
        if response is None:
            return web.Response(status=201)
        status = int(response.status or 200)
        if response.body is None:
            return web.Response(status=status)
        # The body is already plain JSON (our handler builds dicts): no second
        # serialisation pass, which is what breaks CloudAdapter.process in 4.17.
        return web.json_response(response.body, status=status)

    async def _first_time(self, activity: Activity) -> bool:
        if not activity.id:
            return True
        # Teams message ids are only unique within a conversation.
        conversation = activity.conversation.id if activity.conversation else ""
        digest = hashlib.sha256(conversation.encode()).hexdigest()[:32]
        return await self._store.first_time(
            DEDUP_PLATFORM, f"{activity.id}@{digest}", self._clock.now()
        )


async def _read_activity(request: web.Request) -> Activity | web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _problem(400, "body is not valid JSON")
    if not isinstance(body, dict):
        return _problem(400, "body must be an activity object")
    try:
        activity = Activity().deserialize(body)
    except Exception:
        return _problem(400, "body is not a Bot Framework activity")
    if not activity.type:
        return _problem(400, "activity type is required")
    missing = [
        name
        for name, present in (
            ("serviceUrl", activity.service_url),
            ("conversation.id", activity.conversation and activity.conversation.id),
            ("from.id", activity.from_property and activity.from_property.id),
        )
        if not present
    ]
    if missing:
        return _problem(400, f"activity is missing {', '.join(missing)}")
    return activity


def _duplicate(activity: Activity) -> web.Response:
    """The same success Teams saw the first time, without doing the work again."""
    if activity.type == ActivityTypes.invoke:
        body = {
            "statusCode": 200,
            "type": "application/vnd.microsoft.activity.message",
            "value": "Already done.",
        }
        return web.json_response(body, status=200)
    return web.Response(status=201)


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
