"""The scheduling endpoints: availability (API key), free/busy and event writes (user token).

Auth follows reference §9: ``/v1/availability`` takes ``Bearer {CLIENT_SECRET}`` only
(an access token there is refused, so a client that sends the wrong one finds out here);
the rest take the user's access token and act on that account's calendars only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from integrations.cronofy.sandbox import event_body, times
from integrations.cronofy.sandbox.api import authenticate, base_url
from integrations.cronofy.sandbox.errors import Collector, Unprocessable
from integrations.cronofy.sandbox.models import Authorization, SandboxCalendar, SandboxUser
from integrations.cronofy.sandbox.state import STATE_KEY

Handler = Callable[[web.Request], Awaitable[web.Response]]

# Free/busy defaults when from/to are left out (§6).
DEFAULT_BACK = timedelta(days=42)
DEFAULT_AHEAD = timedelta(days=201)


def _require_scope(auth: Authorization, *any_of: str) -> None:
    if not set(auth.scope.split()) & set(any_of):
        raise web.HTTPForbidden(
            text=f'{{"error": "needs one of the scopes {" ".join(any_of)}"}}',
            content_type="application/json",
        )


async def _json_body(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    try:
        return await request.json()
    except ValueError:
        return None


def _writable_calendar(request: web.Request, user: SandboxUser) -> SandboxCalendar:
    calendar = user.calendar(request.match_info["calendar_id"])
    if calendar is None or calendar.deleted:
        # Another account's calendar looks exactly like an unknown one.
        raise web.HTTPNotFound(text='{"error": "not_found"}', content_type="application/json")
    if calendar.readonly:
        raise Unprocessable(
            {"calendar_id": [{"key": "errors.read_only", "description": "calendar is read-only"}]}
        )
    return calendar


async def availability(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not state.check_api_key(key.strip()):
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="cronofy"'})
    return web.json_response(state.availability(await _json_body(request)))


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


async def free_busy(request: web.Request) -> web.Response:
    user, auth = authenticate(request)
    _require_scope(auth, "read_free_busy", "read_events")
    state = request.app[STATE_KEY]
    c = Collector()
    tz = times.zone(request.query.get("tzid"))
    if tz is None:
        c.add("tzid", "required", "an IANA time zone id is required")
    bounds: dict[str, datetime] = {}
    for name in ("from", "to"):
        raw = request.query.get(name)
        if raw is None or tz is None:
            continue
        parsed = times.day(raw)
        if parsed is None:
            c.add(name, "invalid", "must be a date (YYYY-MM-DD)")
        else:
            bounds[name] = times.local_midnight(parsed, tz)
    c.raise_if_any()
    now = state.clock()
    # The "to" date is excluded: its local midnight ends the window.
    start = bounds.get("from", now - DEFAULT_BACK)
    end = bounds.get("to", now + DEFAULT_AHEAD)
    if end <= start:
        raise Unprocessable(
            {"to": [{"key": "errors.invalid", "description": "must be after from"}]}
        )
    page = state.free_busy(
        user,
        start,
        end,
        include_managed=_flag(request.query.get("include_managed")),
        calendar_ids=request.query.getall("calendar_ids[]", []) or None,
        base_url=base_url(request),
    )
    return web.json_response(page)


async def free_busy_page(request: web.Request) -> web.Response:
    user, _ = authenticate(request)
    page = request.app[STATE_KEY].free_busy_page(
        user.sub, request.match_info["token"], base_url(request)
    )
    if page is None:
        raise web.HTTPNotFound(text='{"error": "not_found"}', content_type="application/json")
    return web.json_response(page)


async def upsert_event(request: web.Request) -> web.Response:
    user, auth = authenticate(request)
    _require_scope(auth, "create_event")
    calendar = _writable_calendar(request, user)
    zone = times.zone(user.zoneinfo) or times.zone("Etc/UTC")
    assert zone is not None
    data = event_body.parse_upsert(await _json_body(request), zone)
    request.app[STATE_KEY].upsert_event(user, calendar.calendar_id, data)
    return web.Response(status=202)


async def delete_event(request: web.Request) -> web.Response:
    user, auth = authenticate(request)
    _require_scope(auth, "delete_event")
    calendar = _writable_calendar(request, user)
    event_id = event_body.parse_delete(await _json_body(request))
    # An unknown event_id is accepted too: deletes are retried after lost answers, and
    # the second one must not look like a failure.
    request.app[STATE_KEY].delete_event(user, calendar.calendar_id, event_id)
    return web.Response(status=202)


def _answering_422(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except Unprocessable as exc:
            return exc.response()

    return wrapped


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/v1/availability", _answering_422(availability))
    r.add_get("/v1/free_busy", _answering_422(free_busy))
    r.add_get("/v1/free_busy/pages/{token}", free_busy_page)
    r.add_post("/v1/calendars/{calendar_id}/events", _answering_422(upsert_event))
    r.add_delete("/v1/calendars/{calendar_id}/events", _answering_422(delete_event))
